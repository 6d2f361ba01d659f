"""Reads of requests for information: the received queue, an agency's own requests, one request's page."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import BooleanField, Case, ExpressionWrapper, IntegerField, Prefetch, Q, QuerySet, Value, When
from django.utils import timezone

from agencies.models import Role, User

from .models import RequestEvent, RequestForInformation, ThreatProduct

RFI = RequestForInformation

PRIORITY_RANK = {RFI.Priority.IMMEDIATE: 0, RFI.Priority.PRIORITY: 1, RFI.Priority.ROUTINE: 2}
STATE_RANK = {RFI.State.SUBMITTED: 0, RFI.State.ASSIGNED: 0, RFI.State.ANSWERED: 1, RFI.State.CLOSED: 2}


@dataclass
class RequestFilters:
    """What a list of requests may be narrowed by; every field optional."""

    state: str = ""
    priority: str = ""
    overdue: bool = False


def _rank(field: str, ranks: dict[str, int]) -> Case:
    return Case(
        *[When(**{field: value}, then=Value(rank)) for value, rank in ranks.items()],
        default=Value(len(ranks)),
        output_field=IntegerField(),
    )


def is_fusion_center_person(person: User) -> bool:
    return bool(person.agency_id and person.agency.is_fusion_center)


def request_list(*, person: User, filters: RequestFilters | None = None) -> QuerySet[RequestForInformation]:
    """For a fusion center's people the requests it received, for anyone else their agency's requests.

    Overdue requests come first, then the open ones by priority and due date, then answered, then closed.
    One query per page, whatever the number of rows.
    """
    filters = filters or RequestFilters()
    requests = RFI.objects.visible_to(person)
    if is_fusion_center_person(person):
        requests = requests.filter(fusion_center_id=person.agency_id)
    else:
        requests = requests.filter(requesting_agency_id=person.agency_id)
    if filters.state:
        requests = requests.filter(state=filters.state)
    if filters.priority:
        requests = requests.filter(priority=filters.priority)
    overdue = Q(state__in=RFI.OPEN_STATES, due_date__lt=timezone.localdate())
    if filters.overdue:
        requests = requests.filter(overdue)
    return (
        requests.select_related("requester", "requesting_agency", "fusion_center", "assignee", "jurisdiction")
        .annotate(
            overdue=ExpressionWrapper(overdue, output_field=BooleanField()),
            state_rank=_rank("state", STATE_RANK),
            priority_rank=_rank("priority", PRIORITY_RANK),
        )
        .order_by("-overdue", "state_rank", "priority_rank", "due_date", "-created_at", "-pk")
    )


def request_detail(*, person: User, pk: int) -> RequestForInformation:
    """One request the person may see, with its history and the answer products they may see.

    Raises RequestForInformation.DoesNotExist for anyone outside the requesting agency and the center.
    """
    answer_products = (
        ThreatProduct.objects.visible_to(person).select_related("originating_agency").order_by("-published_at", "pk")
    )
    return (
        RFI.objects.visible_to(person)
        .select_related("requester", "requesting_agency", "fusion_center", "assignee", "jurisdiction")
        .prefetch_related(
            Prefetch("events", queryset=RequestEvent.objects.select_related("by").order_by("at", "pk")),
            Prefetch("answer_products", queryset=answer_products, to_attr="visible_answer_products"),
        )
        .get(pk=pk)
    )


def assignable_analysts(rfi: RequestForInformation) -> QuerySet[User]:
    """The active analysts of the fusion center that received the request."""
    return (
        User.objects.filter(agency_id=rfi.fusion_center_id, is_active=True, groups__name=Role.ANALYST.label)
        .distinct()
        .order_by("last_name", "first_name", "username")
    )


def answerable_products(rfi: RequestForInformation, *, person: User) -> QuerySet[ThreatProduct]:
    """Current published products that both the answering person and the requester may see."""
    seen_by_person = ThreatProduct.objects.visible_to(person).values("pk")
    return (
        ThreatProduct.objects.published()
        .current()
        .visible_to(rfi.requester)
        .filter(pk__in=seen_by_person)
        .select_related("originating_agency")
        .order_by("-published_at", "-pk")
    )
