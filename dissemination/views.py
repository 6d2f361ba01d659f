"""The dissemination pages: a person's inbox and email preference, the dissemination record of what an
agency sent, and an agency's channels and webhook endpoints."""

from __future__ import annotations

import csv
from collections.abc import Iterator

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Page, Paginator
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from agencies.models import Agency

from . import inbox as services
from . import selectors
from .forms import (
    AgencyChannelsForm,
    InboxFilterForm,
    NotificationPreferenceForm,
    RecordFilterForm,
    WebhookEndpointForm,
    WebhookFormatForm,
    add_service_errors,
)
from .models import Delivery, Dispatch, WebhookEndpoint
from .services import create_webhook_endpoint, retry_delivery

PAGE_SIZE = 25
RECORD_PAGE_SIZE = 50
CSV_CHUNK = 2000


def paginate(request: HttpRequest, rows, per_page: int = PAGE_SIZE) -> Page:
    return Paginator(rows, per_page).get_page(request.GET.get("page"))


def _back_to(request: HttpRequest, fallback: str) -> str:
    """Where a form's `next` field says to go back to, if it is a page of this site."""
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return target
    return fallback


# --- Inbox ---------------------------------------------------------------------------------------


@login_required
def inbox(request: HttpRequest) -> HttpResponse:
    form = InboxFilterForm(request.GET)
    form.is_valid()
    page = paginate(request, selectors.inbox(person=request.user, filters=form.to_filters()))
    return render(
        request,
        "dissemination/inbox.html",
        {"form": form, "page": page, "rows": selectors.with_items(page.object_list)},
    )


def _own_delivery_or_404(request: HttpRequest, pk: int) -> Delivery:
    try:
        return selectors.inbox_delivery(person=request.user, pk=pk)
    except Delivery.DoesNotExist:
        raise Http404("No such delivery in your inbox.") from None


@login_required
def inbox_open(request: HttpRequest, pk: int) -> HttpResponse:
    """Open the item a delivery carried: the delivery is read from now on."""
    delivery = _own_delivery_or_404(request, pk)
    services.mark_read(delivery=delivery, by=request.user)
    [(_, item)] = selectors.with_items([delivery])
    if not item.path:
        messages.warning(request, "This item is no longer on the site.")
        return redirect("dissemination:inbox")
    return redirect(item.path)


@login_required
@require_POST
def inbox_acknowledge(request: HttpRequest, pk: int) -> HttpResponse:
    delivery = _own_delivery_or_404(request, pk)
    services.acknowledge_delivery(delivery=delivery, by=request.user)
    [(_, item)] = selectors.with_items([delivery])
    number = item.summary.number if item.summary else "the item"
    messages.success(request, f"Acknowledged {number}. Its originator can see that you did.")
    return redirect(_back_to(request, reverse("dissemination:inbox")))


@login_required
def preferences(request: HttpRequest) -> HttpResponse:
    person = request.user
    if request.method == "POST":
        form = NotificationPreferenceForm(request.POST)
        if form.is_valid():
            try:
                services.set_notification_preference(person=person, email_mode=form.cleaned_data["email_mode"])
            except ValidationError as error:
                add_service_errors(form, error)
            else:
                messages.success(request, "Your email preference is saved.")
                return redirect("dissemination:preferences")
    else:
        form = NotificationPreferenceForm(initial={"email_mode": selectors.email_mode_of(person)})
    return render(
        request,
        "dissemination/preferences.html",
        {
            "form": form,
            "manages_agency": selectors.may_manage_agency(person, person.agency_id),
            "agency_email_enabled": selectors.agency_channels(person.agency).email_enabled,
        },
    )


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
        return _record_csv(dispatch, described, deliveries)
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
            [number, action, person, username or "", agency or "", channel, url or "", state, text]
            + [_iso(time) for time in times]
            + [attempts, _spreadsheet_safe(error)]
        )


def _spreadsheet_safe(text: str) -> str:
    """A receiver's error text cannot start a formula when the file is opened in a spreadsheet."""
    return f"'{text}" if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _record_csv(dispatch: Dispatch, described: selectors.DeliveredItem, deliveries) -> StreamingHttpResponse:
    """Every delivery of the dispatch as CSV, streamed: rows are read in chunks, never all in memory."""
    number = described.summary.number if described.summary else f"{dispatch.item_type}#{dispatch.item_id}"
    response = StreamingHttpResponse(_csv_rows(dispatch, number, deliveries), content_type="text/csv; charset=utf-8")
    filename = f"dissemination-record-{dispatch.pk}.csv"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@login_required
def item_record(request: HttpRequest, item_type: str, item_id: int) -> HttpResponse:
    try:
        record = selectors.item_record(person=request.user, item_type_label=item_type, item_id=item_id)
    except LookupError:
        raise Http404("No such item.") from None
    return render(request, "dissemination/item_record.html", {"record": record})


# --- Agency channels -----------------------------------------------------------------------------


def _managed_agency_or_404(request: HttpRequest, agency_id: int) -> Agency:
    try:
        return selectors.managed_agency(person=request.user, pk=agency_id)
    except Agency.DoesNotExist:
        raise Http404("No such agency.") from None


