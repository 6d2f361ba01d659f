"""Writes of the liaison app: assignments, duty contacts, routing rules, and relays between the
fusion center and the EOCs (proposed, approved, rejected, delivered, acknowledged).

Relays are made by the handlers of `sharing`'s and `eoc`'s domain events (`handlers.py`), by a
liaison officer's approval, and by manual relays. Delivery calls the other apps' services: a
relayed entry is posted with `eoc.services.feed.post_entry`, an item for the fusion center becomes
an AwarenessItem, and both reach their people through `dissemination.create_dispatch`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from agencies.audit import ItemRef, record_audit
from agencies.audit_models import AuditAction, AuditOutcome
from agencies.markings import TLP
from agencies.models import Agency, Jurisdiction, Role, User
from agencies.visibility import person_may_see_anything
from dissemination.models import Dispatch
from dissemination.services import create_dispatch
from eoc.models import EocStatus, FeedEntry, Incident, SituationReport
from eoc.services.feed import EntryContent, acknowledge_entry, post_entry
from sharing.models import InformationNeed, RequestForInformation, ThreatProduct
from sharing.services.products import ProductContent, create_product

from .models import (
    PRIORITY_RANK,
    AwarenessItem,
    Direction,
    DutyContact,
    LiaisonAssignment,
    LiaisonNotice,
    Priority,
    Relay,
    RoutingRule,
)
from .policy import MarkingCheck, check_markings

PRODUCT = "sharing.threatproduct"
ENTRY = "eoc.feedentry"
SITREP = "eoc.situationreport"
REQUEST = "sharing.requestforinformation"
AWARENESS = "liaison.awarenessitem"

# How far back an activation looks for products to propose to the activated EOC.
ACTIVATION_LOOKBACK = timedelta(days=14)
# Products whose kind calls for attention arrive in a feed as priority entries.
PRIORITY_KINDS = {ThreatProduct.Kind.OFFICER_SAFETY, ThreatProduct.Kind.BOLO}


# --- Who may do what -----------------------------------------------------------------------------


def is_center_liaison(person: User, fusion_center_id: int | None = None) -> bool:
    """A liaison officer (or agency admin) of a fusion center: keeps rules, approves relays."""
    if person.is_system_admin:
        return True
    if not (person_may_see_anything(person) and person.agency.is_fusion_center):
        return False
    if fusion_center_id is not None and person.agency_id != fusion_center_id:
        return False
    return person.has_role(Role.LIAISON_OFFICER, Role.AGENCY_ADMIN)


def _check_center_liaison(person: User, fusion_center_id: int) -> None:
    if not is_center_liaison(person, fusion_center_id):
        raise PermissionDenied("Only liaison officers and admins of the fusion center do this.")


def may_acknowledge(person: User, relay: Relay) -> bool:
    if not person_may_see_anything(person):
        return False
    if relay.direction == Direction.TO_EOC:
        return person.agency_id == relay.eoc_id and person.has_role(Role.EOC_COORDINATOR, Role.LIAISON_OFFICER)
    return person.agency_id == relay.fusion_center_id and person.has_role(
        Role.ANALYST, Role.SUPERVISOR, Role.LIAISON_OFFICER
    )


# --- Assignments and duty contacts -----------------------------------------------------------------


def assign_liaison(
    *,
    by: User,
    officer: User,
    eoc: Agency,
    incident: Incident | None = None,
    starts_at: datetime | None = None,
    ends_at: datetime | None = None,
    phone: str = "",
    note: str = "",
) -> LiaisonAssignment:
    """Assign one of the fusion center's liaison officers to an EOC (or one of its incidents)."""
    fusion_center = by.agency if not by.is_system_admin else officer.agency
    _check_center_liaison(by, fusion_center.pk)
    starts_at = starts_at or timezone.now()
    errors: dict[str, str] = {}
    if officer.agency_id != fusion_center.pk or not officer.has_role(Role.LIAISON_OFFICER):
        errors["officer"] = "Choose a liaison officer of the fusion center."
    elif not officer.is_active:
        errors["officer"] = "This person's account is not active."
    if not eoc.is_eoc or not eoc.is_active:
        errors["eoc"] = "Choose an active EOC."
    if (
        incident is not None
        and incident.lead_eoc_id != eoc.pk
        and not incident.supporting_agencies.filter(pk=eoc.pk).exists()
    ):
        errors["incident"] = "The EOC does not take part in this incident."
    if ends_at is not None and ends_at <= starts_at:
        errors["ends_at"] = "The assignment must end after it starts."
    if errors:
        raise ValidationError(errors)
    return LiaisonAssignment.objects.create(
        officer=officer,
        fusion_center=fusion_center,
        eoc=eoc,
        incident=incident,
        starts_at=starts_at,
        ends_at=ends_at,
        phone=phone.strip(),
        note=note.strip(),
        created_by=by,
    )


def end_assignment(*, assignment: LiaisonAssignment, by: User) -> LiaisonAssignment:
    _check_center_liaison(by, assignment.fusion_center_id)
    now = timezone.now()
    if assignment.ends_at is not None and assignment.ends_at <= now:
        raise ValidationError({"ends_at": "This assignment has already ended."})
    assignment.ends_at = max(now, assignment.starts_at + timedelta(seconds=1))
    assignment.save(update_fields=["ends_at"])
    return assignment


def set_duty_contact(*, by: User, person: User, on_date: date, phone: str = "") -> DutyContact:
    """Name the fusion center's contact of the day (replacing whoever was named for that day)."""
    _check_center_liaison(by, person.agency_id)
    if not (person.is_active and person.agency.is_fusion_center):
        raise ValidationError({"person": "Choose an active person of the fusion center."})
    contact, _ = DutyContact.objects.update_or_create(
        fusion_center=person.agency,
        on_date=on_date,
        defaults={"person": person, "phone": phone.strip(), "created_by": by},
    )
    return contact


