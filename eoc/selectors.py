"""Reads that shape the EOC's pages: feeds, boards and the dashboard, each in a fixed number of queries."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.contrib.postgres.expressions import ArraySubquery
from django.db.models import (
    Case,
    Count,
    Exists,
    Func,
    IntegerField,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import JSONObject
from django.urls import reverse
from django.utils import timezone

from agencies.models import Agency, Jurisdiction, User
from agencies.pagination import BIGINT_MAX
from agencies.prepared import Placeholder, PreparedReads
from agencies.visibility import person_may_see_anything, policy_key

from .models import (
    ActivationChange,
    EocStatus,
    FeedAcknowledgement,
    FeedEntry,
    FeedEntryAttachment,
    Incident,
    OperationalPeriod,
    ResourceRequest,
    SituationReport,
    Task,
)

# What an entry is shown with: on a page (templates/eoc/includes/feed_entry.html), and in the API
# (eoc.api.FeedEntrySerializer), which names the incident and the corrected entry by their ids alone.
PAGE_RELATED = ("author", "author_agency", "incident", "corrects")
API_RELATED = ("author", "author_agency")


def feed_entries(
    *,
    person: User,
    incident_id: int | None = None,
    eoc_id: int | None = None,
    kind: str = "",
    priority: str = "",
    agency_id: int | None = None,
    related: tuple[str, ...] = PAGE_RELATED,
) -> QuerySet[FeedEntry]:
    """Entries of one incident's feed, or of an EOC-wide feed (the EOC's own entries and those of its
    open incidents), that the person may see, newest first, annotated with `acknowledged` (by the
    person), `acknowledgement_count` and `attachment_list` (each attachment's id, filename,
    content_type and size; shown only where `full_access`), with the `related` rows they are shown
    with: one query for a whole page."""
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
    acknowledgements = FeedAcknowledgement.objects.filter(entry=OuterRef("pk")).order_by()
    return (
        entries.select_related(*related)
        .annotate(
            acknowledged=Exists(acknowledgements.filter(person=person)),
            acknowledgement_count=Subquery(
                acknowledgements.annotate(count=Func("pk", function="COUNT")).values("count"),
                output_field=IntegerField(),
            ),
            attachment_list=_attachment_list(),
        )
        .order_by("-posted_at", "-pk")
    )


def _attachment_list() -> ArraySubquery:
    """Each attachment of the entry as {id, filename, content_type, size}, in the entry's own row."""
    return ArraySubquery(
        FeedEntryAttachment.objects.filter(entry=OuterRef("pk"))
        .order_by("pk")
        .values(json=JSONObject(id="pk", filename="filename", content_type="content_type", size="size"))
    )


def feed_entries_to_render(ids: list[int]) -> dict[int, FeedEntry]:
    """Entries by id with what a feed shows of them (author, agency, incident, corrected entry,
    attachments), read WITHOUT the visibility policy: only for the live feed, whose answer from
    `feed_entries` has already decided who sees each entry and how. Whoever renders one sets
    `full_access`, `acknowledged` and `acknowledgement_count` from that answer."""
    entries = (
        FeedEntry.objects.filter(pk__in=ids).select_related(*PAGE_RELATED).annotate(attachment_list=_attachment_list())
    )
    return {entry.pk: entry for entry in entries}


def incident_list(*, person: User, status: str = "", include_closed: bool = False) -> QuerySet[Incident]:
    incidents = Incident.objects.visible_to(person).select_related("lead_eoc")
    if status:
        incidents = incidents.filter(status=status)
    elif not include_closed:
        incidents = incidents.open()
    return incidents.order_by("-started_at", "-pk")


# --- Pages: feeds in keyset pages, boards, lists and the dashboard ---------------------------------

FEED_PAGE_SIZE = 30


@dataclass
class FeedPage:
    """One page of a feed, newest first; `older` is the cursor of the next (older) page, if any. A page
    of entries after a cursor is oldest first, and `more` says whether newer ones follow it."""

    entries: list[FeedEntry]
    older: int | None
    more: bool = False

    @property
    def latest_id(self) -> int:
        return max((entry.pk for entry in self.entries), default=0)


def _older_than(entries: QuerySet[FeedEntry], before: int) -> QuerySet[FeedEntry]:
    cursor = FeedEntry.objects.filter(pk=before).values("posted_at")[:1]
    return entries.filter(Q(posted_at__lt=Subquery(cursor)) | Q(posted_at=Subquery(cursor), pk__lt=before))


def _page_before(rows: list[FeedEntry], size: int) -> FeedPage:
    older = rows[size - 1].pk if len(rows) > size else None
    return FeedPage(entries=rows[:size], older=older)


