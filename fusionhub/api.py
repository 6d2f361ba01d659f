"""The API's shared pieces: pagination and one shape for every error body."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.paginator import InvalidPage
from django.http import Http404
from redis.exceptions import RedisError
from rest_framework import exceptions, status
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from agencies.pagination import COUNT_LIMIT, CappedPaginator

NON_FIELD = "non_field_errors"


class Pagination(PageNumberPagination):
    """Pages by number with `next` and `previous` links; `count` is exact up to 1,000 rows
    (`count_is_exact`), past which a list is not counted further (agencies.pagination)."""

    page_size_query_param = "page_size"
    max_page_size = 200
    template = None
    # A view may end its list early: a search ranks a bounded set of candidates.
    max_rows: int | None = None

    def paginate_queryset(self, queryset, request, view=None):
        self.request = request
        page_size = self.get_page_size(request)
        if not page_size:
            return None
        paginator = CappedPaginator(queryset, page_size, max_rows=self.max_rows)
        try:
            self.page = paginator.page(request.query_params.get(self.page_query_param) or 1)
        except InvalidPage as exc:
            raise exceptions.NotFound(self.invalid_page_message.format(message=str(exc))) from None
        return list(self.page)

    def get_paginated_response(self, data):
        paginator = self.page.paginator
        return Response(
            {
                "count": paginator.count,
                "count_is_exact": paginator.count_is_exact,
                "next": self.get_next_link(),
                "previous": self.get_previous_link(),
                "results": data,
            }
        )

    def get_paginated_response_schema(self, schema):
        paginated = super().get_paginated_response_schema(schema)
        paginated["required"] = ["count", "count_is_exact", "results"]
        paginated["properties"]["count"]["description"] = (
            f"How many rows the list has, counted up to {COUNT_LIMIT:,}: past that, {COUNT_LIMIT:,} "
            "with `count_is_exact` false (narrow the list to count it); `next` goes on either way."
        )
        paginated["properties"] = {
            "count": paginated["properties"]["count"],
            "count_is_exact": {"type": "boolean"},
            **{name: value for name, value in paginated["properties"].items() if name != "count"},
        }
        return paginated


def _as_lists(detail) -> dict[str, list[str]]:
    if isinstance(detail, dict):
        return {
            str(field): [str(m) for m in (messages if isinstance(messages, list) else [messages])]
            for field, messages in detail.items()
        }
    if isinstance(detail, list):
        return {NON_FIELD: [str(m) for m in detail]}
    return {NON_FIELD: [str(detail)]}


class RedisUnavailable(exceptions.APIException):
    """Redis did not answer where a request cannot go on without it (the callers that can, go on from
    PostgreSQL): the caller is told to come back shortly, in the API's error shape, not handed a 500."""

    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = "The service is unavailable for a moment. Try again shortly."
    default_code = "unavailable"
    retry_after = 5


def exception_handler(exc, context):
    """Every API error answers `{"errors": {field: [messages]}}`, with `non_field_errors` for the rest.

    A service's Django ValidationError becomes a 400 with its field messages, never a 500.
    """
    if isinstance(exc, RedisError):
        exc = RedisUnavailable()
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
    if isinstance(exc, RedisUnavailable):
        response["Retry-After"] = str(exc.retry_after)
    return response


def error_response(field: str, message: str, code: int = status.HTTP_400_BAD_REQUEST) -> Response:
    return Response({"errors": {field: [message]}}, status=code)


# --- the schema ------------------------------------------------------------------------------------

ERROR_SCHEMA = {
    "type": "object",
    "description": "Every error: messages by field, `non_field_errors` for the rest.",
    "properties": {
        "errors": {"type": "object", "additionalProperties": {"type": "array", "items": {"type": "string"}}}
    },
    "required": ["errors"],
}
ERROR_DESCRIPTIONS = {
    "400": "The input is not valid: messages by field.",
    "401": "No credentials, or credentials that are not valid.",
    "403": "The caller may see the item but may not do this.",
    "404": "No such item, or one the caller may not see.",
    "415": "The body is not in a media type the operation takes (or could not be read as one).",
}
WRITE_METHODS = {"post", "put", "patch", "delete"}


def document_error_responses(result, generator, request, public):
    """A drf-spectacular postprocessing hook: every operation documents the errors it can answer.

    401 and 403 everywhere (a token may be missing, wrong, or lack the role); 400 where there is input
    (a body, a filter, a page number); 404 where there is an object in the path or a page to miss;
    415 where there is a body (of a media type the operation does not take, or a malformed one).
    """
    result.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR_SCHEMA
    error = {"schema": {"$ref": "#/components/schemas/Error"}}
    for path, operations in result.get("paths", {}).items():
        for method, operation in operations.items():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            query = {parameter["name"] for parameter in operation.get("parameters", []) if parameter["in"] == "query"}
            codes = ["401", "403"]
            if method in WRITE_METHODS or query:
                codes.append("400")
            if "{" in path or "page" in query or "incident" in query:
                codes.append("404")
            if "requestBody" in operation:
                codes.append("415")
            # An error comes in JSON, or in the JSON flavour the caller asked for (application/stix+json).
            media_types = {"application/json"} | {
                media_type
                for code, response in operation["responses"].items()
                if code.startswith("2")
                for media_type in response.get("content", {})
                if media_type.endswith("+json")
            }
            content = {media_type: error for media_type in sorted(media_types)}
            for code in codes:
                operation["responses"].setdefault(code, {"description": ERROR_DESCRIPTIONS[code], "content": content})
    return result
