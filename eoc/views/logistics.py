"""Situation reports, the resource request board (ICS-213RR) and tasks of an incident."""

from __future__ import annotations

from itertools import groupby

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from .. import selectors
from ..forms import ResourceRequestForm, SituationReportForm, TaskForm, TransitionForm, add_service_errors
from ..models import ResourceRequest, SituationReport, Task
from ..services.incidents import check_may_coordinate
from ..services.logistics import (
    REQUEST_TRANSITIONS,
    SITREP_SECTIONS,
    TASK_TRANSITIONS,
    assign_task,
    change_task_status,
    edit_situation_report,
    move_resource_request,
    publish_situation_report,
    request_resource,
    write_situation_report,
)
from .common import (
    incident_or_404,
    is_coordinator_of,
    paginate,
    report_or_404,
    request_or_404,
    task_or_404,
)

R = ResourceRequest.State

# Steps that need more than a click: an agency to assign, a reason to deny or cancel.
STEPS_WITH_DETAILS = {R.ASSIGNED, R.DENIED, R.CANCELLED}
STEP_VERBS = {
    R.APPROVED: "Approve",
    R.DENIED: "Deny…",
    R.SOURCING: "Start sourcing",
    R.ASSIGNED: "Assign…",
    R.EN_ROUTE: "Mark en route",
    R.DELIVERED: "Mark delivered",
    R.DEMOBILISED: "Demobilise",
    R.CANCELLED: "Cancel…",
}
STATE_ORDER = list(R.values)


# --- Situation reports -------------------------------------------------------------------------


@login_required
def sitrep_list(request: HttpRequest, pk: int) -> HttpResponse:
    incident = incident_or_404(request.user, pk)
    return render(
        request,
        "eoc/sitrep_list.html",
        {
            "incident": incident,
            "page": paginate(request, selectors.situation_reports(incident=incident)),
            "coordinating": is_coordinator_of(request.user, incident.lead_eoc_id) and not incident.is_closed,
        },
    )


@login_required
def sitrep_create(request: HttpRequest, pk: int) -> HttpResponse:
    """Write a situation report for an operational period, the current one unless another is chosen."""
    incident = incident_or_404(request.user, pk)
    check_may_coordinate(request.user, incident)
    periods = incident.operational_periods.order_by("-number")
    current = periods.first()
    form = SituationReportForm(
        request.POST or None, periods=periods, initial={"operational_period": current.pk if current else None}
    )
    if request.method == "POST" and form.is_valid():
        try:
            report = write_situation_report(
                incident=incident,
                period=form.cleaned_data["operational_period"],
                by=request.user,
                sections=form.sections(),
            )
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, f"Situation report {report.number} saved as a draft.")
            return redirect("eoc:sitrep-detail", pk=report.pk)
    return render(request, "eoc/sitrep_form.html", {"incident": incident, "form": form, "report": None})


@login_required
def sitrep_detail(request: HttpRequest, pk: int) -> HttpResponse:
    report = report_or_404(request.user, pk)
    return render(
        request,
        "eoc/sitrep_detail.html",
        {
            "report": report,
            "incident": report.incident,
            "coordinating": is_coordinator_of(request.user, report.incident.lead_eoc_id),
        },
    )


@login_required
def sitrep_edit(request: HttpRequest, pk: int) -> HttpResponse:
    report = report_or_404(request.user, pk)
    check_may_coordinate(request.user, report.incident)
    if report.state != SituationReport.State.DRAFT:
        messages.error(request, "A published situation report never changes: write the next one.")
        return redirect("eoc:sitrep-detail", pk=report.pk)
    initial = {name: getattr(report, name) for name in SITREP_SECTIONS}
    form = SituationReportForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            edit_situation_report(report=report, by=request.user, sections=form.sections())
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, f"Situation report {report.number} saved.")
            return redirect("eoc:sitrep-detail", pk=report.pk)
    return render(request, "eoc/sitrep_form.html", {"incident": report.incident, "form": form, "report": report})


@login_required
@require_POST
def sitrep_publish(request: HttpRequest, pk: int) -> HttpResponse:
    report = report_or_404(request.user, pk)
    try:
        report = publish_situation_report(report=report, by=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, f"Situation report {report.number} published. It no longer changes.")
    return redirect("eoc:sitrep-detail", pk=report.pk)


@login_required
def sitrep_print(request: HttpRequest, pk: int) -> HttpResponse:
    report = report_or_404(request.user, pk)
    return render(request, "eoc/sitrep_print.html", {"report": report, "incident": report.incident})


# --- Resource requests (ICS-213RR) -----------------------------------------------------------------


def _next_steps(request_row: ResourceRequest) -> list[dict]:
    allowed = REQUEST_TRANSITIONS.get(request_row.state, set())
    return [
        {"state": state, "verb": STEP_VERBS[state], "needs_details": state in STEPS_WITH_DETAILS}
        for state in STATE_ORDER
        if state in allowed
    ]


