"""Writes of threat products: draft, edit, submit, return, approve (publish), update, retract."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.contrib.postgres.search import SearchVector
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Value
from django.utils import timezone

from agencies.audit import record_audit
from agencies.markings import TLP, Caveat
from agencies.models import Agency, AuditAction, Jurisdiction, Role, User
from dissemination.models import Dispatch
from dissemination.services import create_dispatch, record_event

from ..models import (
    CRIMINAL_INTELLIGENCE_RETENTION,
    InformationNeed,
    ProductNumberSequence,
    ProductTransition,
    ThreatProduct,
)
from .attachments import copy_attachments

S = ThreatProduct.State
A = ProductTransition.Action

# The lifecycle, one table: (from state, action) -> to state. Anything else is refused.
TRANSITIONS: dict[tuple[str, str], str] = {
    (S.DRAFT, A.EDITED): S.DRAFT,
    (S.DRAFT, A.SUBMITTED): S.IN_REVIEW,
    (S.IN_REVIEW, A.RETURNED): S.DRAFT,
    (S.IN_REVIEW, A.APPROVED): S.PUBLISHED,
    (S.PUBLISHED, A.SUPERSEDED): S.SUPERSEDED,
    (S.PUBLISHED, A.RETRACTED): S.RETRACTED,
    (S.PUBLISHED, A.NEW_VERSION): S.PUBLISHED,
}

ACTION_WORDS = {
    A.EDITED: "edit",
    A.SUBMITTED: "submit for review",
    A.RETURNED: "return",
    A.APPROVED: "approve",
    A.SUPERSEDED: "supersede",
    A.RETRACTED: "retract",
    A.NEW_VERSION: "update",
}


def next_state(state: str, action: str) -> str:
    """The state after `action`, or a ValidationError saying why the action is not possible now."""
    try:
        return TRANSITIONS[(state, action)]
    except KeyError:
        words = ACTION_WORDS.get(action, action)
        raise ValidationError({"state": f"You cannot {words} a product that is {S(state).label.lower()}."}) from None


@dataclass
class ProductContent:
    """What an author writes: text, markings, audience, tags and dates."""

    kind: str
    title: str
    summary: str = ""
    body: str = ""
    tearline: str = ""
    tlp: str = TLP.AMBER
    caveats: list[str] = field(default_factory=list)
    audience_agencies: list[Agency] = field(default_factory=list)
    audience_levels: list[str] = field(default_factory=list)
    audience_disciplines: list[str] = field(default_factory=list)
    audience_jurisdictions: list[Jurisdiction] = field(default_factory=list)
    audience_people: list[User] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    information_needs: list[InformationNeed] = field(default_factory=list)
    release_reason: str = ""
    is_criminal_intelligence: bool = False
    criminal_predicate: str = ""
    effective_at: object = None
    expires_at: object = None

    SCALAR_FIELDS = (
        "kind",
        "title",
        "summary",
        "body",
        "tearline",
        "tlp",
        "caveats",
        "audience_levels",
        "audience_disciplines",
        "tags",
        "release_reason",
        "is_criminal_intelligence",
        "criminal_predicate",
        "effective_at",
        "expires_at",
    )
    RELATION_FIELDS = (
        "audience_agencies",
        "audience_jurisdictions",
        "audience_people",
        "information_needs",
    )

    @classmethod
    def of(cls, product: ThreatProduct) -> ProductContent:
        values = {name: getattr(product, name) for name in cls.SCALAR_FIELDS}
        values.update({name: list(getattr(product, name).all()) for name in cls.RELATION_FIELDS})
        return cls(**values)


def _is_center_worker(person: User, agency_id: int) -> bool:
    return person.agency_id == agency_id and person.has_role(Role.ANALYST, Role.SUPERVISOR)


def purged_refusal(product: ThreatProduct) -> str:
    """Why nothing more can be done to a purged product, or "" when it is not purged."""
    if product.purged_at is None:
        return ""
    return (
        f"{product.display_number} was purged under 28 CFR Part 23 on "
        f"{timezone.localtime(product.purged_at):%Y-%m-%d}: only its tombstone is kept, and it cannot be "
        "edited, reviewed, updated or retracted."
    )


def _check_not_purged(product: ThreatProduct) -> None:
    refusal = purged_refusal(product)
    if refusal:
        raise ValidationError({"state": refusal})


def _check_may_write(person: User) -> None:
    if not person.agency.is_fusion_center or not person.has_role(Role.ANALYST, Role.SUPERVISOR):
        raise PermissionDenied("Only analysts and supervisors of a fusion center write threat products.")


def audience_reaches_outside(content: ProductContent, originating_agency: Agency) -> bool:
    return bool(
        [a for a in content.audience_agencies if a.pk != originating_agency.pk]
        or content.audience_levels
        or content.audience_disciplines
        or content.audience_jurisdictions
        or [p for p in content.audience_people if p.agency_id != originating_agency.pk]
    )


def validate_content(content: ProductContent, *, originating_agency: Agency) -> None:
    """Refuse content that the markings or the law do not allow, with a message per field."""
    errors: dict[str, str] = {}
    if not content.title.strip():
        errors["title"] = "Give the product a title."
    if content.kind not in ThreatProduct.Kind.values:
        errors["kind"] = "Choose the kind of product."
    if content.tlp not in TLP.values:
        errors["tlp"] = "Choose a TLP level."
    unknown = [c for c in content.caveats if c not in Caveat.values]
    if unknown:
        errors["caveats"] = f"Unknown caveat: {', '.join(unknown)}."
    levels = [v for v in content.audience_levels if v not in Agency.Level.values]
    if levels:
        errors["audience_levels"] = f"Unknown agency level: {', '.join(levels)}."
    disciplines = [v for v in content.audience_disciplines if v not in Agency.Discipline.values]
    if disciplines:
        errors["audience_disciplines"] = f"Unknown discipline: {', '.join(disciplines)}."
    if content.tlp == TLP.RED:
        if not content.audience_people:
            errors["audience_people"] = "TLP:RED goes to named people only: name at least one recipient."
        if (
            content.audience_agencies
            or content.audience_levels
            or content.audience_disciplines
            or (content.audience_jurisdictions)
        ):
            errors["tlp"] = (
                "TLP:RED goes to named people only: remove the agencies, levels, disciplines and "
                "jurisdictions from the audience."
            )
    if (
        Caveat.LES in content.caveats
        and not content.tearline.strip()
        and content.tlp != TLP.RED
        and _audience_has_people_without_law_enforcement_status(content, originating_agency)
    ):
        errors["tearline"] = (
            "This LES product's audience includes agencies with people who lack law-enforcement status. "
            "Write a tearline for them, or narrow the audience to law enforcement."
        )
    if content.is_criminal_intelligence and not content.criminal_predicate.strip():
        errors["criminal_predicate"] = (
            "Criminal intelligence needs its criminal predicate: the reasonable suspicion of criminal "
            "conduct it rests on (28 CFR Part 23)."
        )
    if audience_reaches_outside(content, originating_agency) and not content.release_reason.strip():
        errors["release_reason"] = (
            "The audience goes beyond your agency: record the reason for release (who needs to know and why)."
        )
    if content.effective_at and content.expires_at and content.expires_at <= content.effective_at:
        errors["expires_at"] = "The expiry must come after the effective date."
    if errors:
        raise ValidationError(errors)


def _audience_has_people_without_law_enforcement_status(content: ProductContent, origin: Agency) -> bool:
    agencies = Agency.objects.filter(is_active=True).exclude(pk=origin.pk)
    matched = Agency.objects.none()
    if content.audience_agencies:
        matched |= agencies.filter(pk__in=[a.pk for a in content.audience_agencies])
    if content.tlp not in (TLP.AMBER_STRICT, TLP.RED):
        if content.audience_levels:
            matched |= agencies.filter(level__in=content.audience_levels)
        if content.audience_disciplines:
            matched |= agencies.filter(discipline__in=content.audience_disciplines)
        for jurisdiction in content.audience_jurisdictions:
            matched |= agencies.filter(jurisdiction__path__startswith=jurisdiction.path)
    people = User.objects.filter(is_active=True, is_law_enforcement=False)
    if content.tlp in (TLP.GREEN, TLP.CLEAR):
        return people.filter(agency__is_active=True).exclude(agency=origin).exists()
    named_without = any(not p.is_law_enforcement for p in content.audience_people)
    return named_without or people.filter(agency__in=matched).exists()


MARKING_FIELDS = ("tlp", "caveats")
AUDIENCE_FIELDS = ("audience_levels", "audience_disciplines")
AUDIENCE_RELATIONS = ("audience_agencies", "audience_jurisdictions", "audience_people")


def _markings_and_audience(product: ThreatProduct) -> tuple[dict, dict]:
    """The product's markings and audience as they are stored, in plain values for the audit trail."""
    markings = {"tlp": product.tlp, "caveats": sorted(product.caveats)}
    audience = {name: sorted(getattr(product, name)) for name in AUDIENCE_FIELDS}
    audience.update({name: sorted(getattr(product, name).values_list("pk", flat=True)) for name in AUDIENCE_RELATIONS})
    return markings, audience


