"""Incidents, activation levels and the feed's core rules."""

import itertools

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from dissemination.models import DomainEvent
from eoc.models import ActivationChange, EocStatus, FeedEntry, Incident
from eoc.services.feed import EntryContent, correct_entry, post_entry
from eoc.services.incidents import (
    STATUS_TRANSITIONS,
    IncidentDetails,
    change_activation,
    change_incident_status,
    open_incident,
)


def test_incident_numbers_follow_the_lead_eoc(flood, coordinator):
    assert flood.number.startswith(f"{coordinator.agency.acronym}-")
    assert flood.operational_periods.count() == 1
    assert DomainEvent.objects.filter(kind="incident_opened", subject_id=flood.pk).exists()


@pytest.mark.parametrize(("start", "target"), list(itertools.product(Incident.Status.values, repeat=2)))
def test_incident_status_table(flood, coordinator, start, target):
    Incident.objects.filter(pk=flood.pk).update(status=start)
    flood.refresh_from_db()
    if target in STATUS_TRANSITIONS[start]:
        assert change_incident_status(incident=flood, by=coordinator, status=target).status == target
    else:
        with pytest.raises(ValidationError):
            change_incident_status(incident=flood, by=coordinator, status=target)


def test_latitude_out_of_range_is_refused(coordinator):
    with pytest.raises(ValidationError) as error:
        open_incident(
            by=coordinator,
            details=IncidentDetails(name="Bad", incident_type="flood", latitude="95", longitude="-78"),
        )
    assert "latitude" in error.value.message_dict
    assert not Incident.objects.exists()


def test_activation_change_is_recorded_with_its_event(flood, coordinator):
    status = change_activation(eoc=coordinator.agency, by=coordinator, level=2, reason="River forecast", incident=flood)
    assert status.level == 2
    assert status.is_activated
    change = ActivationChange.objects.get()
    assert (change.from_level, change.to_level, change.incident) == (3, 2, flood)
    event = DomainEvent.objects.get(kind="eoc_activated")
    assert event.payload["incident_id"] == flood.pk


def test_deactivation_without_reason_is_refused(flood, coordinator):
    change_activation(eoc=coordinator.agency, by=coordinator, level=1, reason="Levee breach", incident=flood)
    with pytest.raises(ValidationError) as error:
        change_activation(eoc=coordinator.agency, by=coordinator, level=3, reason=" ")
    assert "reason" in error.value.message_dict
    assert EocStatus.objects.get(eoc=coordinator.agency).level == 1


def test_reversed_numbering_shows_the_jurisdictions_own_label(coordinator):
    status = EocStatus.objects.create(eoc=coordinator.agency, level=1, numbering=EocStatus.Numbering.REVERSED)
    assert status.level_label == "Level 3 — full activation"


def test_only_coordinators_of_the_eoc_change_its_level(analyst, coordinator):
    with pytest.raises(PermissionDenied):
        change_activation(eoc=coordinator.agency, by=analyst, level=2, reason="x")


def test_entries_cannot_be_posted_to_a_closed_incident(flood, coordinator, post):
    change_incident_status(incident=flood, by=coordinator, status=Incident.Status.CLOSED)
    with pytest.raises(ValidationError) as error:
        post(flood)
    assert "closed" in error.value.message_dict["incident"][0]


def test_correction_references_the_original_which_stays(flood, coordinator, post):
    original = post(flood, title="Bridge on US-70 closed")
    fixed = correct_entry(
        entry=original, by=coordinator, content=EntryContent(kind="situation_update", title="Bridge on US-401 closed")
    )
    original.refresh_from_db()
    assert original.title == "Bridge on US-70 closed"
    assert fixed.corrects == original


def test_flash_entries_record_an_event_for_the_liaison(flood, post):
    entry = post(flood, priority=FeedEntry.Priority.FLASH, title="Dam failure imminent")
    assert DomainEvent.objects.filter(kind="feed_entry_posted", subject_id=entry.pk).exists()
    routine = post(flood)
    assert not DomainEvent.objects.filter(kind="feed_entry_posted", subject_id=routine.pk).exists()


def test_exercise_entries_never_reach_anyone_outside_the_exercise(coordinator, outsider, analyst, county):
    drill = open_incident(
        by=coordinator, details=IncidentDetails(name="Hurricane drill", incident_type="hurricane", is_exercise=True)
    )
    entry = post_entry(
        by=coordinator,
        content=EntryContent(kind="warning", title="Simulated surge", tlp="green"),
        incident=drill,
    )
    assert FeedEntry.objects.visible_to(coordinator).filter(pk=entry.pk).exists()
    # TLP:GREEN would reach every partner, but an exercise stays with its participants.
    assert not FeedEntry.objects.visible_to(outsider).filter(pk=entry.pk).exists()
    assert not FeedEntry.objects.visible_to(analyst).filter(pk=entry.pk).exists()
    assert not Incident.objects.visible_to(outsider).filter(pk=drill.pk).exists()
    assert Incident.objects.visible_to(coordinator).filter(pk=drill.pk).exists()
