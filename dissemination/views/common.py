"""What the dissemination pages share: pagination and the safe way back after a form."""

from __future__ import annotations

from django.core.paginator import Page
from django.http import HttpRequest
from django.utils.http import url_has_allowed_host_and_scheme

from agencies.pagination import CappedPaginator

PAGE_SIZE = 25


def paginate(request: HttpRequest, rows, per_page: int = PAGE_SIZE) -> Page:
    """A page of `rows` that costs the same however long the list is (agencies.pagination)."""
    return CappedPaginator(rows, per_page).get_page(request.GET.get("page"))


def back_to(request: HttpRequest, fallback: str) -> str:
    """Where a form's `next` field says to go back to, if it is a page of this site."""
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return target
    return fallback
