"""Incident pages: the list with its filters, opening an incident, and the incident page that brings
its feed, operational periods, reports, requests and tasks together."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from agencies.audit import ItemRef, record_audit
from agencies.models import AuditAction, AuditOutcome, Role

from .. import selectors
from ..forms import (
    CapUploadForm,
    EntryForm,
    IncidentFilterForm,
    IncidentForm,
    OperationalPeriodForm,
    add_service_errors,
)
from ..models import Incident
from ..services.cap_import import import_cap_alert
from ..services.feed import may_post_to, post_entry
from ..services.incidents import (
    STATUS_TRANSITIONS,
    change_incident_status,
    check_may_coordinate,
    open_incident,
    start_operational_period,
)
from .common import incident_or_404, is_coordinator_of, paginate
from .feed import feed_address, feed_context

# The order in which status buttons appear.
STATUS_ORDER = [Incident.Status.MONITORING, Incident.Status.ACTIVE, Incident.Status.RECOVERY, Incident.Status.CLOSED]


def may_open_incidents(person) -> bool:
    return person.agency.is_eoc and person.has_role(Role.EOC_COORDINATOR)


@login_required
def incident_list(request: HttpRequest) -> HttpResponse:
    form = IncidentFilterForm(request.GET or None)
    filters = form.filters()
    page = paginate(request, selectors.incident_rows(person=request.user, **filters))
    return render(
        request,
        "eoc/incident_list.html",
        {
            "form": form,
            "filters": filters,
            "page": page,
            "may_open": may_open_incidents(request.user),
            "own_eoc": request.user.agency if request.user.agency.is_eoc else None,
        },
    )


@login_required
def incident_create(request: HttpRequest) -> HttpResponse:
    if not may_open_incidents(request.user):
        raise PermissionDenied("Incidents are opened by EOC coordinators.")
    form = IncidentForm(request.POST or None, person=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            incident = open_incident(by=request.user, details=form.to_details())
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, f"Incident {incident.number} opened, with its first operational period.")
            return redirect("eoc:incident-detail", pk=incident.pk)
    return render(request, "eoc/incident_form.html", {"form": form})


def incident_page(request: HttpRequest, pk: int, **forms) -> HttpResponse:
    """The incident page; a form given here (bound, with its errors) replaces the page's empty one."""
    try:
        incident = selectors.incident_detail(person=request.user, pk=pk)
    except Incident.DoesNotExist:
        record_audit(
            action=AuditAction.VIEW, item=ItemRef.of(Incident, pk), outcome=AuditOutcome.DENIED, request=request
        )
        raise Http404("No such incident.") from None
    coordinating = is_coordinator_of(request.user, incident.lead_eoc_id)
    periods = list(incident.operational_periods.all())
    feed = feed_context(request, incident=incident, entry_form=forms.get("entry_form"))
    is_open = not incident.is_closed
    allowed = STATUS_TRANSITIONS.get(incident.status, set())
    context = {
        "incident": incident,
        "coordinating": coordinating,
        "periods": periods,
        "current_period": periods[0] if periods else None,
        "next_statuses": [Incident.Status(s) for s in STATUS_ORDER if s in allowed] if coordinating else [],
        "period_form": forms.get("period_form")
        or (OperationalPeriodForm(initial=OperationalPeriodForm.next_period_initial()) if coordinating else None),
        "cap_form": forms.get("cap_form") or (CapUploadForm() if feed["may_post"] else None),
        "summary": selectors.incident_summary(incident=incident),
        "is_open": is_open,
        **feed,
    }
    return render(request, "eoc/incident_detail.html", context)


@login_required
def incident_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return incident_page(request, pk)


@login_required
@require_POST
def incident_status(request: HttpRequest, pk: int) -> HttpResponse:
    incident = incident_or_404(request.user, pk)
    check_may_coordinate(request.user, incident)
    status = request.POST.get("status", "")
    try:
        incident = change_incident_status(
            incident=incident, by=request.user, status=status, note=request.POST.get("note", "")[:500]
        )
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, f"Incident {incident.number} is now {incident.get_status_display().lower()}.")
    return redirect("eoc:incident-detail", pk=incident.pk)


@login_required
@require_POST
def operational_period_start(request: HttpRequest, pk: int) -> HttpResponse:
    incident = incident_or_404(request.user, pk)
    check_may_coordinate(request.user, incident)
    form = OperationalPeriodForm(request.POST)
    if form.is_valid():
        try:
            period = start_operational_period(incident=incident, by=request.user, **form.cleaned_data)
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, f"Operational period {period.number} started; the previous one is closed.")
            return redirect("eoc:incident-detail", pk=incident.pk)
    return incident_page(request, pk, period_form=form)


@login_required
@require_POST
def cap_upload(request: HttpRequest, pk: int) -> HttpResponse:
    incident = incident_or_404(request.user, pk)
    if not may_post_to(request.user, eoc=incident.lead_eoc, incident=incident):
        raise PermissionDenied("Only coordinators of the agencies taking part in the incident add alerts to its feed.")
    form = CapUploadForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            entry, created = import_cap_alert(by=request.user, data=form.cleaned_data["document"], incident=incident)
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            if created:
                messages.success(request, f"Alert imported as the warning entry “{entry.title}”.")
            else:
                messages.info(request, f"This alert was already imported, as “{entry.title}”: nothing was added.")
            return redirect("eoc:incident-detail", pk=incident.pk)
    return incident_page(request, pk, cap_form=form)


@login_required
@require_POST
def entry_create(request: HttpRequest, pk: int) -> HttpResponse:
    """Post an entry to the incident's feed; a refusal redisplays the page with the form as typed."""
    incident = incident_or_404(request.user, pk)
    if not may_post_to(request.user, eoc=incident.lead_eoc, incident=incident):
        raise PermissionDenied("Only coordinators of the agencies taking part in the incident post to its feed.")
    form = EntryForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            entry = post_entry(
                by=request.user,
                content=form.to_content(),
                incident=incident,
                attachments=form.cleaned_data["attachments"],
            )
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, f"Posted “{entry.title}”.")
            return redirect(feed_address(entry))
    return incident_page(request, pk, entry_form=form)
