"""Celery tasks of the outbox: thin, idempotent, taking ids."""

from __future__ import annotations

from datetime import timedelta

from celery import shared_task

from . import services

EVENT_GRACE_PERIOD = timedelta(minutes=1)


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
