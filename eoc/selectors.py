"""Reads that shape the EOC's pages: feeds, boards and the dashboard, each in a fixed number of queries."""

from __future__ import annotations

from django.db.models import Count, Exists, IntegerField, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce

from agencies.models import User

from .models import FeedAcknowledgement, FeedEntry, Incident


def feed_entries(
    *,
    person: User,
    incident_id: int | None = None,
    eoc_id: int | None = None,
    kind: str = "",
    priority: str = "",
    agency_id: int | None = None,
) -> QuerySet[FeedEntry]:
    """Entries of one incident's feed, or of an EOC-wide feed (the EOC's own entries and those of its
    open incidents), that the person may see, newest first, annotated with `acknowledged` (by the
    person) and `acknowledgement_count`."""
    entries = FeedEntry.objects.visible_to(person)
    if incident_id is not None:
        entries = entries.filter(incident_id=incident_id)
    elif eoc_id is not None:
        entries = entries.filter(eoc_id=eoc_id).filter(Q(incident__isnull=True) | ~Q(incident__status="closed"))
    else:
        return entries.none()
    if kind:
        entries = entries.filter(kind=kind)
    if priority:
        entries = entries.filter(priority=priority)
    if agency_id:
        entries = entries.filter(author_agency_id=agency_id)
    return (
        entries.select_related("author", "author_agency", "incident", "corrects")
        .annotate(
            acknowledged=Exists(FeedAcknowledgement.objects.filter(entry=OuterRef("pk"), person=person)),
            acknowledgement_count=Coalesce(
                Subquery(
                    FeedAcknowledgement.objects.filter(entry=OuterRef("pk"))
                    .order_by()
                    .values("entry")
                    .annotate(count=Count("pk"))
                    .values("count"),
                    output_field=IntegerField(),
                ),
                Value(0),
            ),
        )
        .order_by("-posted_at", "-pk")
    )


def incident_list(*, person: User, status: str = "", include_closed: bool = False) -> QuerySet[Incident]:
    incidents = Incident.objects.visible_to(person).select_related("lead_eoc")
    if status:
        incidents = incidents.filter(status=status)
    elif not include_closed:
        incidents = incidents.open()
    return incidents.order_by("-started_at", "-pk")
