"""Attachment pages: download (only for those who may read the product in full), upload and removal."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import NoReverseMatch, reverse
from django.views.decorators.http import require_GET, require_POST

from agencies.audit import ItemRef, record_audit, recording_denial
from agencies.models import AuditAction, User
from agencies.uploads import ALLOWED_WORDS, download_response

from .models import ThreatProduct
from .services.attachments import add_attachment, remove_attachment


def _visible_product_or_404(person: User, pk: int) -> ThreatProduct:
    product = ThreatProduct.objects.visible_to(person).filter(pk=pk).first()
    if product is None:
        raise Http404("No such product.")
    return product


def _back_to(product: ThreatProduct) -> str:
    """The product's edit page while it is a draft, else its page."""
    names = ("sharing:product-edit", "sharing:product-detail")
    if product.state != ThreatProduct.State.DRAFT:
        names = names[1:]
    for name in names:
        try:
            return reverse(name, kwargs={"pk": product.pk})
        except NoReverseMatch:
            continue
    return f"/products/{product.pk}/"


@login_required
@require_GET
def attachment_download(request: HttpRequest, product_pk: int, pk: int) -> FileResponse:
    """The file, as a download. Whoever may read only the tearline, or nothing, gets a 404."""
    refused = ItemRef.of(ThreatProduct, product_pk)
    with recording_denial(request, action=AuditAction.DOWNLOAD, item=refused, detail={"attachment_id": pk}):
        product = _visible_product_or_404(request.user, product_pk)
        if not product.full_access:
            raise Http404("No such attachment.")
    attachment = get_object_or_404(product.attachments, pk=pk)
    response = download_response(attachment.file, filename=attachment.filename, content_type=attachment.content_type)
    record_audit(
        action=AuditAction.DOWNLOAD,
        item=product,
        request=request,
        detail={"attachment": attachment.filename, "attachment_id": attachment.pk},
    )
    return response


@login_required
@require_POST
def attachment_upload(request: HttpRequest, product_pk: int) -> HttpResponse:
    product = _visible_product_or_404(request.user, product_pk)
    uploaded_file = request.FILES.get("file")
    if uploaded_file is None:
        messages.error(request, f"Choose a file to attach: {ALLOWED_WORDS}.")
        return redirect(_back_to(product))
    try:
        attachment = add_attachment(product=product, by=request.user, uploaded_file=uploaded_file)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, f"{attachment.filename} is attached.")
    return redirect(_back_to(product))


@login_required
@require_POST
def attachment_delete(request: HttpRequest, product_pk: int, pk: int) -> HttpResponse:
    product = _visible_product_or_404(request.user, product_pk)
    attachment = get_object_or_404(product.attachments.select_related("product"), pk=pk)
    try:
        remove_attachment(attachment=attachment, by=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, f"{attachment.filename} is no longer attached.")
    return redirect(_back_to(product))