def feed_page(entries: QuerySet[FeedEntry], *, before: int | None = None, size: int = FEED_PAGE_SIZE) -> FeedPage:
    """A keyset page of a feed (from `feed_entries`): the entries posted before the entry `before`,
    in the feed's own order (time posted, then id). One query, however deep the page."""
    if before is not None:
        entries = _older_than(entries, before)
    return _page_before(list(entries[: size + 1]), size)


def feed_page_after(entries: QuerySet[FeedEntry], *, after: int, size: int = FEED_PAGE_SIZE) -> FeedPage:
    """The entries with an id above `after` (what a reader has not seen yet), oldest first, a page of them."""
    rows = list(entries.filter(pk__gt=after).order_by("pk")[: size + 1])
    return FeedPage(entries=rows[:size], older=None, more=len(rows) > size)


# A feed's readers ask for its pages again and again, in a handful of shapes: each shape is built and
# compiled once per person and process (agencies.prepared), and the cursor given at each read.
# About 200 KB per read kept (the compiled query with its expressions): 256 of them, 50 MB at most.
_PREPARED_FEEDS = PreparedReads(size=256)
_BEFORE, _AFTER = Placeholder(), Placeholder()


_INCIDENT = Placeholder()


def is_row_id(value: int, *, or_zero: bool = False) -> bool:
    """Whether the number could be a row's id (a cursor may also be 0): a read given any other would ask
    PostgreSQL to compare a bigint with a number out of its range."""
    return (0 if or_zero else 1) <= value <= BIGINT_MAX


def visible_incident(*, person: User, pk: int) -> Incident:
    """The incident, with its lead EOC, if the person may see it (Incident.DoesNotExist otherwise): what a
    feed page reads first, prepared like its entries. Whom an incident shows to depends on the person's
    agency alone (its part in an exercise)."""
    if not person_may_see_anything(person) or not is_row_id(pk):
        raise Incident.DoesNotExist
    rows = _PREPARED_FEEDS.rows(
        ("incident", person.agency_id),
        lambda: Incident.objects.visible_to(person).select_related("lead_eoc").filter(pk=_INCIDENT)[:1],
        {_INCIDENT: pk},
    )
    if not rows:
        raise Incident.DoesNotExist
    return rows[0]


def read_feed_page(
    *,
    person: User,
    incident_id: int | None = None,
    eoc_id: int | None = None,
    kind: str = "",
    priority: str = "",
    agency_id: int | None = None,
    related: tuple[str, ...] = PAGE_RELATED,
    before: int | None = None,
    after: int | None = None,
    size: int = FEED_PAGE_SIZE,
) -> FeedPage:
    """`feed_page(feed_entries(...), before=...)`, or `feed_page_after(..., after=...)` when `after` is
    given: the same rows, read through a prepared query. `feed_entries` reads no clock, and what it is
    built from is the key: the person's part of the policy (`policy_key`, their agency's part in an
    exercise included, by its id), the feed, the filters and the page's shape."""
    if not person_may_see_anything(person):
        return FeedPage(entries=[], older=None)
    if (kind and kind not in FeedEntry.Kind.values) or (priority and priority not in FeedEntry.Priority.values):
        return FeedPage(entries=[], older=None)  # no entry is of an unknown kind or priority
    if any(cursor is not None and not is_row_id(cursor, or_zero=True) for cursor in (before, after)):
        return FeedPage(entries=[], older=None)  # no entry has such an id
    scope = {"incident_id": incident_id, "eoc_id": eoc_id, "kind": kind, "priority": priority,
             "agency_id": agency_id, "related": tuple(related)}  # fmt: skip
    shape = "after" if after is not None else "before" if before is not None else "first"
    key = (policy_key(person), tuple(scope.items()), shape)

    def build() -> QuerySet[FeedEntry]:
        entries = feed_entries(person=person, **scope)
        if shape == "after":
            return entries.filter(pk__gt=_AFTER).order_by("pk")
        if shape == "before":
            return _older_than(entries, _BEFORE)
        return entries

    values = {"after": {_AFTER: after}, "before": {_BEFORE: before}, "first": {}}[shape]
    rows = _PREPARED_FEEDS.rows(key, build, values, window=(0, size + 1))
    if shape == "after":
        return FeedPage(entries=rows[:size], older=None, more=len(rows) > size)
    return _page_before(rows, size)


def feed_entries_after(entries: QuerySet[FeedEntry], *, after: int, limit: int = 100) -> list[FeedEntry]:
    """Entries with an id above `after` (what a polling page has not seen yet), newest first."""
    return list(entries.filter(pk__gt=after)[:limit])


# The agency filter of a feed offers the agencies of its latest entries: those of every entry it ever had
# meant reading them all (17,000 in the busiest EOC-wide feed of make bench, 1.4 s from disk).
AUTHOR_AGENCIES_FROM = 1000


