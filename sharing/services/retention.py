"""Retention of criminal intelligence (28 CFR Part 23.20(h)): reviews opened ahead of the review-by date,
and a supervisor's decision on each: validate for a new period, or purge.

A review concerns a product number as a whole. Its versions share one record: an update may change
little more than identifiers, which does not validate (23.20(h)), so the review is due at the earliest
review-by date among the released versions; validating gives every version the new date; purging
blanks every version, the draft of an update included, and removes their attachments.
"""

from __future__ import annotations

from datetime import date, timedelta

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Case, Min, Value, When
from django.utils import timezone

from agencies.audit import record_audit
from agencies.models import AuditAction, Role, User
from dissemination.services import record_event

from ..models import (
    CRIMINAL_INTELLIGENCE_RETENTION,
    ProductAttachment,
    ProductTransition,
    RetentionReview,
    ThreatProduct,
)
from .attachments import delete_file_unless_shared

S = ThreatProduct.State
PURGED_TITLE = "Purged under 28 CFR Part 23"


def purge_notice(purged_on: date) -> str:
    return f"{PURGED_TITLE} on {purged_on:%Y-%m-%d}."


def lead_time() -> timedelta:
    return timedelta(days=settings.RETENTION_REVIEW_LEAD_DAYS)


def open_due_reviews(*, today: date | None = None) -> int:
    """Open a review for every criminal-intelligence product number whose review-by date falls within
    the lead time (or has passed) and that has no open review; returns how many were opened.

    Running it again opens nothing more: one open review per number is a unique constraint."""
    today = today or timezone.localdate()
    due = (
        ThreatProduct.objects.filter(
            is_criminal_intelligence=True,
            purged_at__isnull=True,
            review_by__isnull=False,
        )
        .exclude(number="")
        .exclude(state__in=ThreatProduct.UNRELEASED_STATES)
        .values("number")
        .annotate(due_date=Min("review_by"))
        .filter(due_date__lte=today + lead_time())
        .exclude(number__in=RetentionReview.objects.filter(state=RetentionReview.State.OPEN).values("number"))
        .order_by("number")
    )
    due_dates = {row["number"]: row["due_date"] for row in due}
    if not due_dates:
        return 0
    newest = (
        ThreatProduct.objects.filter(number__in=due_dates)
        .exclude(state__in=ThreatProduct.UNRELEASED_STATES)
        .order_by("number", "-version")
        .distinct("number")
        .only("pk", "number", "originating_agency_id")
    )
    reviews = [
        RetentionReview(
            number=product.number,
            agency_id=product.originating_agency_id,
            product=product,
            due_date=due_dates[product.number],
        )
        for product in newest
    ]
    # A run racing this one conflicts on the one-open-review constraint, and its rows are skipped.
    created = RetentionReview.objects.bulk_create(reviews, ignore_conflicts=True)
    return len(created)


def _check_decider(review: RetentionReview, person: User) -> None:
    if not (person.agency_id == review.agency_id and person.has_role(Role.SUPERVISOR)):
        raise PermissionDenied(
            "Only a supervisor of the center that produced this criminal intelligence validates or purges it."
        )


def _lock_open(review: RetentionReview) -> RetentionReview:
    locked = RetentionReview.objects.select_for_update().get(pk=review.pk)
    if not locked.is_open:
        who = f" by {locked.decided_by}" if locked.decided_by_id else ""
        when = f" on {timezone.localtime(locked.decided_at):%Y-%m-%d}" if locked.decided_at else ""
        decision = locked.get_state_display().lower()
        message = f"This review of {locked.number} was already decided{who}{when}: {decision}."
        raise ValidationError({"__all__": message})
    return locked


def _versions(number: str):
    return ThreatProduct.objects.filter(number=number).order_by("version")


def _require_justification(justification: str, what: str) -> str:
    justification = (justification or "").strip()
    if not justification:
        raise ValidationError({"justification": what})
    return justification


