"""Reads of the liaison pages: who uses them, the relay queue and history, the situational-awareness
queue, assignments and duty contacts, and what the panels on other apps' pages show. Each page's read
costs a fixed number of queries, whatever the number of rows."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.core.cache import cache
from django.db.models import Count, Q, QuerySet
from django.urls import reverse
from django.utils import timezone
from redis.exceptions import RedisError

from agencies.models import Agency, Role, User
from agencies.visibility import person_may_see_anything
from eoc.models import Incident
from sharing.models import ThreatProduct

from .models import AwarenessItem, Direction, DutyContact, LiaisonAssignment, Relay, RoutingRule
from .services import ENTRY, PRODUCT, REQUEST, SITREP

logger = logging.getLogger(__name__)

PAGE_SIZE = 25
PROPOSED_COUNT_SECONDS = 30

CENTER_ROLES = (Role.ANALYST, Role.SUPERVISOR, Role.LIAISON_OFFICER, Role.AGENCY_ADMIN)
EOC_ROLES = (Role.EOC_COORDINATOR, Role.LIAISON_OFFICER, Role.AGENCY_ADMIN)


# --- Who uses which page -----------------------------------------------------------------------------


def is_center_person(person: User) -> bool:
    """Analysts, supervisors, liaison officers and admins of a fusion center (and system admins)."""
    if not person_may_see_anything(person):
        return False
    if person.is_system_admin:
        return True
    return person.agency.is_fusion_center and person.has_role(*CENTER_ROLES)


def is_eoc_person(person: User) -> bool:
    """Coordinators, liaison officers and admins of an EOC."""
    return person_may_see_anything(person) and person.agency.is_eoc and person.has_role(*EOC_ROLES)


def uses_liaison(person: User) -> bool:
    """Who the liaison pages are for: the fusion center's people and the EOCs' coordinators and admins."""
    return is_center_person(person) or is_eoc_person(person)


def may_relay(person: User) -> bool:
    """Liaison officers relay items by hand (services.relay_manually)."""
    return person_may_see_anything(person) and person.has_role(Role.LIAISON_OFFICER)


def may_raise_request(person: User, incident: Incident) -> bool:
    """What services.raise_request allows: coordinators (or liaison officers) of the agencies taking part
    in an open incident. Reads the incident's prefetched supporting agencies when they are there."""
    if not person_may_see_anything(person) or incident.is_closed:
        return False
    if not person.has_role(Role.EOC_COORDINATOR, Role.LIAISON_OFFICER):
        return False
    if person.agency_id == incident.lead_eoc_id:
        return True
    return any(agency.pk == person.agency_id for agency in incident.supporting_agencies.all())


# --- Relays --------------------------------------------------------------------------------------------


def relays_for(person: User) -> QuerySet[Relay]:
    """The relays a person sees in the liaison pages (`Relay.objects.visible_to`)."""
    return Relay.objects.visible_to(person)


def _with_rows(relays: QuerySet[Relay]) -> QuerySet[Relay]:
    return relays.select_related(
        "eoc", "fusion_center", "incident", "rule", "created_by", "decided_by", "acknowledged_by"
    )


@dataclass(frozen=True)
class RelayFilters:
    state: str = ""
    direction: str = ""
    eoc: int | None = None
    created_from: date | None = None
    created_to: date | None = None
    before: int | None = None  # the keyset: rows older than this relay


@dataclass
class RelayPage:
    rows: list[Relay]
    next_before: int | None  # the cursor of the next (older) page, None on the last page