# --- Routing rules ---------------------------------------------------------------------------------


@dataclass
class RuleDetails:
    name: str
    target_eoc: Agency | None = None
    target_jurisdiction: Jurisdiction | None = None
    direction: str = RoutingRule.Direction.TO_EOC
    product_kinds: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    information_needs: list[InformationNeed] = field(default_factory=list)
    match_incident_jurisdictions: bool = False
    minimum_priority: str = Priority.ROUTINE
    mode: str = RoutingRule.Mode.PROPOSED
    when: str = RoutingRule.When.ALWAYS
    is_active: bool = True


def validate_rule(details: RuleDetails) -> None:
    errors: dict[str, str] = {}
    if not details.name.strip():
        errors["name"] = "Give the rule a name that says what flows where."
    if details.target_eoc is None and details.target_jurisdiction is None:
        errors["target_eoc"] = "Choose the target EOC, or a jurisdiction whose EOCs the rule covers."
    elif details.target_eoc is not None and details.target_jurisdiction is not None:
        errors["target_jurisdiction"] = "Choose either one EOC or a jurisdiction, not both."
    elif details.target_eoc is not None and not details.target_eoc.is_eoc:
        errors["target_eoc"] = f"{details.target_eoc.name} is not an EOC."
    if details.direction not in RoutingRule.Direction.values:
        errors["direction"] = "Choose the direction in which items flow."
    unknown = [k for k in details.product_kinds if k not in ThreatProduct.Kind.values]
    if unknown:
        errors["product_kinds"] = f"Unknown product kind: {', '.join(unknown)}."
    if details.minimum_priority not in Priority.values:
        errors["minimum_priority"] = "Choose routine, priority or flash."
    if details.mode not in RoutingRule.Mode.values:
        errors["mode"] = "Choose automatic, or proposed for approval."
    if details.when not in RoutingRule.When.values:
        errors["when"] = "Choose always, or only while the EOC is activated."
    if errors:
        raise ValidationError(errors)


def _apply_rule(rule: RoutingRule, details: RuleDetails) -> None:
    rule.name = details.name.strip()
    rule.target_eoc = details.target_eoc
    rule.target_jurisdiction = details.target_jurisdiction
    rule.direction = details.direction
    rule.product_kinds = list(dict.fromkeys(details.product_kinds))
    rule.tags = list(dict.fromkeys(t.strip().lower() for t in details.tags if t.strip()))
    rule.match_incident_jurisdictions = details.match_incident_jurisdictions
    rule.minimum_priority = details.minimum_priority
    rule.mode = details.mode
    rule.when = details.when
    rule.is_active = details.is_active


def create_rule(*, by: User, details: RuleDetails, fusion_center: Agency | None = None) -> RoutingRule:
    fusion_center = fusion_center or by.agency
    _check_center_liaison(by, fusion_center.pk)
    if not fusion_center.is_fusion_center:
        raise ValidationError({"fusion_center": "Routing rules belong to a fusion center."})
    validate_rule(details)
    with transaction.atomic():
        rule = RoutingRule(fusion_center=fusion_center, created_by=by)
        _apply_rule(rule, details)
        rule.save()
        rule.information_needs.set(details.information_needs)
    return rule


def update_rule(*, rule: RoutingRule, by: User, details: RuleDetails) -> RoutingRule:
    _check_center_liaison(by, rule.fusion_center_id)
    validate_rule(details)
    with transaction.atomic():
        rule = RoutingRule.objects.select_for_update().get(pk=rule.pk)
        _apply_rule(rule, details)
        rule.save()
        rule.information_needs.set(details.information_needs)
    return rule


def rule_details_of(rule: RoutingRule) -> RuleDetails:
    return RuleDetails(
        name=rule.name,
        target_eoc=rule.target_eoc,
        target_jurisdiction=rule.target_jurisdiction,
        direction=rule.direction,
        product_kinds=list(rule.product_kinds),
        tags=list(rule.tags),
        information_needs=list(rule.information_needs.all()),
        match_incident_jurisdictions=rule.match_incident_jurisdictions,
        minimum_priority=rule.minimum_priority,
        mode=rule.mode,
        when=rule.when,
        is_active=rule.is_active,
    )


# --- Matching ----------------------------------------------------------------------------------------


def _overlaps(paths_a: list[str], paths_b: list[str]) -> bool:
    """Whether two sets of jurisdictions overlap: one is the other, or contains it."""
    return any(a.startswith(b) or b.startswith(a) for a in paths_a for b in paths_b)


def product_priority(product: ThreatProduct) -> str:
    return Priority.PRIORITY if product.kind in PRIORITY_KINDS else Priority.ROUTINE


def rule_eocs(rule: RoutingRule) -> list[Agency]:
    """The EOCs a rule covers: its EOC, or every active EOC within its jurisdiction."""
    if rule.target_eoc_id:
        return [rule.target_eoc] if rule.target_eoc.is_active else []
    return list(
        Agency.objects.filter(
            kind=Agency.Kind.EOC, is_active=True, jurisdiction__path__startswith=rule.target_jurisdiction.path
        ).select_related("jurisdiction")
    )


def _rule_covers(rule: RoutingRule, eoc: Agency) -> bool:
    if rule.target_eoc_id:
        return rule.target_eoc_id == eoc.pk
    return eoc.jurisdiction_id is not None and eoc.jurisdiction.path.startswith(rule.target_jurisdiction.path)


def _rules(direction: str, **filters) -> list[RoutingRule]:
    flows = [direction, RoutingRule.Direction.BOTH]
    return list(
        RoutingRule.objects.filter(is_active=True, direction__in=flows, **filters)
        .select_related("target_eoc__jurisdiction", "target_jurisdiction", "fusion_center")
        .prefetch_related("information_needs")
        .order_by("pk")
    )


