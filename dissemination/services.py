"""Writes of the outbox: domain events and dispatches, in the caller's transaction; handling events.

Sending (email, webhooks, endpoints, manual retries) is in `sending.py`."""

from __future__ import annotations

import logging
from datetime import timedelta
from functools import partial

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models, transaction
from django.utils import timezone

from agencies.models import Agency, Role, User

from . import sending, webhooks
from .events import handlers_for
from .models import Delivery, Dispatch, DomainEvent, WebhookEndpoint

logger = logging.getLogger(__name__)


def subject_type_of(obj: models.Model) -> str:
    return obj._meta.label_lower


def record_event(*, kind: str, subject: models.Model, payload: dict | None = None) -> DomainEvent:
    """Write a domain event in the current transaction; it is handed to its handlers after commit."""
    event = DomainEvent.objects.create(
        kind=kind, subject_type=subject_type_of(subject), subject_id=subject.pk, payload=payload or {}
    )
    from .tasks import enqueue_on_commit, handle_event

    enqueue_on_commit(handle_event, event.pk)
    return event


def create_dispatch(*, item: models.Model, action: str, by, originating_agency, reason: str = "") -> Dispatch:
    """Write the dispatch of an item to its audience in the current transaction (the outbox); its
    fan-out is queued after commit, and swept if that is lost (a broker outage never fails the
    transaction that wrote it)."""
    dispatch = Dispatch.objects.create(
        item_type=subject_type_of(item),
        item_id=item.pk,
        action=action,
        originating_agency=originating_agency,
        created_by=by,
        reason=reason,
    )
    from .tasks import enqueue_on_commit, fan_out_dispatch

    enqueue_on_commit(fan_out_dispatch, dispatch.pk)
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


# --- Webhook endpoints and manual retries -----------------------------------------------------


def _may_administer(person: User, agency_id: int) -> bool:
    return person.is_system_admin or (person.is_agency_admin and person.agency_id == agency_id)


def create_webhook_endpoint(
    *, agency: Agency, url: str, payload_format: str = WebhookEndpoint.Format.JSON, by: User
) -> tuple[WebhookEndpoint, str]:
    """Register an agency's webhook receiver; returns it and its signing secret, shown this once.

    The URL must be https in production and resolve to public addresses only (checked again at
    every send on the address resolved then).
    """
    if not _may_administer(by, agency.pk):
        raise PermissionDenied("Only an admin of this agency manages its webhook endpoints.")
    if payload_format not in WebhookEndpoint.Format.values:
        raise ValidationError({"payload_format": "Choose JSON, CAP 1.2 or STIX 2.1."})
    url = url.strip()
    webhooks.validate_url(url)
    secret = webhooks.generate_secret()
    with transaction.atomic(durable=True):
        endpoint = WebhookEndpoint(agency=agency, url=url, secret=secret, payload_format=payload_format)
        endpoint.full_clean()
        endpoint.save()
    return endpoint, secret


def _may_retry(person: User, delivery: Delivery) -> bool:
    if person.is_system_admin:
        return True
    origin = delivery.dispatch.originating_agency_id
    if person.agency_id == origin and person.has_role(Role.SUPERVISOR, Role.AGENCY_ADMIN):
        return True
    receiving = delivery.endpoint.agency_id if delivery.endpoint_id else delivery.recipient.agency_id
    return _may_administer(person, receiving)


def retry_delivery(*, delivery: Delivery, by: User) -> Delivery:
    """Send a failed (or waiting) email or webhook delivery again now, with a fresh set of attempts."""
    if not _may_retry(by, delivery):
        raise PermissionDenied("Only admins of the sending or the receiving agency retry a delivery.")
    if delivery.channel not in sending.SENDABLE:
        raise ValidationError({"channel": "Only email and webhook deliveries are sent again."})
    if delivery.endpoint_id and not delivery.endpoint.is_active:
        raise ValidationError({"endpoint": "The endpoint is disabled: turn it back on before retrying."})
    with transaction.atomic(durable=True):
        delivery = Delivery.objects.select_for_update().get(pk=delivery.pk)
        if delivery.state not in (Delivery.State.FAILED, Delivery.State.PENDING):
            state = delivery.get_state_display().lower()
            raise ValidationError({"state": f"This delivery is {state}: there is nothing to retry."})
        delivery.state = Delivery.State.PENDING
        delivery.attempts = 0
        delivery.next_attempt_at = timezone.now() + sending.QUEUED_LEASE
        delivery.save(update_fields=["state", "attempts", "next_attempt_at"])
        if delivery.channel == Delivery.Channel.EMAIL:
            transaction.on_commit(partial(sending.queue_deliveries, [delivery.pk], []))
        else:
            transaction.on_commit(partial(sending.queue_deliveries, [], [delivery.pk]))
    return delivery
