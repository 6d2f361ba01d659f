"""Situation reports, resource requests (ICS-213RR) and tasks: their state tables and refusals."""

import itertools
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from eoc.models import Incident, ResourceRequest, SituationReport, Task
from eoc.services import logistics
from eoc.services.incidents import change_incident_status, start_operational_period
from eoc.services.logistics import REQUEST_TRANSITIONS, TASK_TRANSITIONS, RequestDetails, TaskDetails

R = ResourceRequest.State


@pytest.fixture
def request_(flood, coordinator):
    return logistics.request_resource(
        incident=flood,
        by=coordinator,
        details=RequestDetails(
            resource_kind="Swift-water rescue team",
            nims_type="Type 2",
            quantity=2,
            needed_by=timezone.now() + timedelta(hours=4),
            deliver_to="Staging area, Lot B",
        ),
    )


@pytest.mark.parametrize(("start", "target"), list(itertools.product(R.values, repeat=2)))
def test_resource_request_state_table(request_, coordinator, outside_agency, start, target):
    ResourceRequest.objects.filter(pk=request_.pk).update(state=start)
    request_.refresh_from_db()
    kwargs = {"note": "reason"} | ({"assigned_agency": outside_agency} if target == R.ASSIGNED else {})
    if target in REQUEST_TRANSITIONS[start]:
        moved = logistics.move_resource_request(request=request_, by=coordinator, state=target, **kwargs)
        assert moved.state == target
        assert moved.events.last().to_state == target
    else:
        with pytest.raises(ValidationError):
            logistics.move_resource_request(request=request_, by=coordinator, state=target, **kwargs)
        request_.refresh_from_db()
        assert request_.state == start


def test_request_walks_to_delivered_with_each_step_recorded(request_, coordinator, outside_agency):
    for state in [R.APPROVED, R.SOURCING, R.ASSIGNED, R.EN_ROUTE, R.DELIVERED]:
        logistics.move_resource_request(request=request_, by=coordinator, state=state, assigned_agency=outside_agency)
    assert [e.to_state for e in request_.events.all()] == [
        R.REQUESTED,
        R.APPROVED,
        R.SOURCING,
        R.ASSIGNED,
        R.EN_ROUTE,
        R.DELIVERED,
    ]
    assert request_.events.last().by == coordinator


def test_denial_needs_a_reason(request_, coordinator):
    with pytest.raises(ValidationError) as error:
        logistics.move_resource_request(request=request_, by=coordinator, state=R.DENIED)
    assert "note" in error.value.message_dict


def test_bad_request_details_are_refused_with_field_messages(flood, coordinator):
    with pytest.raises(ValidationError) as error:
        logistics.request_resource(
            incident=flood,
            by=coordinator,
            details=RequestDetails(resource_kind="", quantity=0, needed_by=None, deliver_to=""),
        )
    assert set(error.value.message_dict) == {"resource_kind", "quantity", "needed_by", "deliver_to"}
    assert not ResourceRequest.objects.exists()


def test_sitrep_for_a_closed_operational_period_is_refused(flood, coordinator):
    first = flood.operational_periods.get()
    start_operational_period(
        incident=flood, by=coordinator, starts_at=first.ends_at, ends_at=first.ends_at + timedelta(hours=12)
    )
    first.refresh_from_db()
    with pytest.raises(ValidationError) as error:
        logistics.write_situation_report(incident=flood, period=first, by=coordinator, sections={})
    assert "operational_period" in error.value.message_dict


def test_published_sitrep_is_immutable(flood, coordinator):
    period = flood.operational_periods.get()
    report = logistics.write_situation_report(
        incident=flood, period=period, by=coordinator, sections={"situation_summary": "Rising water"}
    )
    logistics.publish_situation_report(report=report, by=coordinator)
    with pytest.raises(ValidationError):
        logistics.edit_situation_report(report=report, by=coordinator, sections={"weather": "Rain"})
    report.refresh_from_db()
    assert report.state == SituationReport.State.PUBLISHED
    assert report.weather == ""


@pytest.mark.parametrize(("start", "target"), list(itertools.product(Task.Status.values, repeat=2)))
def test_task_status_table(flood, coordinator, start, target):
    task = logistics.assign_task(
        incident=flood,
        by=coordinator,
        details=TaskDetails(title="Open shelter", due_at=timezone.now() + timedelta(hours=2), esf=6),
    )
    Task.objects.filter(pk=task.pk).update(status=start)
    task.refresh_from_db()
    if target in TASK_TRANSITIONS[start]:
        assert logistics.change_task_status(task=task, by=coordinator, status=target).status == target
    else:
        with pytest.raises(ValidationError):
            logistics.change_task_status(task=task, by=coordinator, status=target)


def test_task_needs_an_assignee(flood, coordinator):
    with pytest.raises(ValidationError) as error:
        logistics.assign_task(
            incident=flood, by=coordinator, details=TaskDetails(title="Sandbags", due_at=timezone.now())
        )
    assert "assigned_agency" in error.value.message_dict


def test_nothing_new_on_a_closed_incident(flood, coordinator):
    change_incident_status(incident=flood, by=coordinator, status=Incident.Status.CLOSED)
    flood.refresh_from_db()
    with pytest.raises(ValidationError):
        logistics.assign_task(
            incident=flood, by=coordinator, details=TaskDetails(title="x", due_at=timezone.now(), esf=1)
        )
