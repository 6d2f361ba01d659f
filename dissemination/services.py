"""Writes of the outbox: domain events and dispatches, in the caller's transaction; handling events."""

from __future__ import annotations

import logging
from datetime import timedelta

from django.db import models, transaction
from django.utils import timezone

from .events import handlers_for
from .models import Dispatch, DomainEvent

logger = logging.getLogger(__name__)


def subject_type_of(obj: models.Model) -> str:
    return obj._meta.label_lower


def record_event(*, kind: str, subject: models.Model, payload: dict | None = None) -> DomainEvent:
    """Write a domain event in the current transaction; it is handed to its handlers after commit."""
    event = DomainEvent.objects.create(
        kind=kind, subject_type=subject_type_of(subject), subject_id=subject.pk, payload=payload or {}
    )
    from .tasks import handle_event

    handle_event.delay_on_commit(event.pk)
    return event


def create_dispatch(*, item: models.Model, action: str, by, originating_agency, reason: str = "") -> Dispatch:
    """Write the dispatch of an item to its audience in the current transaction (the outbox); its
    fan-out is queued after commit, and swept if that is lost."""
    dispatch = Dispatch.objects.create(
        item_type=subject_type_of(item),
        item_id=item.pk,
        action=action,
        originating_agency=originating_agency,
        created_by=by,
        reason=reason,
    )
    from .tasks import fan_out_dispatch

    fan_out_dispatch.delay_on_commit(dispatch.pk)
    return dispatch


def handle_event(*, event_id: int) -> bool:
    """Run the handlers of one event and mark it handled; returns False if it was already handled.

    The event row stays locked while its handlers run, so two workers never handle it at once.
    """
    with transaction.atomic():
        event = DomainEvent.objects.select_for_update(skip_locked=True).filter(pk=event_id).first()
        if event is None or event.handled_at is not None:
            return False
        event.attempts += 1
        try:
            with transaction.atomic():
                for handler in handlers_for(event.kind):
                    handler(event)
        except Exception as error:
            logger.exception("Handling %s failed", event)
            event.last_error = f"{error.__class__.__name__}: {error}"[:2000]
            event.save(update_fields=["attempts", "last_error"])
            return False
        event.handled_at = timezone.now()
        event.last_error = ""
        event.save(update_fields=["attempts", "handled_at", "last_error"])
    return True


def unhandled_event_ids(*, older_than: timedelta, limit: int = 500) -> list[int]:
    """Events left unhandled past a grace period (their task was lost, or failed)."""
    cutoff = timezone.now() - older_than
    return list(
        DomainEvent.objects.filter(handled_at__isnull=True, occurred_at__lt=cutoff)
        .order_by("occurred_at")
        .values_list("pk", flat=True)[:limit]
    )


def unfinished_dispatch_ids(*, older_than: timedelta, limit: int = 500) -> list[int]:
    cutoff = timezone.now() - older_than
    return list(
        Dispatch.objects.filter(state__in=[Dispatch.State.PENDING, Dispatch.State.FANNING_OUT], created_at__lt=cutoff)
        .order_by("created_at")
        .values_list("pk", flat=True)[:limit]
    )
