"""Reading products: the list and search, the detail and print pages, version comparison, the review queue."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from agencies.audit import ItemRef, item_access_log, record_audit, recording_denial
from agencies.models import AuditAction, Role

from .. import selectors
from ..diff import compare_versions, strictest_marking
from ..forms import CommentForm, ProductFilterForm
from ..models import ThreatProduct
from ..page_selectors import audience_labels, history_for, with_read_marks
from ..permissions import ProductAction, actions_for, may_act, may_write_products, update_being_written
from ..services.reading import mark_product_read
from .common import paginate, product_page_or_404, visible_product_or_404

# The newest views and downloads shown on the product page; the audit trail has them all.
READERS_SHOWN = 100


def _results(paginator) -> int | str:
    """How many results a search found, as its audit entry records it: a number, or "more than 1,000"."""
    return paginator.count if paginator.count_is_exact else paginator.count_label


@login_required
def product_list(request: HttpRequest) -> HttpResponse:
    form = ProductFilterForm(request.GET)
    form.is_valid()
    filters = form.to_filters()
    if filters.q:
        products = selectors.product_search(person=request.user, filters=filters, read_marks=True)
    else:
        products = with_read_marks(selectors.product_list(person=request.user, filters=filters), person=request.user)
    page = paginate(request, products, max_rows=selectors.SEARCH_CANDIDATES if filters.q else None)
    if filters.q:
        record_audit(
            action=AuditAction.SEARCH,
            request=request,
            detail={"q": filters.q[:200], "results": _results(page.paginator), "page": page.number},
        )
    return render(
        request,
        "sharing/product_list.html",
        {
            "form": form,
            "filters": filters,
            "page": page,
            "is_search": bool(filters.q),
            "user_writes_products": may_write_products(request.user),
            "user_reviews_products": request.user.has_role(Role.SUPERVISOR),
        },
    )


def _product_context(request: HttpRequest, pk: int, *, page: str) -> dict:
    person = request.user
    with recording_denial(request, action=AuditAction.VIEW, item=ItemRef.of(ThreatProduct, pk)):
        product = product_page_or_404(person, pk)
    mark_product_read(product=product, person=person)
    record_audit(
        action=AuditAction.VIEW,
        item=product,
        request=request,
        detail={"page": page, "access": "full" if product.full_access else "tearline"},
    )
    own_center = person.agency_id == product.originating_agency_id
    return {
        "product": product,
        "full_access": product.full_access,
        "own_center": own_center,
        "latest": selectors.latest_version(product, person=person),
        "attachments": product.attachments.all() if product.full_access else [],
        "audience_labels": audience_labels(product) if own_center else {},
    }


@login_required
def product_detail(request: HttpRequest, pk: int) -> HttpResponse:
    context = _product_context(request, pk, page="detail")
    product = context["product"]
    # Who viewed and downloaded it: for the originating center's analysts and supervisors.
    sees_readers = context["own_center"] and request.user.has_role(Role.ANALYST, Role.SUPERVISOR)
    context.update(
        readers=item_access_log(item=product, limit=READERS_SHOWN) if sees_readers else None,
        versions=selectors.versions_of(product, person=request.user),
        history=history_for(product, person=request.user) if product.full_access else [],
        actions=actions_for(request.user, product),
        update_draft=update_being_written(request.user, product),
        submit_form=CommentForm(auto_id="submit_%s"),
    )
    return render(request, "sharing/product_detail.html", context)


@login_required
def product_print(request: HttpRequest, pk: int) -> HttpResponse:
    return render(request, "sharing/product_print.html", _product_context(request, pk, page="print"))


@login_required
def product_compare(request: HttpRequest, pk: int, other_pk: int) -> HttpResponse:
    """Two versions of one product the person may see, the older first, as a word diff."""
    with recording_denial(request, action=AuditAction.VIEW, item=ItemRef.of(ThreatProduct, pk)):
        first = visible_product_or_404(request.user, pk)
    with recording_denial(request, action=AuditAction.VIEW, item=ItemRef.of(ThreatProduct, other_pk)):
        second = visible_product_or_404(request.user, other_pk)
    if first.pk != second.pk and not (first.number and first.number == second.number):
        raise Http404("These are not versions of the same product.")
    older, newer = sorted((first, second), key=lambda version: version.version)
    full_text = older.full_access and newer.full_access
    for version in (older, newer):
        record_audit(
            action=AuditAction.VIEW,
            item=version,
            request=request,
            detail={"page": "compare", "access": "full" if full_text else "tearline"},
        )
    return render(
        request,
        "sharing/product_compare.html",
        {
            "older": older,
            "newer": newer,
            "full_text": full_text,
            "fields": compare_versions(older, newer, full_text=full_text),
            "marking": strictest_marking(older, newer),
        },
    )


@login_required
def review_queue(request: HttpRequest) -> HttpResponse:
    if not request.user.has_role(Role.SUPERVISOR):
        raise PermissionDenied("Only supervisors review products.")
    page = paginate(request, selectors.review_queue(person=request.user))
    rows = [(product, may_act(request.user, product, ProductAction.APPROVE)) for product in page]
    retention_open = selectors.open_retention_review_count(person=request.user)
    return render(request, "sharing/review_queue.html", {"page": page, "rows": rows, "retention_open": retention_open})