def _record_marking_changes(product: ThreatProduct, by: User, before: tuple[dict, dict]) -> None:
    """One audit entry when the markings changed, one when the audience did, each with before and after."""
    after = _markings_and_audience(product)
    for action, old, new in (
        (AuditAction.MARKINGS_CHANGED, before[0], after[0]),
        (AuditAction.AUDIENCE_CHANGED, before[1], after[1]),
    ):
        if old != new:
            changed = [name for name in new if old[name] != new[name]]
            record_audit(
                action=action,
                person=by,
                item=product,
                detail={"from": {n: old[n] for n in changed}, "to": {n: new[n] for n in changed}},
            )


def _apply(product: ThreatProduct, content: ProductContent) -> None:
    for name in ProductContent.SCALAR_FIELDS:
        setattr(product, name, getattr(content, name))


def _save_relations(product: ThreatProduct, content: ProductContent) -> None:
    for name in ProductContent.RELATION_FIELDS:
        getattr(product, name).set(getattr(content, name))


def _refresh_search(product: ThreatProduct) -> None:
    ThreatProduct.objects.filter(pk=product.pk).update(
        search_vector=(
            SearchVector("title", weight="A", config="english")
            + SearchVector("summary", weight="B", config="english")
            + SearchVector("body", weight="C", config="english")
            + SearchVector(Value(" ".join(product.tags)), weight="B", config="english")
        ),
        tearline_search_vector=(
            SearchVector("title", weight="A", config="english") + SearchVector("tearline", weight="B", config="english")
        ),
    )