def validate_retention(
    *, review: RetentionReview, by: User, new_review_by: date | None, justification: str
) -> RetentionReview:
    """Keep the product for a new period: every version gets the new review-by date (in the future, at
    most five years ahead), and the review closes with the justification."""
    _check_decider(review, by)
    today = timezone.localdate()
    latest = today + CRIMINAL_INTELLIGENCE_RETENTION
    errors: dict[str, str] = {}
    if new_review_by is None:
        errors["new_review_by"] = "Give the new review-by date."
    elif new_review_by <= today:
        errors["new_review_by"] = "The new review-by date must be in the future."
    elif new_review_by > latest:
        errors["new_review_by"] = (
            f"Criminal intelligence is validated for at most five years: choose a date on or before {latest:%Y-%m-%d}."
        )
    if not (justification or "").strip():
        errors["justification"] = (
            "Say why the information is still relevant and important (28 CFR Part 23.20(h)); "
            "updating identifiers alone does not validate it."
        )
    if errors:
        raise ValidationError(errors)
    justification = justification.strip()
    with transaction.atomic(durable=True):
        review = _lock_open(review)
        now = timezone.now()
        _versions(review.number).filter(is_criminal_intelligence=True).exclude(review_by__isnull=True).update(
            review_by=new_review_by, updated_at=now
        )
        review.state = RetentionReview.State.VALIDATED
        review.decided_by = by
        review.decided_at = now
        review.justification = justification
        review.new_review_by = new_review_by
        review.save(update_fields=["state", "decided_by", "decided_at", "justification", "new_review_by"])
        product = review.product
        ProductTransition.objects.create(
            product=product,
            action=ProductTransition.Action.RETENTION_VALIDATED,
            by=by,
            at=now,
            comment=f"Review by {new_review_by:%Y-%m-%d}. {justification}",
        )
        record_audit(
            action=AuditAction.RETENTION_VALIDATED,
            person=by,
            item=product,
            detail={
                "review": review.pk,
                "due_date": review.due_date.isoformat(),
                "new_review_by": new_review_by.isoformat(),
                "justification": justification[:500],
            },
        )
    return review


def purge_product(*, review: RetentionReview, by: User, justification: str) -> RetentionReview:
    """Purge every version of the product number: its text, tags, needs and attachments go; a
    tombstone stays (number, version, kind, markings, audience, dates, the decision).

    Attachment files go after commit unless another product still holds the same content."""
    _check_decider(review, by)
    justification = _require_justification(
        justification, "Say why the information is purged (for example: no longer relevant or important)."
    )
    with transaction.atomic(durable=True):
        review = _lock_open(review)
        versions = list(_versions(review.number).select_for_update())
        now = timezone.now()
        notice = purge_notice(timezone.localdate(now))
        files = set(ProductAttachment.objects.filter(product__in=versions).values_list("file", flat=True).distinct())
        ProductAttachment.objects.filter(product__in=versions).delete()
        for version in versions:
            version.information_needs.clear()
            # Comments of the history may quote what was purged.
            version.transitions.update(comment="")
        _versions(review.number).update(
            title=PURGED_TITLE,
            summary="",
            body="",
            tags=[],
            release_reason="",
            retraction_reason="",
            criminal_predicate=PURGED_TITLE,
            # Readers who saw only the tearline keep seeing the tombstone: an empty tearline would
            # hide an LES product from them altogether.
            tearline=_tearline_tombstone(notice),
            search_vector=None,
            tearline_search_vector=None,
            purged_at=now,
            updated_at=now,
        )
        review.state = RetentionReview.State.PURGED
        review.decided_by = by
        review.decided_at = now
        review.justification = justification
        review.save(update_fields=["state", "decided_by", "decided_at", "justification"])
        for version in versions:
            ProductTransition.objects.create(
                product=version, action=ProductTransition.Action.PURGED, by=by, at=now, comment=justification
            )
        product = review.product
        record_event(
            kind="product_purged",
            subject=product,
            payload={"number": review.number, "versions": [version.pk for version in versions]},
        )
        record_audit(
            action=AuditAction.PURGED,
            person=by,
            item=product,
            detail={
                "review": review.pk,
                "due_date": review.due_date.isoformat(),
                "versions": [version.pk for version in versions],
                "attachment_files": len(files),
                "justification": justification[:500],
            },
        )
        for name in files:
            transaction.on_commit(lambda name=name: delete_file_unless_shared(name))
    return review


def _tearline_tombstone(notice: str) -> Case:
    return Case(When(tearline="", then=Value("")), default=Value(notice))
