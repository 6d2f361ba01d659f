"""A liaison officer's manual relays (a product to an EOC, a feed entry to the fusion center), with the
marking check shown before relaying; and a request for information raised from an incident."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse

from eoc.models import FeedEntry, Incident
from sharing.models import ThreatProduct

from .. import selectors, services
from ..forms import EntryRelayForm, ManualRelayForm, RaiseRequestForm, add_service_errors
from ..models import Direction
from ..policy import MarkingCheck
from .common import show_refusal


def _check_may_relay(person) -> None:
    if not selectors.may_relay(person):
        raise PermissionDenied("Only liaison officers relay items.")


def _id(request: HttpRequest, name: str) -> int | None:
    value = request.POST.get(name) or request.GET.get(name) or ""
    return int(value) if value.isdigit() and int(value) > 0 else None


def _product_or_404(person, pk: int) -> ThreatProduct:
    product = (
        ThreatProduct.objects.visible_to(person)
        .select_related("originating_agency")
        .prefetch_related("audience_agencies")
        .filter(pk=pk)
        .first()
    )
    if product is None:
        raise Http404("No such product.")
    return product


def _entry_or_404(person, pk: int) -> FeedEntry:
    entry = (
        FeedEntry.objects.visible_to(person)
        .select_related("incident__lead_eoc", "eoc")
        .prefetch_related("audience_agencies")
        .filter(pk=pk)
        .first()
    )
    if entry is None:
        raise Http404("No such entry.")
    return entry


def _product_check(product: ThreatProduct, eoc) -> MarkingCheck | None:
    if eoc is None:
        return None
    return services.check_source(product, direction=Direction.TO_EOC, eoc=eoc, fusion_center=product.originating_agency)


def _entry_target(entry: FeedEntry):
    return entry.incident.lead_eoc if entry.incident_id else entry.eoc


@login_required
def relay_form(request: HttpRequest) -> HttpResponse:
    person = request.user
    _check_may_relay(person)
    product_id, entry_id = _id(request, "product"), _id(request, "entry")
    if product_id:
        return _relay_product(request, _product_or_404(person, product_id))
    if entry_id:
        return _relay_entry(request, _entry_or_404(person, entry_id))
    return render(request, "liaison/relay_start.html")


def _relay_product(request: HttpRequest, product: ThreatProduct) -> HttpResponse:
    person = request.user
    data = request.POST if request.method == "POST" else (request.GET if "eoc" in request.GET else None)
    form = ManualRelayForm(data, check_url=reverse("liaison:relay-check"))
    check = None
    if form.is_bound and form.is_valid():
        eoc = form.cleaned_data["eoc"]
        check = _product_check(product, eoc)
        if request.method == "POST" and request.POST.get("action") == "relay":
            try:
                relay = services.relay_manually(
                    by=person,
                    source=product,
                    eoc=eoc,
                    incident=form.cleaned_data["incident"],
                    note=form.cleaned_data["note"],
                )
            except ValidationError as error:
                add_service_errors(form, error)
            except PermissionDenied as error:
                show_refusal(request, error)
            else:
                messages.success(request, f"Relayed: {relay.source_label} → {relay.target_label}.")
                return redirect("liaison:relay-detail", pk=relay.pk)
    return render(request, "liaison/relay_form.html", {"product": product, "entry": None, "form": form, "check": check})


def _relay_entry(request: HttpRequest, entry: FeedEntry) -> HttpResponse:
    person = request.user
    form = EntryRelayForm(request.POST or None)
    fusion_center = person.agency if person.agency.is_fusion_center else None
    check = None
    if fusion_center is not None:
        check = services.check_source(
            entry, direction=Direction.TO_FUSION_CENTER, eoc=_entry_target(entry), fusion_center=fusion_center
        )
    if request.method == "POST" and form.is_valid():
        try:
            relay = services.relay_manually(
                by=person,
                source=entry,
                eoc=_entry_target(entry),
                incident=entry.incident,
                note=form.cleaned_data["note"],
                direction=Direction.TO_FUSION_CENTER,
            )
        except ValidationError as error:
            add_service_errors(form, error)
        except PermissionDenied as error:
            show_refusal(request, error)
        else:
            messages.success(request, f"Relayed to {relay.fusion_center.name}: {relay.source_label}.")
            return redirect("liaison:relay-detail", pk=relay.pk)
    return render(
        request,
        "liaison/relay_form.html",
        {"product": None, "entry": entry, "form": form, "check": check, "fusion_center": fusion_center},
    )


@login_required
def relay_check(request: HttpRequest) -> HttpResponse:
    """The marking check of relaying a product to the chosen EOC, as a fragment for the relay form."""
    person = request.user
    _check_may_relay(person)
    product_id = _id(request, "product")
    if product_id is None:
        raise Http404("Say which product to check.")
    product = _product_or_404(person, product_id)
    form = ManualRelayForm(request.GET)
    eoc = form.cleaned_data["eoc"] if form.is_valid() else None
    return render(
        request, "liaison/includes/marking_check.html", {"check": _product_check(product, eoc), "target": eoc}
    )


@login_required
def raise_request(request: HttpRequest, pk: int) -> HttpResponse:
    person = request.user
    incident = (
        Incident.objects.visible_to(person)
        .select_related("lead_eoc")
        .prefetch_related("supporting_agencies")
        .filter(pk=pk)
        .first()
    )
    if incident is None:
        raise Http404("No such incident.")
    if not selectors.may_raise_request(person, incident):
        raise PermissionDenied("Coordinators of the agencies taking part in an open incident raise requests from it.")
    form = RaiseRequestForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            rfi = services.raise_request(
                by=person,
                incident=incident,
                question=data["question"],
                due_date=data["due_date"],
                priority=data["priority"],
            )
        except ValidationError as error:
            add_service_errors(form, error)
        except PermissionDenied as error:
            show_refusal(request, error)
            return redirect("eoc:incident-detail", pk=incident.pk)
        else:
            messages.success(
                request,
                f"Request {rfi.number} sent to {rfi.fusion_center.name}; "
                "the answer will come into this incident's feed.",
            )
            return redirect("eoc:incident-detail", pk=incident.pk)
    return render(request, "liaison/raise_request.html", {"incident": incident, "form": form})