def _status(eoc: Agency) -> EocStatus | None:
    return EocStatus.objects.filter(eoc=eoc).select_related("incident").first()


def _product_matches(rule: RoutingRule, product: ThreatProduct, incident: Incident | None) -> bool:
    if rule.product_kinds and product.kind not in rule.product_kinds:
        return False
    if PRIORITY_RANK[product_priority(product)] < PRIORITY_RANK[rule.minimum_priority]:
        return False
    wanted_needs = {n.pk for n in rule.information_needs.all()}
    if rule.tags or wanted_needs:
        tags = {t.lower() for t in product.tags}
        needs = {n.pk for n in product.information_needs.all()}
        if not (tags & set(rule.tags) or needs & wanted_needs):
            return False
    if rule.match_incident_jurisdictions:
        if incident is None:
            return False
        product_paths = [j.path for j in product.audience_jurisdictions.all()]
        incident_paths = [j.path for j in incident.affected_jurisdictions.all()]
        if not _overlaps(product_paths, incident_paths):
            return False
    return True


# --- Relays ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    eoc: Agency
    incident: Incident | None = None


def _source_of_relay(relay: Relay):
    if relay.source_type == PRODUCT:
        return ThreatProduct.objects.prefetch_related("audience_agencies").get(pk=relay.source_id)
    if relay.source_type == ENTRY:
        return (
            FeedEntry.objects.select_related("incident", "eoc")
            .prefetch_related("audience_agencies")
            .get(pk=relay.source_id)
        )
    if relay.source_type == SITREP:
        return SituationReport.objects.select_related("incident__lead_eoc").get(pk=relay.source_id)
    if relay.source_type == REQUEST:
        return RequestForInformation.objects.select_related("requesting_agency").get(pk=relay.source_id)
    raise LookupError(f"Unknown relay source {relay.source_type}")


def check_source(source, *, direction: str, eoc: Agency, fusion_center: Agency) -> MarkingCheck:
    """The marking check of relaying `source` in `direction` (to the EOC or to the fusion center)."""
    target = eoc if direction == Direction.TO_EOC else fusion_center
    if isinstance(source, ThreatProduct):
        if source.purged_at is not None:
            return MarkingCheck(
                False, "", ["This product was purged under 28 CFR Part 23: nothing of it is left to relay."]
            )
        released = source.state == ThreatProduct.State.PUBLISHED
        return check_markings(source, target=target, state=source.get_state_display().lower(), released=released)
    if isinstance(source, FeedEntry):
        if source.incident_id and source.incident.is_exercise:
            return MarkingCheck(False, "", ["Entries of an exercise stay with the exercise's participants."])
        return check_markings(source, target=target)
    if isinstance(source, SituationReport):
        if source.incident.is_exercise:
            return MarkingCheck(False, "", ["Reports of an exercise stay with the exercise's participants."])
        released = source.state == SituationReport.State.PUBLISHED
        return MarkingCheck(
            released, "full" if released else "", ["Situation reports go to the fusion center as TLP:AMBER."]
        )
    if isinstance(source, RequestForInformation):
        return MarkingCheck(True, "full", ["A request for information and its answer stay between the two agencies."])
    raise LookupError(f"Cannot check {source!r}")


def _source_label(source) -> str:
    if isinstance(source, ThreatProduct):
        return f"{source.display_number}: {source.title}"[:300]
    if isinstance(source, FeedEntry):
        where = source.incident.number if source.incident_id else f"{source.eoc.acronym} EOC-wide feed"
        return f"{where}: {source.title}"[:300]
    if isinstance(source, SituationReport):
        return f"{source.incident.number}: situation report {source.number}"[:300]
    if isinstance(source, RequestForInformation):
        return f"{source.number}: {source.question}"[:300]
    return str(source)[:300]


def _markings_of(source) -> tuple[str, list[str]]:
    if hasattr(source, "tlp"):
        return source.tlp, list(source.caveats)
    return TLP.AMBER, []


def _make_relay(
    *,
    source,
    source_type: str,
    direction: str,
    fusion_center: Agency,
    target: Target,
    rule: RoutingRule | None,
    by: User | None,
    note: str,
    check: MarkingCheck,
    state: str,
) -> tuple[Relay, bool]:
    """Insert the relay, or return the one already made for this source version and target."""
    tlp, caveats = _markings_of(source)
    found = Relay.objects.filter(
        source_type=source_type,
        source_id=source.pk,
        direction=direction,
        eoc=target.eoc,
        incident=target.incident,
    ).first()
    if found is not None:
        return found, False
    relay = Relay(
        direction=direction,
        source_type=source_type,
        source_id=source.pk,
        source_label=_source_label(source),
        fusion_center=fusion_center,
        eoc=target.eoc,
        incident=target.incident,
        rule=rule,
        created_by=by,
        note=note.strip(),
        tlp=tlp,
        caveats=caveats,
        check_allowed=check.allowed,
        check_access=check.access,
        check_reasons=list(check.reasons),
        state=state,
    )
    if state == Relay.State.REJECTED:
        relay.rejection_reason = check.refusal or "Refused by the marking check."
        relay.decided_at = timezone.now()
    try:
        with transaction.atomic():
            relay.save()
            if state == Relay.State.REJECTED:
                _audit(relay, person=by, decision="refused by the marking check", outcome=AuditOutcome.DENIED)
    except IntegrityError:
        # Made at the same moment by another worker handling the same event: theirs stands.
        return (
            Relay.objects.get(
                source_type=source_type,
                source_id=source.pk,
                direction=direction,
                eoc=target.eoc,
                incident=target.incident,
            ),
            False,
        )
    return relay, True