def _day_start(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def relay_page(*, person: User, filters: RelayFilters, per_page: int = PAGE_SIZE) -> RelayPage:
    """One page of relays, newest first, by keyset (`before`): one query whatever the page."""
    relays = relays_for(person)
    if filters.state:
        relays = relays.filter(state=filters.state)
    if filters.direction:
        relays = relays.filter(direction=filters.direction)
    if filters.eoc:
        relays = relays.filter(eoc_id=filters.eoc)
    if filters.created_from:
        relays = relays.filter(created_at__gte=_day_start(filters.created_from))
    if filters.created_to:
        relays = relays.filter(created_at__lt=_day_start(filters.created_to) + timedelta(days=1))
    if filters.before:
        relays = relays.filter(pk__lt=filters.before)
    rows = list(_with_rows(relays).order_by("-pk")[: per_page + 1])
    more = len(rows) > per_page
    rows = rows[:per_page]
    for relay in rows:
        relay.source_url = source_url(relay)
    return RelayPage(rows=rows, next_before=rows[-1].pk if more else None)


def proposed_counts(person: User) -> dict[str, int]:
    """How many relays wait for a decision, per direction (one query)."""
    counts = dict.fromkeys(Direction.values, 0)
    rows = relays_for(person).filter(state=Relay.State.PROPOSED).values("direction").annotate(n=Count("pk"))
    for row in rows:
        counts[row["direction"]] = row["n"]
    return counts


def awaiting_acknowledgement_count(person: User) -> int:
    """Delivered relays the person's side has not acknowledged yet (for those who acknowledge)."""
    if not person_may_see_anything(person) or person.is_system_admin:
        return 0
    agency = person.agency
    if agency.is_eoc and person.has_role(Role.EOC_COORDINATOR, Role.LIAISON_OFFICER):
        relays = Relay.objects.filter(direction=Direction.TO_EOC, eoc_id=agency.pk)
    elif agency.is_fusion_center and person.has_role(Role.ANALYST, Role.SUPERVISOR, Role.LIAISON_OFFICER):
        relays = Relay.objects.filter(direction=Direction.TO_FUSION_CENTER, fusion_center_id=agency.pk)
    else:
        return 0
    return relays.filter(state=Relay.State.DELIVERED).count()


def relay_detail(*, person: User, pk: int) -> Relay:
    """One relay the person sees, with everything its page shows; DoesNotExist otherwise."""
    relay = _with_rows(relays_for(person)).get(pk=pk)
    relay.source_url = source_url(relay)
    return relay


def source_url(relay: Relay) -> str:
    """The page of a relay's source: the product, the entry in its feed, the report, the request."""
    if relay.source_type == PRODUCT:
        return reverse("sharing:product-detail", args=[relay.source_id])
    if relay.source_type == ENTRY:
        # An entry relayed to the fusion center keeps its own incident on the relay.
        if relay.incident_id:
            return f"{reverse('eoc:incident-detail', args=[relay.incident_id])}#entry-{relay.source_id}"
        return f"{reverse('eoc:eoc-feed', args=[relay.eoc_id])}#entry-{relay.source_id}"
    if relay.source_type == SITREP:
        return reverse("eoc:sitrep-detail", args=[relay.source_id])
    if relay.source_type == REQUEST:
        return reverse("sharing:request-detail", args=[relay.source_id])
    return ""


def _proposed_count_key(fusion_center_id: int) -> str:
    return f"liaison:proposed:{fusion_center_id}"


def header_proposed_count(person: User) -> int:
    """The navigation badge of a liaison officer: relays of their center waiting for a decision,
    counted at most every PROPOSED_COUNT_SECONDS (a cache outage costs a query, never a page)."""
    if not (person_may_see_anything(person) and person.agency.is_fusion_center):
        return 0
    if not person.has_role(Role.LIAISON_OFFICER):
        return 0
    key = _proposed_count_key(person.agency_id)
    try:
        count = cache.get(key)
    except RedisError:
        logger.warning("The cache did not answer; counting proposed relays in the database.")
        count = None
    if count is None:
        count = Relay.objects.filter(fusion_center_id=person.agency_id, state=Relay.State.PROPOSED).count()
        try:
            cache.set(key, count, PROPOSED_COUNT_SECONDS)
        except RedisError:
            logger.warning("The cache did not answer; the proposed relay count is not kept.")
    return count


def forget_proposed_count(fusion_center_id: int) -> None:
    """After a decision the badge is counted again on the next page."""
    try:
        cache.delete(_proposed_count_key(fusion_center_id))
    except RedisError:
        logger.warning("The cache did not answer; the proposed relay count expires by itself.")


def eocs_for_filters(person: User) -> QuerySet[Agency]:
    if person.agency.is_eoc and not person.is_system_admin:
        return Agency.objects.filter(pk=person.agency_id)
    return Agency.objects.filter(kind=Agency.Kind.EOC, is_active=True).order_by("name")


# --- Routing rules, assignments, duty contacts --------------------------------------------------------


def rules_for(person: User) -> QuerySet[RoutingRule]:
    rules = RoutingRule.objects.select_related("target_eoc", "target_jurisdiction", "fusion_center")
    rules = rules.prefetch_related("information_needs").order_by("-is_active", "name", "pk")
    if person.is_system_admin:
        return rules
    if not is_center_person(person):
        return rules.none()
    return rules.filter(fusion_center_id=person.agency_id)


def assignments_for(person: User) -> QuerySet[LiaisonAssignment]:
    assignments = LiaisonAssignment.objects.select_related("officer", "eoc", "incident", "fusion_center")
    if person.is_system_admin:
        return assignments
    if not is_center_person(person):
        return assignments.none()
    return assignments.filter(fusion_center_id=person.agency_id)


def duty_contacts_for(person: User, *, days: int = 14) -> list[DutyContact]:
    since = timezone.localdate() - timedelta(days=1)
    contacts = DutyContact.objects.select_related("person", "fusion_center").filter(on_date__gte=since)
    if not person.is_system_admin:
        contacts = contacts.filter(fusion_center_id=person.agency_id)
    return list(contacts.order_by("on_date")[:days])


def liaison_officers(fusion_center_id: int | None) -> QuerySet[User]:
    officers = User.objects.filter(
        is_active=True, agency__kind=Agency.Kind.FUSION_CENTER, groups__name=Role.LIAISON_OFFICER.label
    )
    if fusion_center_id is not None:
        officers = officers.filter(agency_id=fusion_center_id)
    return officers.distinct().order_by("last_name", "first_name")


def center_people(fusion_center_id: int | None) -> QuerySet[User]:
    people = User.objects.filter(is_active=True, agency__kind=Agency.Kind.FUSION_CENTER)
    if fusion_center_id is not None:
        people = people.filter(agency_id=fusion_center_id)
    return people.order_by("last_name", "first_name")


# --- The situational-awareness queue --------------------------------------------------------------------


@dataclass(frozen=True)
class AwarenessFilters:
    kind: str = ""
    priority: str = ""
    state: str = ""
    eoc: int | None = None
    before: int | None = None


@dataclass
class AwarenessPage:
    rows: list[AwarenessItem]
    next_before: int | None


def awareness_page(*, person: User, filters: AwarenessFilters, per_page: int = PAGE_SIZE) -> AwarenessPage:
    """The fusion center's queue, newest first, by keyset: one query."""
    items = AwarenessItem.objects.visible_to(person)
    if not person.is_system_admin:
        items = items.filter(fusion_center_id=person.agency_id)
    if filters.kind:
        items = items.filter(kind=filters.kind)
    if filters.priority:
        items = items.filter(priority=filters.priority)
    if filters.state:
        items = items.filter(state=filters.state)
    if filters.eoc:
        items = items.filter(eoc_id=filters.eoc)
    if filters.before:
        items = items.filter(pk__lt=filters.before)
    rows = list(items.select_related("eoc", "incident", "reviewed_by").order_by("-pk")[: per_page + 1])
    more = len(rows) > per_page
    rows = rows[:per_page]
    return AwarenessPage(rows=rows, next_before=rows[-1].pk if more else None)


def awareness_item(*, person: User, pk: int) -> AwarenessItem:
    """One item of the queue, as the person may read it (`full_access`); DoesNotExist otherwise."""
    items = AwarenessItem.objects.visible_to(person)
    if not person.is_system_admin:
        items = items.filter(fusion_center_id=person.agency_id)
    return items.select_related("eoc", "incident", "reviewed_by", "product", "relay").get(pk=pk)


def new_awareness_count(person: User) -> int:
    if not is_center_person(person) or person.is_system_admin:
        return 0
    return AwarenessItem.objects.filter(fusion_center_id=person.agency_id, state=AwarenessItem.State.NEW).count()


# --- Panels on other apps' pages ------------------------------------------------------------------------


def current_assignments(*, eoc: Agency, incident: Incident | None = None) -> list[LiaisonAssignment]:
    """Who is assigned now to the EOC (EOC-wide), or to the incident: one query."""
    assignments = LiaisonAssignment.objects.current().filter(eoc=eoc).select_related("officer", "incident")
    if incident is not None:
        assignments = assignments.filter(Q(incident__isnull=True) | Q(incident=incident))
    else:
        assignments = assignments.filter(Q(incident__isnull=True) | ~Q(incident__status=Incident.Status.CLOSED))
    return [a for a in assignments.order_by("incident_id", "starts_at") if a.officer.is_active]


def contacts_of_the_day(*, fusion_center_ids: list[int] | None = None) -> list[DutyContact]:
    """Today's duty contacts (of the given centers, else of every fusion center): one query."""
    contacts = DutyContact.objects.filter(on_date=timezone.localdate()).select_related("person", "fusion_center")
    if fusion_center_ids is not None:
        contacts = contacts.filter(fusion_center_id__in=fusion_center_ids)
    return list(contacts.order_by("fusion_center__name")[:5])


def waiting_in_incident(incident: Incident) -> int:
    """Relayed entries in the incident's feed that nobody at the EOC has acknowledged yet."""
    return Relay.objects.filter(
        direction=Direction.TO_EOC, incident=incident, state=Relay.State.DELIVERED, delivered_type=ENTRY
    ).count()


def relays_of_product(product: ThreatProduct) -> list[Relay]:
    """Where this version of a product was relayed, and who acknowledged it: one query."""
    return list(
        Relay.objects.filter(source_type=PRODUCT, source_id=product.pk)
        .select_related("eoc", "incident", "acknowledged_by", "decided_by")
        .order_by("-pk")[:50]
    )
