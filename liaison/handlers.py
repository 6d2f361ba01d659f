"""Handlers of `sharing`'s and `eoc`'s domain events: where the routing rules turn them into relays.

Each runs inside the transaction that marks its event handled, and may run twice for one event
(a worker lost after the handler, before the mark): every relay and notice it makes is unique per
source version and target, so the second run finds them made and does nothing.
"""

from __future__ import annotations

from django.utils import timezone

from agencies.models import Agency, User
from dissemination.events import register_handler
from dissemination.models import DomainEvent
from eoc.models import EocStatus, FeedEntry, Incident, SituationReport
from eoc.services.feed import purge_entry_content
from sharing.models import RequestForInformation, ThreatProduct

from . import services
from .models import PRIORITY_RANK, Direction, LiaisonNotice, Relay, RoutingRule
from .services import ENTRY, PRODUCT, REQUEST, SITREP, Target


def _targets_now(rule: RoutingRule) -> list[Target]:
    """Where a rule sends a product now: each covered EOC's incident feed if it is activated for one,
    else its EOC-wide feed; rules that wait for activation skip EOCs in steady state."""
    eocs = services.rule_eocs(rule)
    statuses = {s.eoc_id: s for s in EocStatus.objects.filter(eoc__in=eocs).select_related("incident")}
    targets = []
    for eoc in eocs:
        status = statuses.get(eoc.pk)
        activated = status is not None and status.is_activated
        if rule.when == RoutingRule.When.ACTIVATED and not activated:
            continue
        incident = status.incident if activated and status.incident and not status.incident.is_closed else None
        targets.append(Target(eoc, incident))
    return targets


def _load_product(event: DomainEvent) -> ThreatProduct:
    return (
        ThreatProduct.objects.select_related("originating_agency", "author")
        .prefetch_related("audience_agencies", "audience_jurisdictions", "information_needs")
        .get(pk=event.subject_id)
    )


def relay_product_by_rules(product: ThreatProduct, *, skip: set[tuple[int, int | None]] = frozenset()) -> list[Relay]:
    relays = []
    for rule in services._rules(Direction.TO_EOC, fusion_center_id=product.originating_agency_id):
        for target in _targets_now(rule):
            key = (target.eoc.pk, target.incident.pk if target.incident else None)
            if key in skip:
                continue
            if not services._product_matches(rule, product, target.incident):
                continue
            relay, _ = services.relay_by_rule(
                source=product, source_type=PRODUCT, direction=Direction.TO_EOC, rule=rule, target=target
            )
            relays.append(relay)
            skip = skip | {key}
    return relays


def on_product_published(event: DomainEvent) -> None:
    relay_product_by_rules(_load_product(event))


def on_product_updated(event: DomainEvent) -> None:
    """An update follows every delivered relay of the earlier version, as a correction of the entry
    that version made (if the markings still allow; else a notice that it was withdrawn); open
    proposals of the earlier version give way to the update; then the rules apply as for a publish."""
    product = _load_product(event)
    previous_id = event.payload.get("previous_id") or product.previous_version_id
    followed: set[tuple[int, int | None]] = set()
    earlier = Relay.objects.filter(
        source_type=PRODUCT, source_id=previous_id, direction=Direction.TO_EOC
    ).select_related("eoc", "incident", "rule", "fusion_center", "decided_by", "created_by")
    for relay in earlier:
        followed.add((relay.eoc_id, relay.incident_id))
        if relay.state == Relay.State.PROPOSED:
            Relay.objects.filter(pk=relay.pk, state=Relay.State.PROPOSED).update(
                state=Relay.State.REJECTED,
                rejection_reason=f"Superseded by version {product.version} before it was approved.",
                decided_at=timezone.now(),
            )
            followed.discard((relay.eoc_id, relay.incident_id))
        elif relay.state in (Relay.State.DELIVERED, Relay.State.ACKNOWLEDGED):
            services.follow_update(relay=relay, product=product)
    relay_product_by_rules(product, skip=followed)


