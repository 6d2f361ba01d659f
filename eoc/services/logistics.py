"""Writes of situation reports, resource requests (ICS-213RR) and tasks."""

from __future__ import annotations

from dataclasses import dataclass

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from agencies.models import Agency, User
from dissemination.services import record_event

from ..models import Incident, OperationalPeriod, ResourceRequest, ResourceRequestEvent, SituationReport, Task
from .incidents import check_may_coordinate

R = ResourceRequest.State

# ICS-213RR: request > approve > source > assign > en route > deliver > demobilise, or deny/cancel.
REQUEST_TRANSITIONS: dict[str, set[str]] = {
    R.REQUESTED: {R.APPROVED, R.DENIED, R.CANCELLED},
    R.APPROVED: {R.SOURCING, R.CANCELLED},
    R.SOURCING: {R.ASSIGNED, R.CANCELLED},
    R.ASSIGNED: {R.EN_ROUTE, R.CANCELLED},
    R.EN_ROUTE: {R.DELIVERED, R.CANCELLED},
    R.DELIVERED: {R.DEMOBILISED},
    R.DEMOBILISED: set(),
    R.DENIED: set(),
    R.CANCELLED: set(),
}

SITREP_SECTIONS = (
    "situation_summary",
    "actions_taken",
    "resources",
    "casualties_damage",
    "weather",
    "public_information",
    "next_steps",
)


def _check_open(incident: Incident) -> None:
    if incident.is_closed:
        raise ValidationError({"incident": f"Incident {incident.number} is closed."})


# --- Situation reports -------------------------------------------------------------------------


def write_situation_report(
    *, incident: Incident, period: OperationalPeriod, by: User, sections: dict[str, str]
) -> SituationReport:
    """Start a situation report (draft) for an operational period that is still open."""
    check_may_coordinate(by, incident)
    _check_open(incident)
    if period.incident_id != incident.pk:
        raise ValidationError({"operational_period": "This operational period belongs to another incident."})
    if period.is_closed:
        raise ValidationError(
            {
                "operational_period": f"Operational period {period.number} is closed: write the report for the "
                "current period."
            }
        )
    unknown = set(sections) - set(SITREP_SECTIONS)
    if unknown:
        raise ValidationError({name: "Not a section of a situation report." for name in unknown})
    with transaction.atomic(durable=True):
        Incident.objects.select_for_update().get(pk=incident.pk)
        number = (incident.situation_reports.order_by("-number").values_list("number", flat=True).first() or 0) + 1
        return SituationReport.objects.create(
            incident=incident, operational_period=period, number=number, author=by, **sections
        )


def edit_situation_report(*, report: SituationReport, by: User, sections: dict[str, str]) -> SituationReport:
    check_may_coordinate(by, report.incident)
    if report.state != SituationReport.State.DRAFT:
        raise ValidationError({"state": "A published situation report never changes: write the next one."})
    unknown = set(sections) - set(SITREP_SECTIONS)
    if unknown:
        raise ValidationError({name: "Not a section of a situation report." for name in unknown})
    with transaction.atomic(durable=True):
        report = SituationReport.objects.select_for_update().get(pk=report.pk)
        if report.state != SituationReport.State.DRAFT:
            raise ValidationError({"state": "A published situation report never changes."})
        for name, value in sections.items():
            setattr(report, name, value)
        report.save()
    return report


def publish_situation_report(*, report: SituationReport, by: User) -> SituationReport:
    check_may_coordinate(by, report.incident)
    with transaction.atomic(durable=True):
        report = SituationReport.objects.select_for_update().get(pk=report.pk)
        if report.state != SituationReport.State.DRAFT:
            raise ValidationError({"state": "This situation report is already published."})
        if not report.situation_summary.strip():
            raise ValidationError({"situation_summary": "A situation report needs its situation summary."})
        report.state = SituationReport.State.PUBLISHED
        report.published_at = timezone.now()
        report.save(update_fields=["state", "published_at"])
        record_event(
            kind="situation_report_published",
            subject=report,
            payload={"incident_id": report.incident_id, "eoc_id": report.incident.lead_eoc_id},
        )
    return report


# --- Resource requests -------------------------------------------------------------------------


@dataclass
class RequestDetails:
    resource_kind: str
    quantity: int
    needed_by: object
    deliver_to: str
    nims_type: str = ""
    priority: str = ResourceRequest.Priority.ROUTINE