def feed_author_agencies(*, person: User, incident_id: int | None = None, eoc_id: int | None = None):
    """The agencies that posted the latest AUTHOR_AGENCIES_FROM entries the person may see in a feed: the
    choices of its agency filter."""
    latest = feed_entries(person=person, incident_id=incident_id, eoc_id=eoc_id).values("author_agency_id")
    return Agency.objects.filter(pk__in=latest[:AUTHOR_AGENCIES_FROM]).order_by("name")


INCIDENT_PAGE_SIZE = 25


def incident_rows(*, person: User, status: str = "", incident_type: str = "", exercise: str = "") -> QuerySet[Incident]:
    """The incident list: open incidents unless a status (or "all") is chosen, by type and exercise."""
    incidents = incident_list(person=person, status="" if status == "all" else status, include_closed=status == "all")
    if incident_type:
        incidents = incidents.filter(incident_type=incident_type)
    if exercise == "yes":
        incidents = incidents.filter(is_exercise=True)
    elif exercise == "no":
        incidents = incidents.filter(is_exercise=False)
    return incidents


def incident_detail(*, person: User, pk: int) -> Incident:
    """The incident with what its page shows alongside the feed; DoesNotExist if the person may not see it."""
    return (
        Incident.objects.visible_to(person)
        .select_related("lead_eoc", "created_by")
        .prefetch_related(
            "affected_jurisdictions",
            Prefetch("supporting_agencies", queryset=Agency.objects.order_by("name")),
            Prefetch("operational_periods", queryset=OperationalPeriod.objects.order_by("-number")),
        )
        .get(pk=pk)
    )


@dataclass
class IncidentSummary:
    """What the incident page shows beside the feed: the latest reports, requests by state, open tasks."""

    reports: list[SituationReport]
    request_counts: list[tuple[str, int]]
    overdue_requests: int
    tasks: list[Task]
    overdue_tasks: int


OPEN_REQUEST_STATES = [
    ResourceRequest.State.REQUESTED,
    ResourceRequest.State.APPROVED,
    ResourceRequest.State.SOURCING,
    ResourceRequest.State.ASSIGNED,
    ResourceRequest.State.EN_ROUTE,
]
OPEN_TASK_STATUSES = [Task.Status.OPEN, Task.Status.IN_PROGRESS]


def _request_counts(requests: QuerySet[ResourceRequest]) -> tuple[list[tuple[str, int]], int]:
    """(label, count) for each state that has requests, in the order of ICS-213RR, and how many are overdue."""
    now = timezone.now()
    rows = (
        requests.order_by()
        .values("state")
        .annotate(count=Count("pk"), overdue=Count("pk", filter=Q(state__in=OPEN_REQUEST_STATES, needed_by__lt=now)))
    )
    by_state = {row["state"]: row for row in rows}
    counts = [(state.label, by_state[state]["count"]) for state in ResourceRequest.State if state in by_state]
    return counts, sum(row["overdue"] for row in rows)


def incident_summary(*, incident: Incident, task_limit: int = 8) -> IncidentSummary:
    counts, overdue_requests = _request_counts(ResourceRequest.objects.filter(incident=incident))
    open_tasks = Task.objects.filter(incident=incident, status__in=OPEN_TASK_STATUSES)
    tasks = list(open_tasks.select_related("assigned_agency").order_by("due_at", "pk")[:task_limit])
    return IncidentSummary(
        reports=list(
            SituationReport.objects.filter(incident=incident)
            .select_related("operational_period")
            .order_by("-number")[:5]
        ),
        request_counts=counts,
        overdue_requests=overdue_requests,
        tasks=tasks,
        overdue_tasks=open_tasks.filter(due_at__lt=timezone.now()).count(),
    )


BOARD_PAGE_SIZE = 60


def resource_board(*, incident: Incident) -> QuerySet[ResourceRequest]:
    """The incident's resource requests in the order of the board: by state along ICS-213RR, then
    the most urgent first (needed soonest)."""
    rank = Case(
        *[When(state=state, then=Value(position)) for position, state in enumerate(ResourceRequest.State.values)],
        output_field=IntegerField(),
    )
    return (
        ResourceRequest.objects.filter(incident=incident)
        .select_related("requesting_agency", "assigned_agency")
        .annotate(state_rank=rank)
        .order_by("state_rank", "needed_by", "pk")
    )


def task_rows(*, incident: Incident, status: str = "") -> QuerySet[Task]:
    """The incident's tasks: open ones first (soonest due first), then done and cancelled."""
    tasks = Task.objects.filter(incident=incident).select_related("assigned_agency")
    if status:
        tasks = tasks.filter(status=status)
    done_last = Case(When(status__in=OPEN_TASK_STATUSES, then=Value(0)), default=Value(1), output_field=IntegerField())
    return tasks.annotate(done_last=done_last).order_by("done_last", "due_at", "pk")