def _entry_author(relay: Relay) -> User:
    """Who a relayed entry is posted as: the officer who approved or made it, else the rule's keeper."""
    for person in (relay.decided_by, relay.created_by, relay.rule.created_by if relay.rule_id else None):
        if person is not None:
            return person
    raise ValidationError({"relay": "A relay needs a person or a rule behind it."})


def _entry_audience(source, relay: Relay) -> list[Agency]:
    """A restricted copy reaches the target EOC only; a GREEN or CLEAR one also the incident's participants."""
    if source.tlp in (TLP.AMBER, TLP.AMBER_STRICT):
        return [relay.eoc]
    return []


def _product_entry(product: ThreatProduct, relay: Relay, *, prefix: str = "") -> EntryContent:
    body = "\n\n".join(part for part in (product.summary, product.body) if part.strip())
    return EntryContent(
        kind=FeedEntry.Kind.RELAYED_ITEM,
        title=f"{prefix}{product.get_kind_display()} {product.display_number}: {product.title}"[:250],
        body=body,
        priority=product_priority(product),
        tlp=product.tlp,
        caveats=list(product.caveats),
        tearline=product.tearline,
        audience_agencies=_entry_audience(product, relay),
        source_type=PRODUCT,
        source_id=product.pk,
    )


def _deliver_to_eoc(relay: Relay, source, *, corrects: FeedEntry | None = None) -> FeedEntry:
    if isinstance(source, ThreatProduct):
        prefix = "Update: " if corrects is not None else ""
        content = _product_entry(source, relay, prefix=prefix)
    elif isinstance(source, RequestForInformation):
        numbers = ", ".join(p.display_number for p in source.answer_products.all())
        body = source.answer + (f"\n\nProducts: {numbers}" if numbers else "")
        content = EntryContent(
            kind=FeedEntry.Kind.RELAYED_ITEM,
            title=f"Answer to {source.number}: {source.question}"[:250],
            body=body,
            priority=Priority.PRIORITY,
            tlp=TLP.AMBER,
            audience_agencies=[relay.eoc],
            source_type=REQUEST,
            source_id=source.pk,
        )
    else:
        raise LookupError(f"Cannot deliver {source!r} to an EOC")
    entry = post_entry(
        by=_entry_author(relay),
        content=content,
        incident=relay.incident,
        eoc=relay.eoc,
        corrects=corrects,
        check_permission=False,
    )
    create_dispatch(
        item=entry, action=Dispatch.Action.PUBLISH, by=_entry_author(relay), originating_agency=entry.originating_agency
    )
    return entry


def _awareness_content(source) -> dict:
    if isinstance(source, FeedEntry):
        kind = (
            AwarenessItem.Kind.WARNING
            if source.kind == FeedEntry.Kind.WARNING
            else AwarenessItem.Kind.SIGNIFICANT_EVENT
        )
        if source.cap_identifier:
            kind = AwarenessItem.Kind.CAP_ALERT
        elif source.priority == FeedEntry.Priority.FLASH and source.kind not in (FeedEntry.Kind.WARNING,):
            kind = AwarenessItem.Kind.FLASH
        url = (
            f"/incidents/{source.incident_id}/#entry-{source.pk}"
            if source.incident_id
            else f"/eocs/{source.eoc_id}/feed/#entry-{source.pk}"
        )
        return {
            "kind": kind,
            "priority": source.priority,
            "title": source.title,
            "body": source.body,
            "eoc": source.eoc,
            "incident": source.incident,
            "occurred_at": source.occurred_at,
            "source_url": url,
            "tlp": source.tlp,
            "caveats": list(source.caveats),
            "tearline": source.tearline,
        }
    if isinstance(source, SituationReport):
        sections = [
            ("Situation", source.situation_summary),
            ("Actions taken", source.actions_taken),
            ("Resources", source.resources),
            ("Casualties and damage", source.casualties_damage),
            ("Weather", source.weather),
            ("Next steps", source.next_steps),
        ]
        return {
            "kind": AwarenessItem.Kind.SITUATION_REPORT,
            "priority": Priority.ROUTINE,
            "title": f"{source.incident.number} {source.incident.name}: situation report {source.number}",
            "body": "\n\n".join(f"{name}: {text}" for name, text in sections if text.strip()),
            "eoc": source.incident.lead_eoc,
            "incident": source.incident,
            "occurred_at": source.published_at or timezone.now(),
            "source_url": f"/sitreps/{source.pk}/",
            "tlp": TLP.AMBER,
            "caveats": [],
            "tearline": "",
        }
    if isinstance(source, RequestForInformation):
        return {
            "kind": AwarenessItem.Kind.REQUEST,
            "priority": Priority.PRIORITY if source.priority != "routine" else Priority.ROUTINE,
            "title": f"{source.number}: {source.question}"[:300],
            "body": source.question,
            "eoc": source.requesting_agency,
            "incident": None,
            "occurred_at": source.created_at,
            "source_url": f"/requests/{source.pk}/",
            "tlp": TLP.AMBER,
            "caveats": [],
            "tearline": "",
        }
    raise LookupError(f"Cannot deliver {source!r} to a fusion center")


def _deliver_to_center(relay: Relay, source) -> AwarenessItem:
    content = _awareness_content(source)
    incident = relay.incident or content.pop("incident")
    content.pop("incident", None)
    item = AwarenessItem.objects.create(
        fusion_center=relay.fusion_center,
        relay=relay,
        incident=incident,
        originating_agency=content["eoc"],
        **content,
    )
    item.audience_agencies.set([relay.fusion_center])
    by = relay.decided_by or relay.created_by or (relay.rule.created_by if relay.rule_id else None)
    create_dispatch(item=item, action=Dispatch.Action.PUBLISH, by=by, originating_agency=item.originating_agency)
    return item