def on_product_retracted(event: DomainEvent) -> None:
    """A retraction shows on every entry the product made, and open proposals of it are rejected."""
    product = _load_product(event)
    for relay in Relay.objects.filter(
        source_type=PRODUCT, source_id=product.pk, direction=Direction.TO_EOC
    ).select_related("eoc", "incident", "rule", "fusion_center", "decided_by", "created_by"):
        if relay.state == Relay.State.PROPOSED:
            Relay.objects.filter(pk=relay.pk, state=Relay.State.PROPOSED).update(
                state=Relay.State.REJECTED,
                rejection_reason="The product was retracted before the relay was approved.",
                decided_at=timezone.now(),
            )
        elif relay.state in (Relay.State.DELIVERED, Relay.State.ACKNOWLEDGED):
            services.follow_retraction(relay=relay, product=product)


def on_product_purged(event: DomainEvent) -> None:
    """A product purged under 28 CFR Part 23 leaves no copy behind: every entry its versions made in a
    feed keeps only a tombstone, and open proposals of it are rejected."""
    versions = event.payload.get("versions") or [event.subject_id]
    number = event.payload.get("number", "")
    notice = f"Purged under 28 CFR Part 23: {number}".strip()
    relays = Relay.objects.filter(source_type=PRODUCT, source_id__in=versions, direction=Direction.TO_EOC)
    Relay.objects.filter(pk__in=relays.filter(state=Relay.State.PROPOSED).values("pk")).update(
        state=Relay.State.REJECTED, rejection_reason="The product was purged.", decided_at=timezone.now()
    )
    relays.update(source_label=notice)
    for entry in FeedEntry.objects.filter(source_type=PRODUCT, source_id__in=versions):
        purge_entry_content(entry=entry, notice=notice)


def _center_rules_for(eoc: Agency) -> list[RoutingRule]:
    return [r for r in services._rules(Direction.TO_FUSION_CENTER) if services._rule_covers(r, eoc)]


def _activated(eoc: Agency) -> bool:
    status = EocStatus.objects.filter(eoc=eoc).first()
    return status is not None and status.is_activated


def _relay_to_centers(source, *, source_type: str, eoc: Agency, incident: Incident | None, priority: str) -> None:
    """Relay an EOC item to each fusion center with a rule for it (once per center)."""
    done: set[int] = set()
    for rule in _center_rules_for(eoc):
        if rule.fusion_center_id in done:
            continue
        if PRIORITY_RANK[priority] < PRIORITY_RANK[rule.minimum_priority]:
            continue
        if rule.when == RoutingRule.When.ACTIVATED and not _activated(eoc):
            continue
        services.relay_by_rule(
            source=source,
            source_type=source_type,
            direction=Direction.TO_FUSION_CENTER,
            rule=rule,
            target=Target(eoc, incident),
        )
        done.add(rule.fusion_center_id)


def on_feed_entry_posted(event: DomainEvent) -> None:
    entry = (
        FeedEntry.objects.select_related("eoc__jurisdiction", "incident")
        .prefetch_related("audience_agencies")
        .get(pk=event.subject_id)
    )
    if entry.kind == FeedEntry.Kind.RELAYED_ITEM or entry.source_type:
        return  # it came from the fusion center (or another relay): never sent back
    _relay_to_centers(entry, source_type=ENTRY, eoc=entry.eoc, incident=entry.incident, priority=entry.priority)


def on_situation_report_published(event: DomainEvent) -> None:
    report = SituationReport.objects.select_related("incident__lead_eoc__jurisdiction").get(pk=event.subject_id)
    incident = report.incident
    _relay_to_centers(report, source_type=SITREP, eoc=incident.lead_eoc, incident=incident, priority="routine")