def situation_reports(*, incident: Incident) -> QuerySet[SituationReport]:
    return (
        SituationReport.objects.filter(incident=incident)
        .select_related("operational_period", "author")
        .order_by("-number")
    )


def activation_history(*, person: User, eoc: Agency) -> QuerySet[ActivationChange]:
    """The EOC's changes of activation level, newest first; a change tied to an exercise shows only
    to the exercise's participants."""
    seen = Q(incident__isnull=True) | Q(incident__in=Incident.objects.visible_to(person).values("pk"))
    return (
        ActivationChange.objects.filter(eoc=eoc)
        .filter(seen)
        .select_related("changed_by", "incident")
        .order_by("-changed_at", "-pk")
    )


def activation_status(*, person: User, eoc: Agency) -> EocStatus:
    """The EOC's current level (steady state if it never changed), with `shown_incident`: the incident
    it is activated for, if the person may see it."""
    status = EocStatus.objects.filter(eoc=eoc).select_related("eoc").first() or EocStatus(eoc=eoc)
    status.shown_incident = (
        Incident.objects.visible_to(person).filter(pk=status.incident_id).first() if status.incident_id else None
    )
    return status


def eoc_incidents(*, person: User, eoc: Agency) -> QuerySet[Incident]:
    """The open incidents the EOC leads or supports, as far as the person may see them."""
    takes_part = Q(lead_eoc=eoc) | Q(
        Exists(Incident.supporting_agencies.through.objects.filter(incident_id=OuterRef("pk"), agency_id=eoc.pk))
    )
    return Incident.objects.visible_to(person).open().filter(takes_part).select_related("lead_eoc")


@dataclass
class Dashboard:
    """An EOC's common operating picture."""

    eoc: Agency
    status: EocStatus
    incidents: list[Incident]
    more_incidents: bool
    alerts: list[FeedEntry]
    request_counts: list[tuple[str, int]]
    overdue_requests: int
    overdue_tasks: list[Task]
    map_markers: list[dict] = field(default_factory=list)


DASHBOARD_INCIDENTS = 20
DASHBOARD_ALERTS = 10
DASHBOARD_TASKS = 15


def eoc_dashboard(*, person: User, eoc: Agency) -> Dashboard:
    """Activation level, active incidents (with a map), the latest flash and priority entries, open
    resource requests by state and overdue tasks: a fixed number of queries, however busy the EOC."""
    status = activation_status(person=person, eoc=eoc)
    incidents_qs = eoc_incidents(person=person, eoc=eoc)
    incidents = list(
        incidents_qs.prefetch_related(
            Prefetch("affected_jurisdictions", queryset=Jurisdiction.objects.order_by("name"))
        ).order_by("-started_at", "-pk")[: DASHBOARD_INCIDENTS + 1]
    )
    more = len(incidents) > DASHBOARD_INCIDENTS
    incidents = incidents[:DASHBOARD_INCIDENTS]
    alerts = list(
        feed_entries(person=person, eoc_id=eoc.pk).filter(
            priority__in=[FeedEntry.Priority.FLASH, FeedEntry.Priority.PRIORITY]
        )[:DASHBOARD_ALERTS]
    )
    counts, overdue_requests = _request_counts(
        ResourceRequest.objects.filter(incident__in=incidents_qs.values("pk"), state__in=OPEN_REQUEST_STATES)
    )
    overdue_tasks = list(
        Task.objects.filter(
            incident__in=incidents_qs.values("pk"), status__in=OPEN_TASK_STATUSES, due_at__lt=timezone.now()
        )
        .select_related("incident", "assigned_agency")
        .order_by("due_at", "pk")[:DASHBOARD_TASKS]
    )
    markers = [
        {
            "id": incident.pk,
            "lat": float(incident.latitude),
            "lng": float(incident.longitude),
            "label": f"{'EXERCISE ' if incident.is_exercise else ''}{incident.number} {incident.name}",
            "status": incident.get_status_display(),
            "jurisdictions": ", ".join(j.name for j in incident.affected_jurisdictions.all()),
            "url": reverse("eoc:incident-detail", args=[incident.pk]),
        }
        for incident in incidents
        if incident.latitude is not None and incident.longitude is not None
    ]
    return Dashboard(
        eoc=eoc,
        status=status,
        incidents=incidents,
        more_incidents=more,
        alerts=alerts,
        request_counts=counts,
        overdue_requests=overdue_requests,
        overdue_tasks=overdue_tasks,
        map_markers=markers,
    )