def _deliver(relay: Relay, source, *, corrects: FeedEntry | None = None) -> Relay:
    """Carry an allowed relay over: make its item on the other side and hand it to dissemination."""
    if relay.direction == Direction.TO_EOC:
        delivered = _deliver_to_eoc(relay, source, corrects=corrects)
    else:
        delivered = _deliver_to_center(relay, source)
    relay.delivered_type = delivered._meta.label_lower
    relay.delivered_id = delivered.pk
    relay.delivered_at = timezone.now()
    relay.state = Relay.State.DELIVERED
    relay.save(update_fields=["delivered_type", "delivered_id", "delivered_at", "state"])
    _audit(relay, person=relay.decided_by or relay.created_by, decision="delivered")
    return relay


def _audit(relay: Relay, *, person: User | None, decision: str, outcome: str = AuditOutcome.SUCCESS) -> None:
    """Every relay decision is in the audit trail, under the source item (in the caller's transaction)."""
    record_audit(
        action=AuditAction.RELAY,
        person=person,
        item=ItemRef(relay.source_type, relay.source_id, relay.source_label[:200]),
        outcome=outcome,
        agency=person.agency_id if person is not None else relay.fusion_center_id,
        detail={
            "relay": relay.pk,
            "decision": decision,
            "direction": relay.direction,
            "target": relay.target_label,
            "rule": relay.rule.name if relay.rule_id else None,
            "check": list(relay.check_reasons),
        },
    )


def relay_by_rule(
    *,
    source,
    source_type: str,
    direction: str,
    rule: RoutingRule,
    target: Target,
    proposed_only: bool = False,
    note: str = "",
) -> tuple[Relay, bool]:
    """Relay a source as a rule says: delivered at once (automatic), or proposed for approval; refused
    relays are kept, rejected with the marking check's reason, so the officer sees what did not go."""
    fusion_center = rule.fusion_center
    check = check_source(source, direction=direction, eoc=target.eoc, fusion_center=fusion_center)
    automatic = rule.mode == RoutingRule.Mode.AUTOMATIC and not proposed_only
    state = Relay.State.APPROVED if automatic else Relay.State.PROPOSED
    if not check.allowed:
        state = Relay.State.REJECTED
    relay, created = _make_relay(
        source=source,
        source_type=source_type,
        direction=direction,
        fusion_center=fusion_center,
        target=target,
        rule=rule,
        by=None,
        note=note or f"By rule “{rule.name}”.",
        check=check,
        state=state,
    )
    if created and state == Relay.State.APPROVED:
        _deliver(relay, source, corrects=_earlier_relayed_entry(relay, source))
    return relay, created


def _earlier_relayed_entry(relay: Relay, source) -> FeedEntry | None:
    """For a product update: the entry its earlier version made on the same target, which the update corrects."""
    if (
        relay.direction != Direction.TO_EOC
        or not isinstance(source, ThreatProduct)
        or source.previous_version_id is None
    ):
        return None
    earlier = (
        Relay.objects.filter(
            source_type=PRODUCT,
            source_id=source.previous_version_id,
            direction=Direction.TO_EOC,
            eoc_id=relay.eoc_id,
            incident_id=relay.incident_id,
            delivered_type=ENTRY,
        )
        .values_list("delivered_id", flat=True)
        .first()
    )
    return FeedEntry.objects.filter(pk=earlier).first() if earlier else None


def _lock(relay: Relay) -> Relay:
    return (
        Relay.objects.select_for_update(of=("self",))
        .select_related("eoc", "fusion_center", "incident", "rule")
        .get(pk=relay.pk)
    )


def approve_relay(*, relay: Relay, by: User, note: str = "") -> Relay:
    """A liaison officer approves a proposed relay; it is delivered at once. The marking check is run
    again on the source as it is now (it may have been retracted or re-marked since)."""
    _check_center_liaison(by, relay.fusion_center_id)
    with transaction.atomic():
        relay = _lock(relay)
        if relay.state != Relay.State.PROPOSED:
            if relay.state == Relay.State.REJECTED:
                raise ValidationError(
                    {"state": f"This relay was rejected ({relay.rejection_reason}): it cannot be approved."}
                )
            raise ValidationError({"state": f"This relay is already {relay.get_state_display().lower()}."})
        source = _source_of_relay(relay)
        check = check_source(source, direction=relay.direction, eoc=relay.eoc, fusion_center=relay.fusion_center)
        if not check.allowed:
            raise ValidationError({"state": f"The marking check refuses this relay now: {check.refusal}"})
        if relay.incident_id and relay.incident.is_closed:
            raise ValidationError(
                {"incident": f"Incident {relay.incident.number} is closed: reject the relay instead."}
            )
        relay.state = Relay.State.APPROVED
        relay.decided_by = by
        relay.decided_at = timezone.now()
        relay.check_allowed, relay.check_access, relay.check_reasons = check.allowed, check.access, list(check.reasons)
        if note.strip():
            relay.note = f"{relay.note}\n{note.strip()}".strip()
        relay.save()
        _deliver(relay, source, corrects=_earlier_relayed_entry(relay, source))
    return relay


def reject_relay(*, relay: Relay, by: User, reason: str) -> Relay:
    _check_center_liaison(by, relay.fusion_center_id)
    if not (reason or "").strip():
        raise ValidationError({"reason": "Say why the relay is rejected: it stays in the history."})
    with transaction.atomic():
        relay = _lock(relay)
        if relay.state != Relay.State.PROPOSED:
            raise ValidationError(
                {"state": f"This relay is {relay.get_state_display().lower()}: only a proposed relay is rejected."}
            )
        relay.state = Relay.State.REJECTED
        relay.rejection_reason = reason.strip()
        relay.decided_by = by
        relay.decided_at = timezone.now()
        relay.save(update_fields=["state", "rejection_reason", "decided_by", "decided_at"])
        _audit(relay, person=by, decision="rejected")
    return relay


