"""Writing products: the create and edit form, and its live Markdown and audience previews."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from agencies.markings import TLP

from ..audience import audience_reach
from ..forms import AudienceForm, ProductForm, add_service_errors
from ..permissions import ProductAction, check_may_act, may_write_products, state_refusal
from ..services.products import ProductContent, create_product, edit_product, submit_for_review
from .common import visible_product_or_404

MARKDOWN_PREVIEW_FIELDS = ("body", "tearline")


def _check_may_write(request: HttpRequest) -> None:
    if not may_write_products(request.user):
        raise PermissionDenied("Only analysts and supervisors of a fusion center write threat products.")


def _save_then_submit(request: HttpRequest, form: ProductForm, product) -> bool:
    """Submit the saved draft when the author asked to; False (errors on the form) if the service refused."""
    if request.POST.get("then") != "submit":
        return True
    try:
        submit_for_review(product=product, by=request.user)
    except ValidationError as error:
        add_service_errors(form, error)
        return False
    return True


@login_required
def product_create(request: HttpRequest) -> HttpResponse:
    _check_may_write(request)
    if request.method != "POST":
        form = ProductForm(initial={"tlp": TLP.AMBER})
        return render(request, "sharing/product_form.html", {"form": form, "product": None})
    form = ProductForm(request.POST)
    if form.is_valid():
        try:
            product = create_product(author=request.user, content=form.to_content())
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            if _save_then_submit(request, form, product):
                submitted = request.POST.get("then") == "submit"
                messages.success(request, "Draft submitted for review." if submitted else "Draft saved.")
                return redirect("sharing:product-detail", pk=product.pk)
            messages.warning(request, "The draft was saved but not submitted: see the messages below.")
            return render(request, "sharing/product_form.html", {"form": form, "product": product})
    return render(request, "sharing/product_form.html", {"form": form, "product": None})


@login_required
def product_edit(request: HttpRequest, pk: int) -> HttpResponse:
    product = visible_product_or_404(request.user, pk)
    check_may_act(request.user, product, ProductAction.EDIT)
    refusal = state_refusal(product, ProductAction.EDIT)
    if refusal:
        messages.error(request, refusal)
        return redirect("sharing:product-detail", pk=product.pk)
    if request.method != "POST":
        form = ProductForm(initial=ProductForm.initial_of(ProductContent.of(product)))
        return render(request, "sharing/product_form.html", {"form": form, "product": product})
    form = ProductForm(request.POST)
    if form.is_valid():
        try:
            product = edit_product(product=product, by=request.user, content=form.to_content())
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            if _save_then_submit(request, form, product):
                submitted = request.POST.get("then") == "submit"
                messages.success(request, "Draft submitted for review." if submitted else "Draft saved.")
                return redirect("sharing:product-detail", pk=product.pk)
    return render(request, "sharing/product_form.html", {"form": form, "product": product})


@login_required
@require_POST
def markdown_preview(request: HttpRequest) -> HttpResponse:
    """The sanitised HTML of the Markdown typed so far, as a fragment for the form's preview."""
    _check_may_write(request)
    field = request.POST.get("preview", "body")
    if field not in MARKDOWN_PREVIEW_FIELDS:
        field = "body"
    return render(request, "sharing/includes/markdown_preview.html", {"text": request.POST.get(field, "")})


@login_required
@require_POST
def audience_preview(request: HttpRequest) -> HttpResponse:
    """Who the markings and audience typed so far would reach, as a fragment for the form."""
    _check_may_write(request)
    content = AudienceForm(request.POST).audience_content()
    reach = audience_reach(content=content, originating_agency=request.user.agency) if content else None
    return render(request, "sharing/includes/audience_preview.html", {"reach": reach})
