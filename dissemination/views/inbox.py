"""A person's inbox: the list with its filters, opening and acknowledging an item, and the email preference."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from agencies.audit import ItemRef, record_audit, recording_denial
from agencies.models import AuditAction

from .. import inbox as services
from .. import selectors
from ..forms import InboxFilterForm, NotificationPreferenceForm, add_service_errors
from ..models import Delivery
from .common import back_to, paginate

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
    with recording_denial(request, action=AuditAction.OPEN, item=ItemRef.of(Delivery, pk)):
        delivery = _own_delivery_or_404(request, pk)
    services.mark_read(delivery=delivery, by=request.user)
    [(_, item)] = selectors.with_items([delivery])
    dispatch = delivery.dispatch
    record_audit(
        action=AuditAction.OPEN,
        item=ItemRef(dispatch.item_type, dispatch.item_id, item.summary.number if item.summary else ""),
        request=request,
        detail={"delivery": delivery.pk, "full_text": delivery.is_full_text},
    )
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
    return redirect(back_to(request, reverse("dissemination:inbox")))


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