def acknowledge_relay(*, relay: Relay, by: User) -> Relay:
    """The receiving side acknowledges a delivered relay; the sending side sees who and when."""
    if not may_acknowledge(by, relay):
        raise PermissionDenied(
            "Only coordinators of the receiving EOC (or analysts of the receiving center) acknowledge it."
        )
    with transaction.atomic():
        relay = _lock(relay)
        if relay.state not in (Relay.State.DELIVERED, Relay.State.ACKNOWLEDGED):
            raise ValidationError(
                {"state": f"This relay is {relay.get_state_display().lower()}: only a delivered relay is acknowledged."}
            )
        if relay.delivered_type == ENTRY:
            entry = FeedEntry.objects.get(pk=relay.delivered_id)
            acknowledge_entry(entry=entry, by=by)
        _mark_acknowledged(relay, by)
    return relay


def _mark_acknowledged(relay: Relay, by: User) -> None:
    if relay.state == Relay.State.ACKNOWLEDGED:
        return
    relay.state = Relay.State.ACKNOWLEDGED
    relay.acknowledged_by = by
    relay.acknowledged_at = timezone.now()
    relay.save(update_fields=["state", "acknowledged_by", "acknowledged_at"])
    _notify_acknowledged(relay, by)


def record_entry_acknowledged(*, entry_id: int, person: User) -> Relay | None:
    """A coordinator acknowledged a relayed entry in the feed: the relay that made it is acknowledged."""
    with transaction.atomic():
        relay = (
            Relay.objects.select_for_update(of=("self",))
            .filter(delivered_type=ENTRY, delivered_id=entry_id)
            .select_related("eoc", "fusion_center", "incident", "rule")
            .first()
        )
        if relay is None or not may_acknowledge(person, relay):
            return None
        _mark_acknowledged(relay, person)
    return relay


def relay_manually(
    *,
    by: User,
    source,
    eoc: Agency,
    incident: Incident | None = None,
    note: str = "",
    direction: str = Direction.TO_EOC,
) -> Relay:
    """A liaison officer relays an item they may see to a target the markings allow, with a note;
    it is delivered at once (the officer is its approver)."""
    if not by.has_role(Role.LIAISON_OFFICER) or not person_may_see_anything(by):
        raise PermissionDenied("Only liaison officers relay items.")
    source_type = source._meta.label_lower
    if source_type not in (PRODUCT, ENTRY, SITREP):
        raise ValidationError({"source": "Products, feed entries and situation reports are relayed."})
    if source_type == PRODUCT and not ThreatProduct.objects.visible_to(by).filter(pk=source.pk).exists():
        raise ValidationError({"source": "You may not see this item, so you cannot relay it."})
    if source_type == ENTRY and not FeedEntry.objects.visible_to(by).filter(pk=source.pk).exists():
        raise ValidationError({"source": "You may not see this item, so you cannot relay it."})
    if not eoc.is_eoc or not eoc.is_active:
        raise ValidationError({"eoc": "Choose an active EOC."})
    if incident is not None:
        if incident.lead_eoc_id != eoc.pk:
            raise ValidationError({"incident": "Choose an incident that the EOC leads."})
        if incident.is_closed:
            raise ValidationError({"incident": f"Incident {incident.number} is closed."})
    if direction == Direction.TO_EOC:
        if source_type != PRODUCT:
            raise ValidationError({"source": "Products are relayed to EOCs; entries go to the fusion center."})
        fusion_center = source.originating_agency
        if not by.agency.is_fusion_center or by.agency_id != fusion_center.pk:
            raise ValidationError({"source": "Only the originating center's liaison officers relay its products."})
    else:
        fusion_center = by.agency if by.agency.is_fusion_center else None
        if fusion_center is None:
            raise ValidationError({"direction": "Relays to the fusion center are made by its liaison officers."})
    check = check_source(source, direction=direction, eoc=eoc, fusion_center=fusion_center)
    if not check.allowed:
        raise ValidationError({"eoc": check.refusal})
    with transaction.atomic():
        relay, created = _make_relay(
            source=source,
            source_type=source_type,
            direction=direction,
            fusion_center=fusion_center,
            target=Target(eoc, incident),
            rule=None,
            by=by,
            note=note,
            check=check,
            state=Relay.State.APPROVED,
        )
        if not created:
            raise ValidationError(
                {"source": f"This item was already relayed there ({relay.get_state_display().lower()})."}
            )
        relay.decided_by = by
        relay.decided_at = timezone.now()
        relay.save(update_fields=["decided_by", "decided_at"])
        _deliver(relay, source, corrects=_earlier_relayed_entry(relay, source))
    return relay


def start_product_from(*, item: AwarenessItem, by: User) -> ThreatProduct:
    """An analyst starts a draft product from an item of the situational-awareness queue."""
    if not (by.agency_id == item.fusion_center_id and by.has_role(Role.ANALYST, Role.SUPERVISOR)):
        raise PermissionDenied("Analysts of the fusion center start products from its queue.")
    if not AwarenessItem.objects.visible_to(by).filter(pk=item.pk).exists():
        raise PermissionDenied("You may not see this item.")
    if item.product_id is not None:
        raise ValidationError({"item": "A product has already been started from this item."})
    content = ProductContent(
        kind=ThreatProduct.Kind.SITUATIONAL_AWARENESS,
        title=item.title[:250],
        summary=item.body[:2000],
        tlp=item.tlp if item.tlp != TLP.CLEAR else TLP.GREEN,
        caveats=list(item.caveats),
        tearline=item.tearline,
        audience_agencies=[item.eoc],
        release_reason=f"Situational awareness relayed from {item.eoc.name}.",
    )
    product = create_product(author=by, content=content)
    with transaction.atomic():
        AwarenessItem.objects.filter(pk=item.pk).update(
            product=product, state=AwarenessItem.State.PRODUCT_STARTED, reviewed_by=by
        )
    return product


