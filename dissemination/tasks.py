"""Celery tasks of the outbox and of sending: thin, idempotent, taking ids.

Nobody reads these tasks' results, so none is stored: queueing one then needs the broker only.
"""

from __future__ import annotations

import logging
import smtplib
import time
from datetime import timedelta
from functools import partial

from celery import Task, shared_task
from django.db import transaction
from kombu.exceptions import OperationalError

from . import sending, services

logger = logging.getLogger(__name__)

EVENT_GRACE_PERIOD = timedelta(minutes=1)
DISPATCH_GRACE_PERIOD = timedelta(minutes=2)


# After the broker failed to take a task, this process queues nothing for this long (the sweep
# queues what it left), so that a request never waits on an absent broker once for every task.
BROKER_PAUSE = 5.0
_broker_paused_until = [0.0]


def resume_queueing() -> None:
    """Try the broker again at the next task (for tests that bring it back)."""
    _broker_paused_until[0] = 0.0


def enqueue(task: Task, *args) -> bool:
    """Queue a task; if the broker cannot be reached, log it and return False instead of raising.

    Whatever is queued here is also found by a sweep, so a broker outage delays the work; it must
    not fail the request or the task that asked for it, nor hold it up.
    """
    if time.monotonic() < _broker_paused_until[0]:
        logger.warning("Not queueing %s%r: the broker failed a moment ago; the sweep will queue it", task.name, args)
        return False
    try:
        task.delay(*args)
    except (OperationalError, OSError):
        _broker_paused_until[0] = time.monotonic() + BROKER_PAUSE
        logger.warning("Could not queue %s%r; the sweep will queue it", task.name, args, exc_info=True)
        return False
    return True


def enqueue_on_commit(task: Task, *args) -> None:
    """`enqueue` once the current transaction commits (at once outside one)."""
    transaction.on_commit(partial(enqueue, task, *args))


@shared_task(name="dissemination.handle_event", acks_late=True, ignore_result=True)
def handle_event(event_id: int) -> bool:
    return services.handle_event(event_id=event_id)


@shared_task(name="dissemination.sweep_events", ignore_result=True)
def sweep_events() -> int:
    """Re-enqueue events whose handling was lost or failed; run by beat every minute."""
    ids = services.unhandled_event_ids(older_than=EVENT_GRACE_PERIOD)
    for event_id in ids:
        handle_event.delay(event_id)
    return len(ids)


@shared_task(name="dissemination.fan_out_dispatch", bind=True, acks_late=True, ignore_result=True)
def fan_out_dispatch(self: Task, dispatch_id: int) -> bool:
    from .fanout import fan_out

    if fan_out(dispatch_id=dispatch_id):
        return True
    if (self.request.delivery_info or {}).get("redelivered"):
        # An earlier run of this task died (its message came back): perhaps after the fan-out was
        # recorded and before its email was queued, which would otherwise wait for the sweep.
        sending.resume_sending(dispatch_id=dispatch_id)
    return False


@shared_task(name="dissemination.sweep_dispatches", ignore_result=True)
def sweep_dispatches() -> int:
    """Re-enqueue dispatches not fanned out after a grace period (their task was lost, or their
    worker died); run by beat every minute. A repeated fan-out delivers nothing twice."""
    ids = services.unfinished_dispatch_ids(older_than=DISPATCH_GRACE_PERIOD)
    for dispatch_id in ids:
        fan_out_dispatch.delay(dispatch_id)
    return len(ids)


@shared_task(name="dissemination.send_email_batch", acks_late=True, ignore_result=True, time_limit=30 * 60)
def send_email_batch(delivery_ids: list[int]) -> int:
    return sending.send_emails(delivery_ids=delivery_ids)


@shared_task(name="dissemination.send_webhook", acks_late=True, ignore_result=True, time_limit=120)
def send_webhook(delivery_id: int) -> bool:
    return sending.send_webhook(delivery_id=delivery_id)


@shared_task(name="dissemination.sweep_deliveries", ignore_result=True)
def sweep_deliveries() -> int:
    """Queue the email and webhook deliveries whose next attempt is due, or whose task was lost;
    run by beat every minute."""
    return sending.queue_due_deliveries()


@shared_task(name="dissemination.send_digests", ignore_result=True)
def send_digests() -> int:
    """Queue the daily digest of everyone who chose one; run by beat once a day."""
    ids = sending.digest_recipient_ids()
    for person_id in ids:
        if not enqueue(send_digest, person_id):
            break
    return len(ids)


@shared_task(
    name="dissemination.send_digest",
    acks_late=True,
    ignore_result=True,
    time_limit=10 * 60,
    autoretry_for=(smtplib.SMTPException, OSError),
    retry_backoff=60,
    max_retries=5,
)
def send_digest(person_id: int) -> int:
    return sending.send_digest(person_id=person_id)
