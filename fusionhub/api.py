"""The API's shared pieces: pagination and one shape for every error body."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

NON_FIELD = "non_field_errors"


class Pagination(PageNumberPagination):
    page_size_query_param = "page_size"
    max_page_size = 200


def _as_lists(detail) -> dict[str, list[str]]:
    if isinstance(detail, dict):
        return {
            str(field): [str(m) for m in (messages if isinstance(messages, list) else [messages])]
            for field, messages in detail.items()
        }
    if isinstance(detail, list):
        return {NON_FIELD: [str(m) for m in detail]}
    return {NON_FIELD: [str(detail)]}


def exception_handler(exc, context):
    """Every API error answers `{"errors": {field: [messages]}}`, with `non_field_errors` for the rest.

    A service's Django ValidationError becomes a 400 with its field messages, never a 500.
    """
    if isinstance(exc, DjangoValidationError):
        detail = exc.message_dict if hasattr(exc, "error_dict") else {NON_FIELD: exc.messages}
        exc = exceptions.ValidationError(detail)
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied(str(exc) or None)
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        errors = _as_lists(exc.detail)
    else:
        errors = {NON_FIELD: [str(exc.detail)]} if hasattr(exc, "detail") else {NON_FIELD: ["Error."]}
    response.data = {"errors": errors}
    return response


def error_response(field: str, message: str, code: int = status.HTTP_400_BAD_REQUEST) -> Response:
    return Response({"errors": {field: [message]}}, status=code)
