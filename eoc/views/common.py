"""What the EOC's pages share: fetching through the visibility policy, permissions, pagination."""

from __future__ import annotations

from django.core.paginator import Page
from django.db.models import QuerySet
from django.http import Http404, HttpRequest
from django.shortcuts import redirect
from django.utils.http import url_has_allowed_host_and_scheme

from agencies.models import Agency, Role, User
from agencies.pagination import CappedPaginator

from ..models import FeedEntry, Incident, ResourceRequest, SituationReport, Task

PAGE_SIZE = 25


def incident_or_404(person: User, pk: int) -> Incident:
    """The incident if the person may see it; a 404 otherwise, so that an outsider cannot learn that
    an exercise exists."""
    incident = Incident.objects.visible_to(person).select_related("lead_eoc").filter(pk=pk).first()
    if incident is None:
        raise Http404("No such incident.")
    return incident


def eoc_or_404(pk: int) -> Agency:
    eoc = Agency.objects.filter(pk=pk, kind=Agency.Kind.EOC, is_active=True).select_related("jurisdiction").first()
    if eoc is None:
        raise Http404("No such EOC.")
    return eoc


def entry_or_404(person: User, pk: int) -> FeedEntry:
    entry = FeedEntry.objects.visible_to(person).select_related("incident__lead_eoc", "eoc").filter(pk=pk).first()
    if entry is None:
        raise Http404("No such entry.")
    return entry


def _in_visible_incident(model, person: User, pk: int):
    row = (
        model.objects.filter(incident__in=Incident.objects.visible_to(person).values("pk"))
        .select_related("incident__lead_eoc")
        .filter(pk=pk)
        .first()
    )
    if row is None:
        raise Http404("Not found.")
    return row


def report_or_404(person: User, pk: int) -> SituationReport:
    return _in_visible_incident(SituationReport, person, pk)


def request_or_404(person: User, pk: int) -> ResourceRequest:
    return _in_visible_incident(ResourceRequest, person, pk)


def task_or_404(person: User, pk: int) -> Task:
    return _in_visible_incident(Task, person, pk)


def is_coordinator_of(person: User, eoc_id: int) -> bool:
    """EOC coordinators of this EOC run its incidents and its activation (the services' rule)."""
    return person.agency_id == eoc_id and person.has_role(Role.EOC_COORDINATOR)


def paginate(request: HttpRequest, rows: QuerySet, per_page: int = PAGE_SIZE) -> Page:
    """A page of `rows` that costs the same however long the list is (agencies.pagination)."""
    return CappedPaginator(rows, per_page).get_page(request.GET.get("page"))


def positive_int(value: str | None) -> int | None:
    try:
        number = int(value or "")
    except ValueError:
        return None
    return number if number > 0 else None


def redirect_back(request: HttpRequest, fallback: str):
    """Back to the page the form was on (a local address only), else to `fallback`."""
    target = request.POST.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return redirect(target)
    return redirect(fallback)
