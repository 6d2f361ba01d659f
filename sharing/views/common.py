"""What the product pages share: fetching a product through the visibility policy, and pagination."""

from __future__ import annotations

from django.core.paginator import Page
from django.db.models import QuerySet
from django.http import Http404, HttpRequest

from agencies.models import User
from agencies.pagination import CappedPaginator

from .. import selectors
from ..models import ThreatProduct

PAGE_SIZE = 25


def visible_product_or_404(person: User, pk: int) -> ThreatProduct:
    """The product if the person may see it; a 404 otherwise, so outsiders cannot learn that it exists."""
    product = ThreatProduct.objects.visible_to(person).filter(pk=pk).select_related("originating_agency").first()
    if product is None:
        raise Http404("No such product.")
    return product


def product_page_or_404(person: User, pk: int) -> ThreatProduct:
    """The product with everything its pages show (selectors.product_detail), or a 404."""
    try:
        return selectors.product_detail(person=person, pk=pk)
    except ThreatProduct.DoesNotExist:
        raise Http404("No such product.") from None


def paginate(request: HttpRequest, rows: QuerySet, per_page: int = PAGE_SIZE, *, max_rows: int | None = None) -> Page:
    """A page of `rows` that costs the same however long the list is (agencies.pagination); a list ends
    after `max_rows`, if given."""
    return CappedPaginator(rows, per_page, max_rows=max_rows).get_page(request.GET.get("page"))