def mark_reviewed(*, item: AwarenessItem, by: User) -> AwarenessItem:
    if not (by.agency_id == item.fusion_center_id and by.has_role(Role.ANALYST, Role.SUPERVISOR, Role.LIAISON_OFFICER)):
        raise PermissionDenied("People of the fusion center review its queue.")
    if item.state != AwarenessItem.State.NEW:
        raise ValidationError({"state": "This item has already been reviewed."})
    item.state = AwarenessItem.State.REVIEWED
    item.reviewed_by = by
    item.save(update_fields=["state", "reviewed_by"])
    return item


# --- Notices -------------------------------------------------------------------------------------------


def notify(
    *, key: str, kind: str, people: list[User], title: str, by: User, origin: Agency, text: str = "", url: str = ""
) -> LiaisonNotice | None:
    """A notice to named people (TLP:GREEN, named audience) through dissemination; one per key,
    however often it is asked for. `origin` is the agency it comes from; its own people are not
    disseminated to, so notices come from the other side."""
    people = list({p.pk: p for p in people if p.is_active}.values())
    if not people:
        return None
    notice, created = LiaisonNotice.objects.get_or_create(
        key=key,
        defaults={
            "kind": kind,
            "title": title[:300],
            "text": text,
            "url": url,
            "tlp": TLP.GREEN,
            "originating_agency": origin,
        },
    )
    if created:
        notice.audience_people.set(people)
        create_dispatch(item=notice, action=Dispatch.Action.PUBLISH, by=by, originating_agency=origin)
    return notice


def liaison_officers_of(eoc: Agency, *, incident: Incident | None = None) -> list[User]:
    """The officers currently assigned to the EOC (or the incident); else the fusion centers' liaison officers."""
    assignments = LiaisonAssignment.objects.current().filter(eoc=eoc).select_related("officer")
    if incident is not None:
        assignments = assignments.filter(Q(incident__isnull=True) | Q(incident=incident))
    officers = [a.officer for a in assignments if a.officer.is_active]
    if officers:
        return officers
    return list(
        User.objects.filter(
            is_active=True,
            agency__kind=Agency.Kind.FUSION_CENTER,
            agency__is_active=True,
            groups__name=Role.LIAISON_OFFICER.label,
        ).distinct()
    )


def _notify_acknowledged(relay: Relay, by: User) -> None:
    """The sending side hears of the acknowledgement: the analyst whose product it was, and the approver."""
    if relay.direction != Direction.TO_EOC:
        return
    people = [p for p in (relay.decided_by, relay.created_by) if p is not None]
    if relay.source_type == PRODUCT:
        product = ThreatProduct.objects.select_related("author").filter(pk=relay.source_id).first()
        if product is not None:
            people.append(product.author)
    when = timezone.localtime(relay.acknowledged_at)
    # The notice comes from the EOC, so the sending center's people are not its originators.
    notify(
        key=f"acknowledged:{relay.pk}",
        kind=LiaisonNotice.Kind.ACKNOWLEDGED,
        people=people,
        title=f"{relay.eoc.name} acknowledged {relay.source_label}",
        text=f"Acknowledged by {by.get_full_name() or by.username} at {when:%Y-%m-%d %H:%M}.",
        url=f"/liaison/relays/{relay.pk}/",
        by=by,
        origin=relay.eoc,
    )


# --- Following a relayed product, and the requests raised from incidents ----------------------------


def follow_update(*, relay: Relay, product: ThreatProduct) -> Relay:
    """Carry a product's update to where its earlier version went: a relay of the new version that
    corrects the earlier entry. If the new markings refuse the target, the earlier entry is corrected
    by a notice that the product changed and its update is not releasable there."""
    target = Target(relay.eoc, relay.incident if relay.incident_id and not relay.incident.is_closed else None)
    check = check_source(product, direction=Direction.TO_EOC, eoc=relay.eoc, fusion_center=relay.fusion_center)
    update, created = _make_relay(
        source=product,
        source_type=PRODUCT,
        direction=Direction.TO_EOC,
        fusion_center=relay.fusion_center,
        target=target,
        rule=relay.rule,
        by=relay.decided_by or relay.created_by,
        note=f"Update of a relayed product (version {product.version}).",
        check=check,
        state=Relay.State.APPROVED if check.allowed else Relay.State.REJECTED,
    )
    if not created:
        return update
    earlier_entry = FeedEntry.objects.filter(pk=relay.delivered_id).first() if relay.delivered_type == ENTRY else None
    if check.allowed:
        update.decided_by = relay.decided_by
        update.decided_at = timezone.now()
        update.save(update_fields=["decided_by", "decided_at"])
        return _deliver(update, product, corrects=earlier_entry)
    if earlier_entry is not None:
        post_entry(
            by=_entry_author(relay),
            content=EntryContent(
                kind=FeedEntry.Kind.RELAYED_ITEM,
                title=f"Withdrawn: {product.display_number} was updated and is no longer releasable here"[:250],
                body=check.refusal,
                priority=Priority.PRIORITY,
                tlp=earlier_entry.tlp,
                caveats=list(earlier_entry.caveats),
                tearline=earlier_entry.tearline
                and "The product this entry relayed was updated; the update is not releasable here.",
                audience_agencies=list(earlier_entry.audience_agencies.all()),
                source_type=PRODUCT,
                source_id=product.pk,
            ),
            incident=target.incident,
            eoc=relay.eoc,
            corrects=earlier_entry,
            check_permission=False,
        )
    return update


