"""Retention reviews of criminal intelligence (28 CFR Part 23): the center's queue and the decision page."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from agencies.audit import ItemRef, record_audit, recording_denial
from agencies.models import AuditAction, AuditOutcome, Role

from .. import selectors
from ..forms import add_service_errors
from ..models import RetentionReview, ThreatProduct
from ..retention_forms import RetentionDecisionForm, RetentionFilterForm
from ..services import retention
from .common import paginate

REFUSAL = "Only supervisors of a center decide the retention reviews of its criminal intelligence."


def _check_supervisor(request: HttpRequest) -> None:
    if not request.user.has_role(Role.SUPERVISOR):
        raise PermissionDenied(REFUSAL)


@login_required
def retention_queue(request: HttpRequest) -> HttpResponse:
    _check_supervisor(request)
    form = RetentionFilterForm(request.GET)
    filters = form.to_filters()
    page = paginate(request, selectors.retention_queue(person=request.user, filters=filters))
    return render(
        request,
        "sharing/retention_queue.html",
        {"form": form, "filters": filters, "page": page, "lead_days": retention.lead_time().days},
    )


def _review_or_404(request: HttpRequest, pk: int) -> RetentionReview:
    """A review of the person's center; a 404 for anyone elsewhere, so they cannot learn it exists."""
    review = (
        RetentionReview.objects.filter(pk=pk, agency_id=request.user.agency_id)
        .select_related("product", "decided_by")
        .first()
    )
    if review is None:
        raise Http404("No such retention review.")
    return review


def _attempted(request: HttpRequest) -> str:
    """The audit action of what the person tried: a decision when posting, a view otherwise."""
    if request.method != "POST":
        return AuditAction.VIEW
    if request.POST.get("decision") == RetentionDecisionForm.PURGE:
        return AuditAction.PURGED
    return AuditAction.RETENTION_VALIDATED


def _decide(review: RetentionReview, person, data: dict) -> str:
    if data["decision"] == RetentionDecisionForm.VALIDATE:
        review = retention.validate_retention(
            review=review, by=person, new_review_by=data["new_review_by"], justification=data["justification"]
        )
        return f"{review.number} validated: it is next reviewed by {review.new_review_by:%Y-%m-%d}."
    retention.purge_product(review=review, by=person, justification=data["justification"])
    return f"{review.number} purged: only its tombstone is kept."


@login_required
def retention_decision(request: HttpRequest, pk: int) -> HttpResponse:
    with recording_denial(request, action=_attempted(request), item=ItemRef.of(RetentionReview, pk)):
        review = _review_or_404(request, pk)
    if not request.user.has_role(Role.SUPERVISOR):
        record_audit(
            action=_attempted(request),
            item=review.product,
            outcome=AuditOutcome.DENIED,
            request=request,
            detail={"review": review.pk},
        )
        raise PermissionDenied(REFUSAL)
    if request.method == "POST" and not review.is_open:
        messages.error(
            request, f"This review of {review.number} was already decided: {review.get_state_display().lower()}."
        )
        return redirect("sharing:retention-decision", pk=review.pk)
    form = RetentionDecisionForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            done = _decide(review, request.user, form.cleaned_data)
        except ValidationError as error:
            # Refused on the product's marked record: the attempt is kept with the reasons given.
            record_audit(
                action=_attempted(request),
                item=review.product,
                outcome=AuditOutcome.FAILURE,
                request=request,
                detail={"review": review.pk, "refused": error.messages[:5]},
            )
            add_service_errors(form, error)
        else:
            messages.success(request, done)
            return redirect("sharing:retention-queue")
    versions = ThreatProduct.objects.filter(number=review.number).order_by("-version")
    return render(
        request,
        "sharing/retention_decision.html",
        {"review": review, "product": review.product, "versions": versions, "form": form},
    )
