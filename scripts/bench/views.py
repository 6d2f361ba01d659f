"""Baselines served by the bench server only: the least a page of the same size can cost on this stack."""

from django.http import HttpRequest, JsonResponse

from eoc.models import FeedEntry


def baseline_feed(request: HttpRequest, pk: int) -> JsonResponse:
    """One indexed query of 50 entries of an incident, newest first, as JSON: no sign-in, no policy."""
    rows = list(
        FeedEntry.objects.filter(incident_id=pk)
        .order_by("-posted_at", "-id")
        .values("id", "kind", "priority", "title", "body", "posted_at")[:50]
    )
    return JsonResponse({"results": rows})
