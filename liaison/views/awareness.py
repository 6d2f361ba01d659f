"""The fusion center's situational-awareness queue: the list, one item under its markings, and
what an analyst does with it (start a product, mark it reviewed)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from agencies.models import Role

from .. import selectors, services
from ..forms import AwarenessFilterForm
from ..models import AwarenessItem
from .common import check_center_person, show_refusal


def _item_or_404(person, pk: int) -> AwarenessItem:
    try:
        return selectors.awareness_item(person=person, pk=pk)
    except AwarenessItem.DoesNotExist:
        raise Http404("No such item.") from None


@login_required
def awareness_list(request: HttpRequest) -> HttpResponse:
    person = request.user
    check_center_person(person)
    form = AwarenessFilterForm(request.GET, eocs=selectors.eocs_for_filters(person))
    page = selectors.awareness_page(person=person, filters=form.to_filters())
    return render(request, "liaison/awareness_list.html", {"form": form, "page": page})


@login_required
def awareness_detail(request: HttpRequest, pk: int) -> HttpResponse:
    person = request.user
    check_center_person(person)
    item = _item_or_404(person, pk)
    own_center = person.agency_id == item.fusion_center_id
    return render(
        request,
        "liaison/awareness_detail.html",
        {
            "item": item,
            "may_start_product": own_center
            and item.product_id is None
            and person.has_role(Role.ANALYST, Role.SUPERVISOR),
            "may_review": own_center
            and item.state == AwarenessItem.State.NEW
            and person.has_role(Role.ANALYST, Role.SUPERVISOR, Role.LIAISON_OFFICER),
        },
    )


@login_required
@require_POST
def start_product(request: HttpRequest, pk: int) -> HttpResponse:
    person = request.user
    check_center_person(person)
    item = _item_or_404(person, pk)
    try:
        product = services.start_product_from(item=item, by=person)
    except (ValidationError, PermissionDenied) as error:
        show_refusal(request, error)
        return redirect("liaison:awareness-detail", pk=item.pk)
    messages.success(request, "A draft product was started from this item: complete it and submit it for review.")
    return redirect("sharing:product-edit", pk=product.pk)


@login_required
@require_POST
def mark_reviewed(request: HttpRequest, pk: int) -> HttpResponse:
    person = request.user
    check_center_person(person)
    item = _item_or_404(person, pk)
    try:
        services.mark_reviewed(item=item, by=person)
    except (ValidationError, PermissionDenied) as error:
        show_refusal(request, error)
    else:
        messages.success(request, f"Marked as reviewed: {item.title}.")
    return redirect("liaison:awareness-detail", pk=item.pk)
