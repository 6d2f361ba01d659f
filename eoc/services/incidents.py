"""Writes about incidents, operational periods and EOC activation levels."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from agencies.models import Agency, Jurisdiction, Role, User
from dissemination.services import record_event

from ..models import ActivationChange, ActivationLevel, EocStatus, Incident, OperationalPeriod

St = Incident.Status

# Incident status table: from -> allowed next statuses.
STATUS_TRANSITIONS: dict[str, set[str]] = {
    St.MONITORING: {St.ACTIVE, St.CLOSED},
    St.ACTIVE: {St.RECOVERY, St.CLOSED, St.MONITORING},
    St.RECOVERY: {St.ACTIVE, St.CLOSED},
    St.CLOSED: set(),
}


def check_is_coordinator_of(person: User, eoc: Agency) -> None:
    if not (person.agency_id == eoc.pk and person.has_role(Role.EOC_COORDINATOR)):
        raise PermissionDenied(f"Only EOC coordinators of {eoc.name} do this.")


def check_may_coordinate(person: User, incident: Incident) -> None:
    """Coordinators of the lead EOC run the incident."""
    check_is_coordinator_of(person, incident.lead_eoc)


def validate_location(latitude, longitude, errors: dict[str, str]) -> None:
    if (latitude is None) != (longitude is None):
        errors["latitude"] = "Give both latitude and longitude, or neither."
    if latitude is not None and not Decimal(-90) <= Decimal(str(latitude)) <= Decimal(90):
        errors["latitude"] = "Latitude is between -90 and 90 degrees."
    if longitude is not None and not Decimal(-180) <= Decimal(str(longitude)) <= Decimal(180):
        errors["longitude"] = "Longitude is between -180 and 180 degrees."


@dataclass
class IncidentDetails:
    name: str
    incident_type: str
    priority: str = Incident.Priority.MODERATE
    is_exercise: bool = False
    description: str = ""
    address: str = ""
    latitude: Decimal | None = None
    longitude: Decimal | None = None
    affected_jurisdictions: list[Jurisdiction] = field(default_factory=list)
    supporting_agencies: list[Agency] = field(default_factory=list)
    started_at: object = None


def _next_incident_number(eoc: Agency, year: int) -> str:
    # Locked through the EOC's status row, so two incidents opened at once get different numbers.
    EocStatus.objects.select_for_update().get_or_create(eoc=eoc)
    count = Incident.objects.filter(lead_eoc=eoc, number__startswith=f"{eoc.acronym}-{year}-").count()
    return f"{eoc.acronym}-{year}-{count + 1:03d}"


# A start centuries back is a typing error; it would also be shown with the local mean time offset
# (-04:56:02), which is no RFC 3339 date-time.
EARLIEST_START = datetime(2000, 1, 1, tzinfo=UTC)


def open_incident(*, by: User, details: IncidentDetails) -> Incident:
    """Open an incident led by the coordinator's EOC."""
    eoc = by.agency
    if not eoc.is_eoc:
        raise PermissionDenied("Incidents are opened by EOC coordinators.")
    check_is_coordinator_of(by, eoc)
    errors: dict[str, str] = {}
    if not details.name.strip():
        errors["name"] = "Give the incident a name."
    if details.incident_type not in Incident.Type.values:
        errors["incident_type"] = "Choose the type of incident."
    if details.priority not in Incident.Priority.values:
        errors["priority"] = "Choose a priority."
    validate_location(details.latitude, details.longitude, errors)
    if details.started_at is not None and details.started_at < EARLIEST_START:
        errors["started_at"] = "Give a start after 1 January 2000."
    if errors:
        raise ValidationError(errors)
    with transaction.atomic(durable=True):
        now = timezone.now()
        incident = Incident.objects.create(
            number=_next_incident_number(eoc, now.year),
            name=details.name.strip(),
            incident_type=details.incident_type,
            priority=details.priority,
            is_exercise=details.is_exercise,
            description=details.description,
            address=details.address,
            latitude=details.latitude,
            longitude=details.longitude,
            lead_eoc=eoc,
            started_at=details.started_at or now,
            created_by=by,
        )
        incident.affected_jurisdictions.set(details.affected_jurisdictions)
        incident.supporting_agencies.set([a for a in details.supporting_agencies if a.pk != eoc.pk])
        OperationalPeriod.objects.create(
            incident=incident,
            number=1,
            starts_at=incident.started_at,
            ends_at=incident.started_at + timedelta(hours=12),
        )
        record_event(
            kind="incident_opened", subject=incident, payload={"eoc_id": eoc.pk, "is_exercise": incident.is_exercise}
        )
    return incident


