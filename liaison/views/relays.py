"""The relay queue (the workspace), the history of relays, one relay's page, and the decisions on them:
approve, reject, acknowledge."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from .. import selectors, services
from ..forms import ApproveForm, RejectForm, RelayFilterForm, add_service_errors
from ..models import Relay
from .common import check_uses_liaison, show_refusal


def _relay_or_404(person, pk: int) -> Relay:
    try:
        return selectors.relay_detail(person=person, pk=pk)
    except Relay.DoesNotExist:
        raise Http404("No such relay.") from None


def _back(request: HttpRequest, fallback: str) -> HttpResponse:
    target = request.POST.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return redirect(target)
    return redirect(fallback)


def _rows(person, relays: list[Relay]) -> list[dict]:
    """Each relay with what the person may do to it (no query: the roles are already loaded)."""
    return [
        {
            "relay": relay,
            "may_decide": relay.state == Relay.State.PROPOSED
            and services.is_center_liaison(person, relay.fusion_center_id),
            "may_acknowledge": relay.state == Relay.State.DELIVERED and services.may_acknowledge(person, relay),
        }
        for relay in relays
    ]


@login_required
def workspace(request: HttpRequest) -> HttpResponse:
    """The relays waiting for a liaison officer's decision, both ways, with their marking check."""
    person = request.user
    check_uses_liaison(person)
    form = RelayFilterForm(request.GET, eocs=selectors.eocs_for_filters(person), with_dates=False)
    filters = form.to_filters(default_state=Relay.State.PROPOSED)
    page = selectors.relay_page(person=person, filters=filters)
    return render(
        request,
        "liaison/workspace.html",
        {
            "form": form,
            "filters": filters,
            "page": page,
            "rows": _rows(person, page.rows),
            "counts": selectors.proposed_counts(person),
            "awaiting": selectors.awaiting_acknowledgement_count(person),
            "new_awareness": selectors.new_awareness_count(person),
            "is_center": selectors.is_center_person(person),
            "is_center_liaison": services.is_center_liaison(person),
            "may_relay": selectors.may_relay(person),
            "approve_form": ApproveForm(),
        },
    )


@login_required
def history(request: HttpRequest) -> HttpResponse:
    person = request.user
    check_uses_liaison(person)
    form = RelayFilterForm(request.GET, eocs=selectors.eocs_for_filters(person))
    filters = form.to_filters()
    page = selectors.relay_page(person=person, filters=filters)
    return render(request, "liaison/history.html", {"form": form, "page": page, "rows": _rows(person, page.rows)})


@login_required
def relay_detail(request: HttpRequest, pk: int) -> HttpResponse:
    person = request.user
    check_uses_liaison(person)
    relay = _relay_or_404(person, pk)
    row = _rows(person, [relay])[0]
    return render(
        request,
        "liaison/relay_detail.html",
        {**row, "approve_form": ApproveForm(), "reject_form": RejectForm(auto_id="reject_%s")},
    )


@login_required
@require_POST
def approve(request: HttpRequest, pk: int) -> HttpResponse:
    person = request.user
    check_uses_liaison(person)
    relay = _relay_or_404(person, pk)
    form = ApproveForm(request.POST)
    form.is_valid()
    try:
        relay = services.approve_relay(relay=relay, by=person, note=form.cleaned_data.get("note", ""))
    except (ValidationError, PermissionDenied) as error:
        show_refusal(request, error)
    else:
        messages.success(request, f"Approved and delivered: {relay.source_label} → {relay.target_label}.")
    selectors.forget_proposed_count(relay.fusion_center_id)
    return _back(request, reverse("liaison:workspace"))


@login_required
def reject(request: HttpRequest, pk: int) -> HttpResponse:
    """Reject a proposed relay, with a reason: the form is shown again, with the message, without one."""
    person = request.user
    check_uses_liaison(person)
    relay = _relay_or_404(person, pk)
    if not services.is_center_liaison(person, relay.fusion_center_id):
        raise PermissionDenied("Only liaison officers and admins of the fusion center reject relays.")
    form = RejectForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.reject_relay(relay=relay, by=person, reason=form.cleaned_data["reason"])
        except PermissionDenied as error:
            show_refusal(request, error)
        except ValidationError as error:
            if "state" in getattr(error, "error_dict", {}):
                show_refusal(request, error)
                return _back(request, reverse("liaison:workspace"))
            add_service_errors(form, error)
        else:
            selectors.forget_proposed_count(relay.fusion_center_id)
            messages.success(request, f"Rejected: {relay.source_label} → {relay.target_label}.")
            return _back(request, reverse("liaison:workspace"))
    return render(
        request,
        "liaison/relay_reject.html",
        {"relay": relay, "form": form, "next": request.POST.get("next", "")},
        status=200,
    )


@login_required
@require_POST
def acknowledge(request: HttpRequest, pk: int) -> HttpResponse:
    person = request.user
    check_uses_liaison(person)
    relay = _relay_or_404(person, pk)
    try:
        relay = services.acknowledge_relay(relay=relay, by=person)
    except (ValidationError, PermissionDenied) as error:
        show_refusal(request, error)
    else:
        messages.success(request, f"Acknowledged: {relay.source_label}.")
    return _back(request, reverse("liaison:relay-detail", args=[relay.pk]))
