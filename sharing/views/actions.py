"""The lifecycle actions of a product page: submit, approve, return, start an update, retract.

Each shows a confirmation form on GET and calls its service on POST; a service's refusal is shown
on the redisplayed form.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from ..forms import CommentForm, ConfirmForm, RetractForm, ReturnForm, add_service_errors
from ..models import ThreatProduct
from ..permissions import ProductAction, check_may_act, state_refusal
from ..services import products as services
from .common import visible_product_or_404


@dataclass(frozen=True)
class ActionPage:
    form: type[forms.Form]
    heading: str
    intro: str
    button: str
    perform: Callable[[ThreatProduct, object, dict], ThreatProduct]
    done: Callable[[ThreatProduct], str]
    destructive: bool = False


PAGES = {
    ProductAction.SUBMIT: ActionPage(
        form=CommentForm,
        heading="Submit for review",
        intro="A supervisor other than the author reviews the draft before it is published.",
        button="Submit for review",
        perform=lambda product, person, data: services.submit_for_review(
            product=product, by=person, comment=data["comment"]
        ),
        done=lambda product: "Submitted for review.",
    ),
    ProductAction.APPROVE: ActionPage(
        form=CommentForm,
        heading="Approve and publish",
        intro="Approving publishes this version to its audience now. A published version never changes.",
        button="Approve and publish",
        perform=lambda product, person, data: services.approve_product(
            product=product, reviewer=person, comment=data["comment"]
        ),
        done=lambda product: f"Approved and published as {product.display_number}.",
    ),
    ProductAction.RETURN: ActionPage(
        form=ReturnForm,
        heading="Return to the author",
        intro="The product goes back to draft, with your comments for the author.",
        button="Return with comments",
        perform=lambda product, person, data: services.return_product(
            product=product, reviewer=person, comment=data["comment"]
        ),
        done=lambda product: "Returned to the author with your comments.",
    ),
    ProductAction.UPDATE: ActionPage(
        form=ConfirmForm,
        heading="Start an update",
        intro="An update is the next version of this product, written as a draft from this one. "
        "This version stays published until the update is approved, which supersedes it.",
        button="Start the update",
        perform=lambda product, person, data: services.start_update(product=product, by=person),
        done=lambda draft: f"Version {draft.version} started as a draft.",
    ),
    ProductAction.RETRACT: ActionPage(
        form=RetractForm,
        heading="Retract this product",
        intro="Retracting withdraws the product from every recipient. Its page stays, with your reason.",
        button="Retract the product",
        perform=lambda product, person, data: services.retract_product(
            product=product, by=person, reason=data["reason"]
        ),
        done=lambda product: "Retracted. Recipients are told why.",
        destructive=True,
    ),
}


def _after(request: HttpRequest, action: ProductAction, result: ThreatProduct) -> HttpResponse:
    if action is ProductAction.UPDATE:
        return redirect("sharing:product-edit", pk=result.pk)
    if request.POST.get("next") == "review-queue":
        return redirect("sharing:review-queue")
    return redirect("sharing:product-detail", pk=result.pk)


def _action_view(request: HttpRequest, pk: int, action: ProductAction) -> HttpResponse:
    product = visible_product_or_404(request.user, pk)
    check_may_act(request.user, product, action)
    refusal = state_refusal(product, action)
    if refusal:
        messages.error(request, refusal)
        return redirect("sharing:product-detail", pk=product.pk)
    page = PAGES[action]
    form = page.form(request.POST) if request.method == "POST" else page.form()
    if request.method == "POST" and form.is_valid():
        try:
            result = page.perform(product, request.user, form.cleaned_data)
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, page.done(result))
            return _after(request, action, result)
    return render(
        request,
        "sharing/product_action.html",
        {"product": product, "form": form, "page": page, "next": request.POST.get("next", "")},
    )


@login_required
def submit(request: HttpRequest, pk: int) -> HttpResponse:
    return _action_view(request, pk, ProductAction.SUBMIT)


@login_required
def approve(request: HttpRequest, pk: int) -> HttpResponse:
    return _action_view(request, pk, ProductAction.APPROVE)


@login_required
def return_to_author(request: HttpRequest, pk: int) -> HttpResponse:
    return _action_view(request, pk, ProductAction.RETURN)


@login_required
def start_update(request: HttpRequest, pk: int) -> HttpResponse:
    return _action_view(request, pk, ProductAction.UPDATE)


@login_required
def retract(request: HttpRequest, pk: int) -> HttpResponse:
    return _action_view(request, pk, ProductAction.RETRACT)