def change_incident_status(*, incident: Incident, by: User, status: str, note: str = "") -> Incident:
    check_may_coordinate(by, incident)
    with transaction.atomic(durable=True):
        incident = Incident.objects.select_for_update().get(pk=incident.pk)
        if status not in STATUS_TRANSITIONS.get(incident.status, set()):
            raise ValidationError(
                {
                    "status": f"An incident that is {incident.get_status_display().lower()} cannot become "
                    f"{St(status).label.lower() if status in St.values else status}."
                }
            )
        incident.status = status
        if status == St.CLOSED:
            incident.closed_at = timezone.now()
            OperationalPeriod.objects.filter(incident=incident, closed_at__isnull=True).update(
                closed_at=incident.closed_at
            )
        incident.save(update_fields=["status", "closed_at"])
        record_event(kind=f"incident_{status}", subject=incident, payload={"note": note})
    return incident


def start_operational_period(
    *, incident: Incident, by: User, starts_at, ends_at, objectives: str = ""
) -> OperationalPeriod:
    """Close the current period and start the next one."""
    check_may_coordinate(by, incident)
    if incident.is_closed:
        raise ValidationError({"incident": "The incident is closed: no new operational period."})
    if ends_at <= starts_at:
        raise ValidationError({"ends_at": "An operational period ends after it starts."})
    with transaction.atomic(durable=True):
        incident = Incident.objects.select_for_update().get(pk=incident.pk)
        last = incident.operational_periods.order_by("-number").first()
        if last is not None and last.closed_at is None:
            last.closed_at = timezone.now()
            last.save(update_fields=["closed_at"])
        return OperationalPeriod.objects.create(
            incident=incident,
            number=(last.number + 1) if last else 1,
            starts_at=starts_at,
            ends_at=ends_at,
            objectives=objectives,
        )


def eoc_status(eoc: Agency) -> EocStatus:
    status, _ = EocStatus.objects.get_or_create(eoc=eoc)
    return status


def change_activation(*, eoc: Agency, by: User, level: int, reason: str, incident: Incident | None = None) -> EocStatus:
    """Raise or lower an EOC's activation level, with a reason; the history and a durable
    `eoc_activated` / `eoc_deactivated` event are written in the same transaction."""
    check_is_coordinator_of(by, eoc)
    errors: dict[str, str] = {}
    if level not in ActivationLevel.values:
        errors["level"] = "Choose Level 1, 2 or 3."
    if not reason.strip():
        errors["reason"] = "Give the reason for the change of activation level."
    if (
        incident is not None
        and incident.lead_eoc_id != eoc.pk
        and not incident.supporting_agencies.filter(pk=eoc.pk).exists()
    ):
        errors["incident"] = "The EOC does not take part in this incident."
    if incident is not None and incident.is_closed:
        errors["incident"] = "The incident is closed."
    if errors:
        raise ValidationError(errors)
    with transaction.atomic(durable=True):
        status, _ = EocStatus.objects.select_for_update().get_or_create(eoc=eoc)
        if status.level == level and status.incident_id == (incident.pk if incident else None):
            raise ValidationError({"level": "The EOC is already at this level for this incident."})
        previous = status.level
        ActivationChange.objects.create(
            eoc=eoc, from_level=previous, to_level=level, reason=reason, incident=incident, changed_by=by
        )
        status.level = level
        status.incident = incident if level != ActivationLevel.MONITORING else None
        status.since = timezone.now()
        status.save()
        activated = level in (ActivationLevel.FULL, ActivationLevel.PARTIAL)
        record_event(
            kind="eoc_activated" if activated else "eoc_deactivated",
            subject=eoc,
            payload={
                "from_level": previous,
                "to_level": level,
                "incident_id": incident.pk if incident else None,
                "reason": reason,
                "changed_by_id": by.pk,
            },
        )
    return status