def on_rfi_submitted(event: DomainEvent) -> None:
    """A request raised from an incident reaches the fusion center's liaison queue (delivered there)."""
    context = event.payload.get("context") or {}
    incident_id = context.get("incident_id")
    if not incident_id:
        return
    rfi = RequestForInformation.objects.select_related("requesting_agency", "fusion_center", "requester").get(
        pk=event.subject_id
    )
    incident = Incident.objects.select_related("lead_eoc").get(pk=incident_id)
    services.relay_request(rfi=rfi, incident=incident)


def on_rfi_answered(event: DomainEvent) -> None:
    """The answer to a request raised from an incident goes back into that incident's feed."""
    rfi = RequestForInformation.objects.select_related("requesting_agency", "fusion_center").get(pk=event.subject_id)
    raised = Relay.objects.filter(source_type=REQUEST, source_id=rfi.pk, direction=Direction.TO_FUSION_CENTER).first()
    if raised is None:
        return
    answered_by = User.objects.get(pk=event.payload["answered_by_id"])
    services.relay_answer(rfi=rfi, raised=raised, by=answered_by)


def on_eoc_activated(event: DomainEvent) -> None:
    """Its liaison officers are told, and recent products matching the incident and the rules are proposed."""
    eoc = Agency.objects.select_related("jurisdiction").get(pk=event.subject_id)
    incident_id = event.payload.get("incident_id")
    incident = Incident.objects.filter(pk=incident_id).first() if incident_id else None
    change_by = User.objects.filter(pk=event.payload.get("changed_by_id")).first()
    officers = services.liaison_officers_of(eoc, incident=incident)
    level = event.payload.get("to_level")
    about = f" for {incident}" if incident else ""
    proposed = services.propose_recent_products(eoc=eoc, incident=incident, at=event.occurred_at) if incident else []
    text = f"Reason: {event.payload.get('reason', '')}"
    if proposed:
        text += f"\n{len(proposed)} recent product(s) are proposed for relay in the liaison queue."
    if officers and change_by:
        services.notify(
            key=f"activation:{event.pk}",
            kind=LiaisonNotice.Kind.ACTIVATION,
            people=officers,
            title=f"{eoc.name} activated to Level {level}{about}",
            text=text,
            url="/liaison/",
            by=change_by,
            origin=eoc,
        )


def on_eoc_deactivated(event: DomainEvent) -> None:
    """Rules that wait for activation stop with it (they read the level when they match); officers are told."""
    eoc = Agency.objects.get(pk=event.subject_id)
    change_by = User.objects.filter(pk=event.payload.get("changed_by_id")).first()
    officers = services.liaison_officers_of(eoc)
    if officers and change_by:
        services.notify(
            key=f"deactivation:{event.pk}",
            kind=LiaisonNotice.Kind.DEACTIVATION,
            people=officers,
            title=f"{eoc.name} returned to Level {event.payload.get('to_level')}",
            text=f"Reason: {event.payload.get('reason', '')}\nAutomatic relays that wait for activation have stopped.",
            url="/liaison/",
            by=change_by,
            origin=eoc,
        )


def on_feed_entry_acknowledged(event: DomainEvent) -> None:
    person = User.objects.filter(pk=event.payload.get("person_id")).first()
    if person is not None:
        services.record_entry_acknowledged(entry_id=event.subject_id, person=person)


HANDLERS = {
    "product_published": on_product_published,
    "product_updated": on_product_updated,
    "product_retracted": on_product_retracted,
    "product_purged": on_product_purged,
    "feed_entry_posted": on_feed_entry_posted,
    "feed_entry_acknowledged": on_feed_entry_acknowledged,
    "situation_report_published": on_situation_report_published,
    "rfi_submitted": on_rfi_submitted,
    "rfi_answered": on_rfi_answered,
    "eoc_activated": on_eoc_activated,
    "eoc_deactivated": on_eoc_deactivated,
}


def register() -> None:
    for kind, handler in HANDLERS.items():
        register_handler(kind, handler)