def request_resource(*, incident: Incident, by: User, details: RequestDetails) -> ResourceRequest:
    """File an ICS-213RR resource request for the incident."""
    check_may_coordinate(by, incident)
    _check_open(incident)
    errors: dict[str, str] = {}
    if not details.resource_kind.strip():
        errors["resource_kind"] = "Say what resource is needed."
    if not isinstance(details.quantity, int) or details.quantity < 1:
        errors["quantity"] = "The quantity is a whole number, at least 1."
    if not details.deliver_to.strip():
        errors["deliver_to"] = "Say where to deliver it."
    if details.priority not in ResourceRequest.Priority.values:
        errors["priority"] = "Choose a priority."
    if details.needed_by is None:
        errors["needed_by"] = "Say when it is needed."
    if errors:
        raise ValidationError(errors)
    with transaction.atomic(durable=True):
        Incident.objects.select_for_update().get(pk=incident.pk)
        count = ResourceRequest.objects.filter(incident=incident).count()
        request = ResourceRequest.objects.create(
            incident=incident,
            number=f"{incident.number}-RR{count + 1:03d}",
            resource_kind=details.resource_kind.strip(),
            nims_type=details.nims_type,
            quantity=details.quantity,
            priority=details.priority,
            needed_by=details.needed_by,
            deliver_to=details.deliver_to,
            requesting_agency=by.agency,
            requested_by=by,
        )
        ResourceRequestEvent.objects.create(request=request, from_state="", to_state=R.REQUESTED, by=by)
    return request


def move_resource_request(
    *, request: ResourceRequest, by: User, state: str, note: str = "", assigned_agency: Agency | None = None
) -> ResourceRequest:
    """Move a request to its next state; only the steps of ICS-213RR are allowed."""
    check_may_coordinate(by, request.incident)
    with transaction.atomic(durable=True):
        request = ResourceRequest.objects.select_for_update().get(pk=request.pk)
        if state not in REQUEST_TRANSITIONS.get(request.state, set()):
            label = R(state).label.lower() if state in R.values else state
            raise ValidationError(
                {"state": f"A request that is {request.get_state_display().lower()} cannot be moved to {label}."}
            )
        if state == R.ASSIGNED:
            if assigned_agency is None:
                raise ValidationError({"assigned_agency": "Say which agency fills the request."})
            request.assigned_agency = assigned_agency
        if state in (R.DENIED, R.CANCELLED) and not note.strip():
            raise ValidationError({"note": "Say why the request is denied or cancelled."})
        previous = request.state
        request.state = state
        request.updated_at = timezone.now()
        request.save()
        ResourceRequestEvent.objects.create(request=request, from_state=previous, to_state=state, by=by, note=note)
    return request


# --- Tasks ---------------------------------------------------------------------------------


@dataclass
class TaskDetails:
    title: str
    due_at: object
    description: str = ""
    assigned_agency: Agency | None = None
    esf: int | None = None
    section: str = ""


TASK_TRANSITIONS: dict[str, set[str]] = {
    Task.Status.OPEN: {Task.Status.IN_PROGRESS, Task.Status.DONE, Task.Status.CANCELLED},
    Task.Status.IN_PROGRESS: {Task.Status.DONE, Task.Status.CANCELLED, Task.Status.OPEN},
    Task.Status.DONE: set(),
    Task.Status.CANCELLED: set(),
}


def assign_task(*, incident: Incident, by: User, details: TaskDetails) -> Task:
    check_may_coordinate(by, incident)
    _check_open(incident)
    errors: dict[str, str] = {}
    if not details.title.strip():
        errors["title"] = "Say what is to be done."
    if details.assigned_agency is None and details.esf is None and not details.section:
        errors["assigned_agency"] = "Assign the task to an agency, an ESF or a section."
    if details.esf is not None and details.esf not in Task.ESF.values:
        errors["esf"] = "Choose an ESF from 1 to 15."
    if details.section and details.section not in Task.Section.values:
        errors["section"] = "Choose a section."
    if details.due_at is None:
        errors["due_at"] = "Say when it is due."
    if errors:
        raise ValidationError(errors)
    return Task.objects.create(
        incident=incident,
        title=details.title.strip(),
        description=details.description,
        assigned_agency=details.assigned_agency,
        esf=details.esf,
        section=details.section,
        due_at=details.due_at,
        created_by=by,
    )


def change_task_status(*, task: Task, by: User, status: str) -> Task:
    if by.agency_id not in (task.incident.lead_eoc_id, task.assigned_agency_id):
        raise PermissionDenied("Only the lead EOC or the agency given the task changes its status.")
    with transaction.atomic(durable=True):
        task = Task.objects.select_for_update().get(pk=task.pk)
        if status not in TASK_TRANSITIONS.get(task.status, set()):
            raise ValidationError({"status": f"A task that is {task.get_status_display().lower()} cannot become that."})
        task.status = status
        task.completed_at = timezone.now() if status == Task.Status.DONE else None
        task.save(update_fields=["status", "completed_at"])
    return task
