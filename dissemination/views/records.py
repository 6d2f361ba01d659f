"""The dissemination record: of one dispatch (totals, recipients, who acknowledged, CSV, the progress
of a running fan-out) and of an item's versions. For the originating agency's record keepers only."""

from __future__ import annotations

import csv
from collections.abc import AsyncIterator, Iterator
from itertools import islice

from asgiref.sync import sync_to_async
from django.contrib.auth.decorators import login_required
from django.core.handlers.asgi import ASGIRequest
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone

from .. import selectors
from ..forms import RecordFilterForm
from ..models import Delivery, Dispatch, url_origin
from .common import paginate

RECORD_PAGE_SIZE = 50
CSV_CHUNK = 2000

# --- The dissemination record --------------------------------------------------------------------


def _record_or_404(request: HttpRequest, pk: int) -> Dispatch:
    try:
        return selectors.record_dispatch(person=request.user, pk=pk)
    except Dispatch.DoesNotExist:
        raise Http404("No such dispatch.") from None


def _progress_context(dispatch: Dispatch) -> dict:
    total = dispatch.recipients_total
    done = dispatch.recipients_done or 0
    return {
        "dispatch": dispatch,
        "is_running": dispatch.state != Dispatch.State.FANNED_OUT,
        "done": min(done, total) if total is not None else done,
        "total": total,
        "percent": round(100 * min(done, total) / total) if total else (100 if total == 0 else 0),
        "totals": selectors.record_totals(dispatch),
        "states": Delivery.State.choices,
    }


@login_required
def dispatch_record(request: HttpRequest, pk: int) -> HttpResponse:
    dispatch = _record_or_404(request, pk)
    form = RecordFilterForm(request.GET)
    form.is_valid()
    deliveries = selectors.record_deliveries(dispatch=dispatch, filters=form.to_filters())
    item, described = selectors.describe_item(dispatch)
    if request.GET.get("format") == "csv":
        return _record_csv(request, dispatch, described, deliveries)
    acknowledged_count, acknowledged = selectors.acknowledgements(dispatch=dispatch)
    return render(
        request,
        "dissemination/record.html",
        {
            **_progress_context(dispatch),
            "item": item,
            "described": described,
            "form": form,
            "page": paginate(request, deliveries, RECORD_PAGE_SIZE),
            "acknowledged_count": acknowledged_count,
            "acknowledged": acknowledged,
            "csv_query": _csv_query(request),
        },
    )


@login_required
def dispatch_progress(request: HttpRequest, pk: int) -> HttpResponse:
    """The progress and totals of a dispatch, for the record page to poll while its fan-out runs."""
    dispatch = _record_or_404(request, pk)
    return render(request, "dissemination/includes/record_progress.html", _progress_context(dispatch))


def _csv_query(request: HttpRequest) -> str:
    query = request.GET.copy()
    query.pop("page", None)
    query["format"] = "csv"
    return query.urlencode()


class _Echo:
    """A file-like object whose write returns the line, for csv.writer to stream."""

    def write(self, value: str) -> str:
        return value


CSV_HEADER = [
    "item",
    "action",
    "person",
    "username",
    "agency",
    "channel",
    "webhook endpoint",
    "state",
    "text received",
    "recorded at",
    "sent at",
    "read at",
    "acknowledged at",
    "attempts",
    "last error",
]


def _iso(value) -> str:
    return timezone.localtime(value).isoformat() if value else ""


def _csv_rows(dispatch: Dispatch, number: str, deliveries) -> Iterator[str]:
    writer = csv.writer(_Echo())
    yield writer.writerow(CSV_HEADER)
    action = dispatch.get_action_display()
    rows = deliveries.values_list(
        "recipient__first_name",
        "recipient__last_name",
        "recipient__username",
        "agency_name",
        "channel",
        "endpoint__url",
        "state",
        "is_full_text",
        "created_at",
        "sent_at",
        "read_at",
        "acknowledged_at",
        "attempts",
        "last_error",
    )
    for first, last, username, agency, channel, url, state, full, *times, attempts, error in rows.iterator(
        chunk_size=CSV_CHUNK
    ):
        person = f"{first} {last}".strip() or (username or "")
        text = "full text" if full else "tearline"
        yield writer.writerow(
            [number, action, person, username or "", agency or "", channel, url_origin(url), state, text]
            + [_iso(time) for time in times]
            + [attempts, _spreadsheet_safe(error)]
        )


def _spreadsheet_safe(text: str) -> str:
    """A receiver's error text cannot start a formula when the file is opened in a spreadsheet."""
    return f"'{text}" if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _lines_in_chunks(lines: Iterator[str], size: int = 500) -> Iterator[str]:
    while chunk := "".join(islice(lines, size)):
        yield chunk


async def _lines_in_chunks_async(lines: Iterator[str], size: int = 500) -> AsyncIterator[str]:
    """The same chunks for an ASGI server, which would otherwise read a synchronous iterator whole
    into memory first. Each chunk is read in the request's one thread for database work, where the
    rows' cursor lives."""
    take = sync_to_async(lambda: "".join(islice(lines, size)), thread_sensitive=True)
    while chunk := await take():
        yield chunk


def _record_csv(
    request: HttpRequest, dispatch: Dispatch, described: selectors.DeliveredItem, deliveries
) -> StreamingHttpResponse:
    """Every delivery of the dispatch as CSV, streamed: rows are read from a database cursor in
    chunks and written as they come, so memory stays fixed whatever the number of recipients."""
    number = described.summary.number if described.summary else f"{dispatch.item_type}#{dispatch.item_id}"
    lines = _csv_rows(dispatch, number, deliveries)
    content = _lines_in_chunks_async(lines) if isinstance(request, ASGIRequest) else _lines_in_chunks(lines)
    response = StreamingHttpResponse(content, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="dissemination-record-{dispatch.pk}.csv"'
    return response


@login_required
def item_record(request: HttpRequest, item_type: str, item_id: int) -> HttpResponse:
    try:
        record = selectors.item_record(person=request.user, item_type_label=item_type, item_id=item_id)
    except LookupError:
        raise Http404("No such item.") from None
    return render(request, "dissemination/item_record.html", {"record": record})