def _record(product: ThreatProduct, action: str, by: User, comment: str = "") -> None:
    ProductTransition.objects.create(product=product, action=action, by=by, comment=comment)


def _lock(product: ThreatProduct) -> ThreatProduct:
    return ThreatProduct.objects.select_for_update().get(pk=product.pk)


def create_product(*, author: User, content: ProductContent) -> ThreatProduct:
    """Start a draft at the author's fusion center."""
    _check_may_write(author)
    validate_content(content, originating_agency=author.agency)
    with transaction.atomic(durable=True):
        product = ThreatProduct(author=author, originating_agency=author.agency)
        _apply(product, content)
        product.save()
        _save_relations(product, content)
        _refresh_search(product)
        _record(product, A.CREATED, author)
    return product


def edit_product(*, product: ThreatProduct, by: User, content: ProductContent) -> ThreatProduct:
    """Change a draft. A published version never changes: start an update instead."""
    if not (by == product.author or _is_center_worker(by, product.originating_agency_id)):
        raise PermissionDenied("Only the author or their center's analysts and supervisors edit a draft.")
    if product.state != S.DRAFT:
        raise ValidationError(
            {
                "state": "Only a draft can be edited. A published version never changes: start an update "
                "to write the next version."
            }
        )
    _check_not_purged(product)
    validate_content(content, originating_agency=product.originating_agency)
    with transaction.atomic(durable=True):
        product = _lock(product)
        _check_not_purged(product)
        next_state(product.state, A.EDITED)
        before = _markings_and_audience(product)
        _apply(product, content)
        product.save()
        _save_relations(product, content)
        _refresh_search(product)
        _record(product, A.EDITED, by)
        _record_marking_changes(product, by, before)
    return product


def submit_for_review(*, product: ThreatProduct, by: User, comment: str = "") -> ThreatProduct:
    if not (by == product.author or _is_center_worker(by, product.originating_agency_id)):
        raise PermissionDenied("Only the author or their center's analysts submit a draft.")
    _check_not_purged(product)
    validate_content(ProductContent.of(product), originating_agency=product.originating_agency)
    with transaction.atomic(durable=True):
        product = _lock(product)
        _check_not_purged(product)
        product.state = next_state(product.state, A.SUBMITTED)
        product.save(update_fields=["state", "updated_at"])
        _record(product, A.SUBMITTED, by, comment)
    return product


def _check_reviewer(product: ThreatProduct, reviewer: User) -> None:
    if not (reviewer.agency_id == product.originating_agency_id and reviewer.has_role(Role.SUPERVISOR)):
        raise PermissionDenied("Only a supervisor of the originating center reviews its products.")
    if reviewer.pk == product.author_id:
        raise ValidationError({"reviewer": "A product cannot be approved or returned by its author."})


def return_product(*, product: ThreatProduct, reviewer: User, comment: str) -> ThreatProduct:
    """Send a product in review back to its author with comments."""
    _check_reviewer(product, reviewer)
    if not comment.strip():
        raise ValidationError({"comment": "Say what the author should change."})
    with transaction.atomic(durable=True):
        product = _lock(product)
        _check_not_purged(product)
        product.state = next_state(product.state, A.RETURNED)
        product.reviewer = reviewer
        product.save(update_fields=["state", "reviewer", "updated_at"])
        _record(product, A.RETURNED, reviewer, comment)
    return product