@login_required
def resource_board(request: HttpRequest, pk: int) -> HttpResponse:
    """The incident's requests grouped by state along ICS-213RR; overdue ones stand out."""
    incident = incident_or_404(request.user, pk)
    coordinating = is_coordinator_of(request.user, incident.lead_eoc_id)
    page = paginate(request, selectors.resource_board(incident=incident), per_page=selectors.BOARD_PAGE_SIZE)
    rows = list(page.object_list)
    for row in rows:
        row.next_steps = _next_steps(row) if coordinating else []
    columns = [
        {"state": state, "label": R(state).label, "requests": list(group)}
        for state, group in groupby(rows, key=lambda row: row.state)
    ]
    return render(
        request,
        "eoc/resource_board.html",
        {
            "incident": incident,
            "page": page,
            "columns": columns,
            "coordinating": coordinating,
            "may_request": coordinating and not incident.is_closed,
        },
    )


@login_required
def resource_request_create(request: HttpRequest, pk: int) -> HttpResponse:
    incident = incident_or_404(request.user, pk)
    check_may_coordinate(request.user, incident)
    form = ResourceRequestForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            created = request_resource(incident=incident, by=request.user, details=form.to_details())
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, f"Resource request {created.number} filed.")
            return redirect("eoc:resource-board", pk=incident.pk)
    return render(request, "eoc/resource_request_form.html", {"incident": incident, "form": form})


@login_required
def resource_request_transition(request: HttpRequest, pk: int) -> HttpResponse:
    """Move a request to its next state: one click from the board, or this form when the step needs
    an agency or a note (and whenever a step is refused, to say why)."""
    resource_request = request_or_404(request.user, pk)
    incident = resource_request.incident
    check_may_coordinate(request.user, incident)
    next_states = [step["state"] for step in _next_steps(resource_request)]
    data = request.POST if request.method == "POST" else None
    chosen = request.GET.get("state") if request.GET.get("state") in next_states else None
    form = TransitionForm(data, initial={"state": chosen}, next_states=next_states)
    if request.method == "POST":
        # Validated against every state, so that a stale board's refused step is explained by the service.
        form.fields["state"].choices = R.choices
        if form.is_valid():
            try:
                moved = move_resource_request(
                    request=resource_request,
                    by=request.user,
                    state=form.cleaned_data["state"],
                    note=form.cleaned_data["note"],
                    assigned_agency=form.cleaned_data["assigned_agency"],
                )
            except ValidationError as error:
                add_service_errors(form, error)
            else:
                messages.success(request, f"Request {moved.number} is now {moved.get_state_display().lower()}.")
                return redirect(f"{incident_board_url(incident.pk)}#request-{moved.pk}")
        form.fields["state"].choices = [(s, R(s).label) for s in next_states] or R.choices
    return render(
        request,
        "eoc/resource_request_transition.html",
        {
            "incident": incident,
            "resource_request": resource_request,
            "form": form,
            "next_states": next_states,
            "chosen": chosen,
            "events": resource_request.events.select_related("by").order_by("at", "pk"),
        },
    )


def incident_board_url(incident_pk: int) -> str:
    return reverse("eoc:resource-board", args=[incident_pk])


# --- Tasks ------------------------------------------------------------------------------------


TASK_VERBS = {
    Task.Status.OPEN: "Reopen",
    Task.Status.IN_PROGRESS: "Start",
    Task.Status.DONE: "Mark done",
    Task.Status.CANCELLED: "Cancel",
}


@login_required
def task_list(request: HttpRequest, pk: int) -> HttpResponse:
    incident = incident_or_404(request.user, pk)
    status = request.GET.get("status", "")
    status = status if status in Task.Status.values else ""
    page = paginate(request, selectors.task_rows(incident=incident, status=status))
    for task in page.object_list:
        may_change = request.user.agency_id in (incident.lead_eoc_id, task.assigned_agency_id)
        allowed = TASK_TRANSITIONS.get(task.status, set()) if may_change else set()
        task.next_steps = [(value, TASK_VERBS[value]) for value in Task.Status.values if value in allowed]
    return render(
        request,
        "eoc/task_list.html",
        {
            "incident": incident,
            "page": page,
            "status": status,
            "statuses": Task.Status.choices,
            "may_assign": is_coordinator_of(request.user, incident.lead_eoc_id) and not incident.is_closed,
        },
    )


@login_required
def task_create(request: HttpRequest, pk: int) -> HttpResponse:
    incident = incident_or_404(request.user, pk)
    check_may_coordinate(request.user, incident)
    form = TaskForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            task = assign_task(incident=incident, by=request.user, details=form.to_details())
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, f"Task “{task.title}” assigned.")
            return redirect("eoc:task-list", pk=incident.pk)
    return render(request, "eoc/task_form.html", {"incident": incident, "form": form})


@login_required
@require_POST
def task_status(request: HttpRequest, pk: int) -> HttpResponse:
    task = task_or_404(request.user, pk)
    try:
        task = change_task_status(task=task, by=request.user, status=request.POST.get("status", ""))
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, f"Task “{task.title}” is now {task.get_status_display().lower()}.")
    return redirect("eoc:task-list", pk=task.incident_id)
