"""Celery tasks of the outbox: thin, idempotent, taking ids."""

from __future__ import annotations

from datetime import timedelta

from celery import shared_task

from . import services

EVENT_GRACE_PERIOD = timedelta(minutes=1)
DISPATCH_GRACE_PERIOD = timedelta(minutes=2)


@shared_task(name="dissemination.handle_event", acks_late=True)
def handle_event(event_id: int) -> bool:
    return services.handle_event(event_id=event_id)


@shared_task(name="dissemination.sweep_events")
def sweep_events() -> int:
    """Re-enqueue events whose handling was lost or failed; run by beat every minute."""
    ids = services.unhandled_event_ids(older_than=EVENT_GRACE_PERIOD)
    for event_id in ids:
        handle_event.delay(event_id)
    return len(ids)


@shared_task(name="dissemination.fan_out_dispatch", acks_late=True)
def fan_out_dispatch(dispatch_id: int) -> bool:
    from .fanout import fan_out

    return fan_out(dispatch_id=dispatch_id)


@shared_task(name="dissemination.sweep_dispatches")
def sweep_dispatches() -> int:
    """Re-enqueue dispatches not fanned out after a grace period (their task was lost, or their
    worker died); run by beat every minute. A repeated fan-out delivers nothing twice."""
    ids = services.unfinished_dispatch_ids(older_than=DISPATCH_GRACE_PERIOD)
    for dispatch_id in ids:
        fan_out_dispatch.delay(dispatch_id)
    return len(ids)
