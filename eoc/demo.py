"""Demo incidents for the demo region, through the real services (idempotent)."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from agencies.demo import DemoRegion

from .models import EocStatus, FeedEntry, Incident, ResourceRequest
from .services.feed import EntryContent, post_entry
from .services.incidents import IncidentDetails, change_activation, open_incident
from .services.logistics import RequestDetails, TaskDetails, assign_task, move_resource_request, request_resource


def seed_incidents(region: DemoRegion) -> list[Incident]:
    people, agencies, places = region.people, region.agencies, region.jurisdictions
    for acronym in ("NCEM-SEOC", "WAKE-EOC", "MECK-EOC"):
        EocStatus.objects.get_or_create(eoc=agencies[acronym])
    incidents = []
    flood = Incident.objects.filter(name="Neuse River flooding").first()
    if flood is None:
        coordinator = people["coordinator"]
        flood = open_incident(
            by=coordinator,
            details=IncidentDetails(
                name="Neuse River flooding",
                incident_type=Incident.Type.FLOOD,
                priority=Incident.Priority.HIGH,
                description="River flooding after the remnants of a tropical storm.",
                address="Neuse River at Smithfield Road, Knightdale, NC",
                latitude="35.787700",
                longitude="-78.480600",
                affected_jurisdictions=[places["wake"]],
                supporting_agencies=[agencies["NCEM-SEOC"], agencies["RFD"], agencies["WAKE-EMS"], agencies["WCSO"]],
            ),
        )
        change_activation(
            eoc=agencies["WAKE-EOC"], by=coordinator, level=2, reason="River forecast above flood stage", incident=flood
        )
        post_entry(
            by=coordinator,
            incident=flood,
            content=EntryContent(kind=FeedEntry.Kind.SITUATION_UPDATE, title="Neuse at Clayton 16.2 ft and rising"),
        )
        post_entry(
            by=coordinator,
            incident=flood,
            content=EntryContent(
                kind=FeedEntry.Kind.WARNING,
                priority=FeedEntry.Priority.FLASH,
                title="Evacuate low-lying homes along Mial Plantation Road",
                body="Water expected over the road by 18:00.",
                latitude="35.742100",
                longitude="-78.482900",
            ),
        )
        request = request_resource(
            incident=flood,
            by=coordinator,
            details=RequestDetails(
                resource_kind="Swift-water rescue team",
                nims_type="Type 2",
                quantity=2,
                needed_by=timezone.now() + timedelta(hours=3),
                deliver_to="Staging: Knightdale Station Park",
                priority=ResourceRequest.Priority.URGENT,
            ),
        )
        move_resource_request(request=request, by=coordinator, state=ResourceRequest.State.APPROVED)
        assign_task(
            incident=flood,
            by=coordinator,
            details=TaskDetails(
                title="Open a shelter at Knightdale High School", due_at=timezone.now() + timedelta(hours=2), esf=6
            ),
        )
    incidents.append(flood)
    drill = Incident.objects.filter(name="Hurricane response drill").first()
    if drill is None:
        drill = open_incident(
            by=people["meck.coordinator"],
            details=IncidentDetails(
                name="Hurricane response drill",
                incident_type=Incident.Type.HURRICANE,
                is_exercise=True,
                affected_jurisdictions=[places["mecklenburg"]],
                latitude="35.227100",
                longitude="-80.843100",
            ),
        )
    incidents.append(drill)
    return incidents