def _next_number(agency: Agency, year: int) -> str:
    # The row lock is held until the publishing transaction ends, so numbers have neither
    # duplicates nor gaps (a rolled-back publish gives its number back).
    sequence, _ = ProductNumberSequence.objects.get_or_create(agency=agency, year=year)
    sequence = ProductNumberSequence.objects.select_for_update().get(pk=sequence.pk)
    sequence.last_value += 1
    sequence.save(update_fields=["last_value"])
    return f"{agency.acronym}-{year}-{sequence.last_value:04d}"


def approve_product(*, product: ThreatProduct, reviewer: User, comment: str = "") -> ThreatProduct:
    """Publish a product in review: number it, supersede its previous version, and queue its dispatch."""
    _check_reviewer(product, reviewer)
    _check_not_purged(product)
    validate_content(ProductContent.of(product), originating_agency=product.originating_agency)
    with transaction.atomic(durable=True):
        product = _lock(product)
        _check_not_purged(product)
        product.state = next_state(product.state, A.APPROVED)
        now = timezone.now()
        previous = product.previous_version
        if previous is not None:
            previous = _lock(previous)
            previous.state = next_state(previous.state, A.SUPERSEDED)
            previous.save(update_fields=["state", "updated_at"])
            _record(previous, A.SUPERSEDED, reviewer, f"Superseded by version {product.version}.")
            product.number = previous.number
        else:
            product.number = _next_number(product.originating_agency, now.year)
        product.reviewer = reviewer
        product.published_at = now
        if product.effective_at is None:
            product.effective_at = now
        if product.is_criminal_intelligence:
            product.review_by = (now + CRIMINAL_INTELLIGENCE_RETENTION).date()
        product.save()
        _record(product, A.APPROVED, reviewer, comment)
        record_audit(
            action=AuditAction.UPDATE if previous is not None else AuditAction.PUBLISH,
            person=reviewer,
            item=product,
            detail={"version": product.version, "tlp": product.tlp, "caveats": product.caveats},
        )
        action = Dispatch.Action.UPDATE if previous is not None else Dispatch.Action.PUBLISH
        create_dispatch(
            item=product,
            action=action,
            by=reviewer,
            originating_agency=product.originating_agency,
            reason=product.release_reason,
        )
        record_event(
            kind="product_updated" if previous is not None else "product_published",
            subject=product,
            payload={
                "number": product.number,
                "version": product.version,
                "previous_id": previous.pk if previous else None,
            },
        )
    return product


def start_update(*, product: ThreatProduct, by: User) -> ThreatProduct:
    """Begin the next version of a published product, as a draft copied from it."""
    _check_may_write(by)
    if by.agency_id != product.originating_agency_id:
        raise PermissionDenied("Only the originating center updates its products.")
    with transaction.atomic(durable=True):
        current = _lock(product)
        _check_not_purged(current)
        next_state(current.state, A.NEW_VERSION)
        if ThreatProduct.objects.filter(previous_version=current).exists():
            raise ValidationError({"state": "An update of this version is already being written."})
        content = ProductContent.of(current)
        draft = ThreatProduct(
            author=by,
            originating_agency=current.originating_agency,
            number=current.number,
            version=current.version + 1,
            previous_version=current,
        )
        _apply(draft, content)
        draft.save()
        _save_relations(draft, content)
        copy_attachments(source=current, target=draft)
        _refresh_search(draft)
        _record(draft, A.CREATED, by, f"Update of {current.display_number}.")
        _record(current, A.NEW_VERSION, by, f"Version {draft.version} started.")
    return draft


def retract_product(*, product: ThreatProduct, by: User, reason: str) -> ThreatProduct:
    """Withdraw a published product; its tombstone stays visible to the same audience."""
    if not (by.agency_id == product.originating_agency_id and by.has_role(Role.SUPERVISOR)):
        raise PermissionDenied("Only a supervisor of the originating center retracts a product.")
    if not reason.strip():
        raise ValidationError({"reason": "Say why the product is retracted: recipients will read it."})
    with transaction.atomic(durable=True):
        product = _lock(product)
        _check_not_purged(product)
        product.state = next_state(product.state, A.RETRACTED)
        product.retracted_at = timezone.now()
        product.retraction_reason = reason
        product.save(update_fields=["state", "retracted_at", "retraction_reason", "updated_at"])
        _record(product, A.RETRACTED, by, reason)
        record_audit(action=AuditAction.RETRACT, person=by, item=product, detail={"reason": reason[:500]})
        create_dispatch(
            item=product,
            action=Dispatch.Action.RETRACT,
            by=by,
            originating_agency=product.originating_agency,
            reason=reason,
        )
        record_event(kind="product_retracted", subject=product, payload={"number": product.number, "reason": reason})
    return product