@login_required
def agency_channels(request: HttpRequest, agency_id: int) -> HttpResponse:
    agency = _managed_agency_or_404(request, agency_id)
    if request.method == "POST":
        form = AgencyChannelsForm(request.POST)
        if form.is_valid():
            email_enabled = form.cleaned_data["email_enabled"]
            services.set_agency_channels(agency=agency, email_enabled=email_enabled, by=request.user)
            messages.success(request, f"The channels of {agency.name} are saved.")
            return redirect("dissemination:agency-channels", agency_id=agency.pk)
    else:
        form = AgencyChannelsForm(initial={"email_enabled": selectors.agency_channels(agency).email_enabled})
    return render(request, "dissemination/agency_channels.html", {"agency": agency, "form": form})


# --- Webhook endpoints ---------------------------------------------------------------------------

NEW_ENDPOINT_SESSION_KEY = "dissemination_new_endpoint"


def _may_manage_webhooks(request: HttpRequest) -> None:
    person = request.user
    if not (person.is_system_admin or person.is_agency_admin):
        raise PermissionDenied("Only agency admins manage webhook endpoints.")


def _endpoint_or_404(request: HttpRequest, pk: int) -> WebhookEndpoint:
    try:
        return selectors.managed_endpoint(person=request.user, pk=pk)
    except WebhookEndpoint.DoesNotExist:
        raise Http404("No such webhook endpoint.") from None


@login_required
def webhook_list(request: HttpRequest) -> HttpResponse:
    _may_manage_webhooks(request)
    page = paginate(request, selectors.webhook_endpoints(person=request.user))
    return render(request, "dissemination/webhook_list.html", {"page": page})


@login_required
def webhook_create(request: HttpRequest) -> HttpResponse:
    _may_manage_webhooks(request)
    person = request.user
    for_all_agencies = person.is_system_admin
    if request.method == "POST":
        form = WebhookEndpointForm(request.POST, for_all_agencies=for_all_agencies)
        if form.is_valid():
            agency = form.cleaned_data.get("agency") or person.agency
            try:
                endpoint, secret = create_webhook_endpoint(
                    agency=agency,
                    url=form.cleaned_data["url"],
                    payload_format=form.cleaned_data["payload_format"],
                    by=person,
                )
            except ValidationError as error:
                add_service_errors(form, error)
            else:
                # Shown once, on the page this redirects to, and never again.
                request.session[NEW_ENDPOINT_SESSION_KEY] = {"endpoint": endpoint.pk, "secret": secret}
                return redirect("dissemination:webhook-detail", pk=endpoint.pk)
    else:
        form = WebhookEndpointForm(
            initial={"payload_format": WebhookEndpoint.Format.JSON, "agency": person.agency_id},
            for_all_agencies=for_all_agencies,
        )
    return render(request, "dissemination/webhook_form.html", {"form": form})


def _webhook_page(request: HttpRequest, endpoint: WebhookEndpoint, format_form: WebhookFormatForm | None = None):
    new = request.session.pop(NEW_ENDPOINT_SESSION_KEY, None)
    secret = new["secret"] if new and new.get("endpoint") == endpoint.pk else None
    page = paginate(request, selectors.failed_deliveries(endpoint))
    return render(
        request,
        "dissemination/webhook_detail.html",
        {
            "endpoint": endpoint,
            "secret": secret,
            "format_form": format_form or WebhookFormatForm(initial={"payload_format": endpoint.payload_format}),
            "page": page,
            "rows": selectors.with_items(page.object_list),
        },
    )


@login_required
def webhook_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _webhook_page(request, _endpoint_or_404(request, pk))


@login_required
@require_POST
def webhook_set_active(request: HttpRequest, pk: int) -> HttpResponse:
    endpoint = _endpoint_or_404(request, pk)
    is_active = request.POST.get("is_active") == "true"
    services.set_webhook_endpoint_active(endpoint=endpoint, is_active=is_active, by=request.user)
    if is_active:
        messages.success(request, "The endpoint is switched on: new items reach it again.")
    else:
        messages.success(request, "The endpoint is switched off: nothing more is sent to it.")
    return redirect("dissemination:webhook-detail", pk=endpoint.pk)


@login_required
@require_POST
def webhook_format(request: HttpRequest, pk: int) -> HttpResponse:
    endpoint = _endpoint_or_404(request, pk)
    form = WebhookFormatForm(request.POST)
    if form.is_valid():
        try:
            services.set_webhook_payload_format(
                endpoint=endpoint, payload_format=form.cleaned_data["payload_format"], by=request.user
            )
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, f"The endpoint receives {endpoint.get_payload_format_display()} from now on.")
            return redirect("dissemination:webhook-detail", pk=endpoint.pk)
    return _webhook_page(request, endpoint, format_form=form)


@login_required
@require_POST
def webhook_test(request: HttpRequest, pk: int) -> HttpResponse:
    endpoint = _endpoint_or_404(request, pk)
    try:
        services.send_test_webhook(endpoint=endpoint, by=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(
            request,
            "A signed test message is on its way. If the receiver refuses it, it appears below under "
            "failed deliveries with the reason, after its retries.",
        )
    return redirect("dissemination:webhook-detail", pk=endpoint.pk)


@login_required
@require_POST
def delivery_retry(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        delivery = selectors.managed_delivery(person=request.user, pk=pk)
    except Delivery.DoesNotExist:
        raise Http404("No such delivery.") from None
    try:
        retry_delivery(delivery=delivery, by=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, "The delivery is queued to be sent again.")
    return redirect("dissemination:webhook-detail", pk=delivery.endpoint_id)