def follow_retraction(*, relay: Relay, product: ThreatProduct) -> FeedEntry | None:
    """Show a product's retraction on the entry its relay made: a correction entry, posted once."""
    if relay.delivered_type != ENTRY:
        return None
    entry = FeedEntry.objects.prefetch_related("audience_agencies").filter(pk=relay.delivered_id).first()
    if entry is None:
        return None
    title = f"Retracted: {product.display_number} {product.title}"[:250]
    existing = FeedEntry.objects.filter(corrects=entry, source_type=PRODUCT, source_id=product.pk, title=title).first()
    if existing is not None:
        return existing
    incident = relay.incident if relay.incident_id and not relay.incident.is_closed else None
    return post_entry(
        by=_entry_author(relay),
        content=EntryContent(
            kind=FeedEntry.Kind.RELAYED_ITEM,
            title=title,
            body=f"The fusion center retracted this product: {product.retraction_reason}",
            priority=Priority.PRIORITY,
            tlp=entry.tlp,
            caveats=list(entry.caveats),
            tearline="The fusion center retracted the product this entry relayed." if entry.tearline else "",
            audience_agencies=list(entry.audience_agencies.all()),
            source_type=PRODUCT,
            source_id=product.pk,
        ),
        incident=incident,
        eoc=relay.eoc,
        corrects=entry,
        check_permission=False,
    )


def propose_recent_products(*, eoc: Agency, incident: Incident, at=None) -> list[Relay]:
    """On activation (`at`): products published in the 14 days before it that match the incident's
    jurisdictions and the rules for this EOC (those waiting for activation included) are proposed as
    relays. Products published after it are relayed by their own publication's event."""
    at = at or timezone.now()
    since = at - ACTIVATION_LOOKBACK
    rules = [r for r in _rules(Direction.TO_EOC) if _rule_covers(r, eoc)]
    if not rules:
        return []
    incident_paths = [j.path for j in incident.affected_jurisdictions.all()]
    products = (
        ThreatProduct.objects.published()
        .filter(
            published_at__gte=since, published_at__lte=at, originating_agency__in={r.fusion_center_id for r in rules}
        )
        .prefetch_related("audience_agencies", "audience_jurisdictions", "information_needs")
        .order_by("published_at")
    )
    target = Target(eoc, incident)
    proposed = []
    for product in products:
        if not _overlaps([j.path for j in product.audience_jurisdictions.all()], incident_paths):
            continue
        for rule in rules:
            if rule.fusion_center_id != product.originating_agency_id or not _product_matches(rule, product, incident):
                continue
            relay, created = relay_by_rule(
                source=product,
                source_type=PRODUCT,
                direction=Direction.TO_EOC,
                rule=rule,
                target=target,
                proposed_only=True,
                note=f"Proposed on activation for {incident.number}, by rule “{rule.name}”.",
            )
            if created and relay.state == Relay.State.PROPOSED:
                proposed.append(relay)
            break
    return proposed


def relay_request(*, rfi: RequestForInformation, incident: Incident) -> Relay:
    """A request raised from an incident: recorded in the liaison queue as delivered to the fusion
    center (the request itself is already in the center's request queue)."""
    check = check_source(
        rfi, direction=Direction.TO_FUSION_CENTER, eoc=incident.lead_eoc, fusion_center=rfi.fusion_center
    )
    relay, created = _make_relay(
        source=rfi,
        source_type=REQUEST,
        direction=Direction.TO_FUSION_CENTER,
        fusion_center=rfi.fusion_center,
        target=Target(rfi.requesting_agency if rfi.requesting_agency.is_eoc else incident.lead_eoc, incident),
        rule=None,
        by=rfi.requester,
        note=f"Raised from {incident.number} {incident.name}.",
        check=check,
        state=Relay.State.APPROVED,
    )
    if created:
        relay.decided_by = rfi.requester
        relay.decided_at = timezone.now()
        relay.save(update_fields=["decided_by", "decided_at"])
        _deliver(relay, rfi)
    return relay


def relay_answer(*, rfi: RequestForInformation, raised: Relay, by: User) -> Relay:
    """The answer to a request raised from an incident goes back into the incident's feed."""
    incident = raised.incident if raised.incident_id and not raised.incident.is_closed else None
    check = MarkingCheck(True, "full", ["TLP:AMBER: the answer goes to the requesting EOC only."])
    relay, created = _make_relay(
        source=rfi,
        source_type=REQUEST,
        direction=Direction.TO_EOC,
        fusion_center=rfi.fusion_center,
        target=Target(raised.eoc, incident),
        rule=None,
        by=by,
        note=f"Answer to {rfi.number}.",
        check=check,
        state=Relay.State.APPROVED,
    )
    if created:
        relay.decided_by = by
        relay.decided_at = timezone.now()
        relay.save(update_fields=["decided_by", "decided_at"])
        _deliver(relay, rfi)
    return relay


def raise_request(
    *, by: User, incident: Incident, question: str, due_date, priority: str = "routine"
) -> RequestForInformation:
    """An EOC raises a request for information during an incident; it reaches the fusion center
    through the liaison queue, and the answer comes back into the incident feed."""
    from sharing.services.requests import submit_request

    if not (by.agency_id == incident.lead_eoc_id or incident.supporting_agencies.filter(pk=by.agency_id).exists()):
        raise PermissionDenied("Only agencies taking part in the incident raise requests from it.")
    if not by.has_role(Role.EOC_COORDINATOR, Role.LIAISON_OFFICER):
        raise PermissionDenied("EOC coordinators raise requests from an incident.")
    if incident.is_closed:
        raise ValidationError({"incident": f"Incident {incident.number} is closed."})
    jurisdiction = incident.affected_jurisdictions.first()
    return submit_request(
        by=by,
        question=question,
        due_date=due_date,
        priority=priority,
        jurisdiction=jurisdiction,
        context={"incident_id": incident.pk},
    )
