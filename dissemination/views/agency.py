"""An agency's settings: the channels its people are reached by, and its webhook endpoints (a secret
shown once, switching, format, a test message, and retrying failed deliveries)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from agencies.models import Agency

from .. import inbox as services
from .. import selectors
from ..forms import AgencyChannelsForm, WebhookEndpointForm, WebhookFormatForm, add_service_errors
from ..models import Delivery, WebhookEndpoint
from ..services import create_webhook_endpoint, retry_delivery
from .common import paginate

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
