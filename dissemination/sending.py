"""Sending: email and webhook deliveries leave through the sending queue, apart from the fan-out.

Each delivery is claimed under its row lock (`SELECT … FOR UPDATE SKIP LOCKED`) in a transaction
that sends it and marks it sent: a worker killed mid-send leaves it pending, so it is sent again
(at most the sends in flight at the kill go twice) and never lost. A failed attempt waits with
exponential back-off and jitter; the sweep queues what is due, and what a lost task or a broker
outage left behind.
"""

from __future__ import annotations

import logging
import random
import smtplib
import time
from collections.abc import Iterable
from datetime import timedelta
from functools import partial

from django.core.mail import get_connection
from django.db import models, transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from agencies.models import User

from . import emails, webhooks
from .models import AgencyChannels, Delivery, NotificationPreference, WebhookEndpoint
from .registry import item_type, load_item

logger = logging.getLogger(__name__)

# Emails per task: a batch is short (about a second), so that a worker busy with one soon takes a
# domain event waiting behind it; the SMTP connection is still shared by the batch.
EMAIL_BATCH_SIZE = 25
# Deliveries claimed for queueing per round of a sweep (a sweep runs rounds until none is left).
QUEUE_ROUND = 2000
QUEUE_ROUNDS = 25
# A queued delivery is not queued again for this long: long enough for a backlog to drain, short
# enough that a lost task delays it by minutes, not hours.
QUEUED_LEASE = timedelta(minutes=10)
# An email delivery that nothing queued (its fan-out died before queueing) is swept after this.
GRACE_PERIOD = timedelta(minutes=2)
# The waits between attempts; after the last one the delivery has failed.
EMAIL_RETRY_DELAYS = tuple(timedelta(minutes=m) for m in (1, 5, 15, 60, 240))
WEBHOOK_RETRY_DELAYS = (
    timedelta(seconds=30),
    timedelta(minutes=2),
    timedelta(minutes=10),
    timedelta(minutes=30),
    timedelta(hours=1),
    timedelta(hours=2),
    timedelta(hours=4),
    timedelta(hours=8),
    timedelta(hours=8),
)
JITTER = 0.2
DIGEST_PERIOD = timedelta(days=1)

SENDABLE = (Delivery.Channel.EMAIL, Delivery.Channel.WEBHOOK)


# --- Queueing -----------------------------------------------------------------------------------


def queue_sending(*, dispatch_id: int) -> int:
    """Queue the email and webhook deliveries of a dispatch that nothing has queued yet (after its
    fan-out); returns how many were claimed for queueing."""
    return _lease_and_queue(Delivery.objects.filter(dispatch_id=dispatch_id, next_attempt_at__isnull=True))


def resume_sending(*, dispatch_id: int) -> int:
    """Queue again the email and webhook deliveries of a dispatch that were never attempted: its
    fan-out's worker died after recording them, perhaps before queueing them. They keep the lease
    the fan-out gave them (no row is written); some may be queued already, and sending them twice is
    prevented by their row lock and state. Returns how many were queued."""
    rows = list(
        Delivery.objects.filter(dispatch_id=dispatch_id, state=Delivery.State.PENDING, channel__in=SENDABLE, attempts=0)
        .order_by("pk")
        .values_list("pk", "channel")
    )
    queue_deliveries(
        [pk for pk, channel in rows if channel == Delivery.Channel.EMAIL],
        [pk for pk, channel in rows if channel == Delivery.Channel.WEBHOOK],
    )
    return len(rows)


def queue_due_deliveries(*, grace: timedelta = GRACE_PERIOD) -> int:
    """Queue the pending deliveries whose next attempt is due, and those that nothing queued within
    the grace period; run by the sweep every minute."""
    now = timezone.now()
    due = Q(next_attempt_at__lte=now) | Q(next_attempt_at__isnull=True, created_at__lt=now - grace)
    return _lease_and_queue(Delivery.objects.filter(due))


def _lease_and_queue(deliveries: models.QuerySet) -> int:
    pending = deliveries.filter(state=Delivery.State.PENDING, channel__in=SENDABLE)
    total = 0
    for _round in range(QUEUE_ROUNDS):
        with transaction.atomic():
            rows = list(
                pending.select_for_update(skip_locked=True).order_by("pk").values_list("pk", "channel")[:QUEUE_ROUND]
            )
            Delivery.objects.filter(pk__in=[pk for pk, _ in rows]).update(next_attempt_at=timezone.now() + QUEUED_LEASE)
            email_ids = [pk for pk, channel in rows if channel == Delivery.Channel.EMAIL]
            webhook_ids = [pk for pk, channel in rows if channel == Delivery.Channel.WEBHOOK]
            transaction.on_commit(partial(queue_deliveries, email_ids, webhook_ids))
        total += len(rows)
        if len(rows) < QUEUE_ROUND:
            break
    return total


def queue_deliveries(email_ids: list[int], webhook_ids: list[int]) -> None:
    """Send the tasks; at the first broker failure stop, since the rest would fail the same way:
    their lease runs out and the sweep queues them again."""
    from .tasks import enqueue, send_email_batch, send_webhook

    for start in range(0, len(email_ids), EMAIL_BATCH_SIZE):
        if not enqueue(send_email_batch, email_ids[start : start + EMAIL_BATCH_SIZE]):
            return
    for delivery_id in webhook_ids:
        if not enqueue(send_webhook, delivery_id):
            return


def _next_attempt(delivery: Delivery, *, error: str, delays: tuple[timedelta, ...], final: bool = False) -> None:
    """Record a failed attempt: wait the next delay (± JITTER) or, after the last one, fail."""
    delivery.attempts += 1
    delivery.last_error = error[:2000]
    if final or delivery.attempts > len(delays):
        delivery.state = Delivery.State.FAILED
        delivery.next_attempt_at = None
    else:
        delay = delays[delivery.attempts - 1].total_seconds()
        jitter = random.uniform(1 - JITTER, 1 + JITTER)  # noqa: S311 - spreading retries, not a secret
        delivery.next_attempt_at = timezone.now() + timedelta(seconds=delay * jitter)
    delivery.save(update_fields=["attempts", "last_error", "state", "next_attempt_at"])
    logger.warning("Delivery %s failed (attempt %s): %s", delivery.pk, delivery.attempts, delivery.last_error)


def _mark_sent(delivery: Delivery) -> None:
    delivery.attempts += 1
    delivery.state = Delivery.State.SENT
    delivery.sent_at = timezone.now()
    delivery.next_attempt_at = None
    delivery.last_error = ""
    delivery.save(update_fields=["attempts", "state", "sent_at", "next_attempt_at", "last_error"])


def _claim(delivery_id: int, channel: str) -> Delivery | None:
    """Lock a pending delivery for this transaction, or None if it is sent, failed or being sent."""
    return (
        Delivery.objects.select_for_update(skip_locked=True, of=("self",))
        .select_related("dispatch", "recipient__agency", "endpoint")
        .filter(pk=delivery_id, channel=channel, state=Delivery.State.PENDING)
        .first()
    )


# --- Email --------------------------------------------------------------------------------------


def send_emails(*, delivery_ids: Iterable[int]) -> int:
    """Send the email of each delivery over one SMTP connection; returns how many were sent now."""
    connection = get_connection()
    notices: dict = {}
    sent = 0
    try:
        for delivery_id in delivery_ids:
            # Opened here, the connection stays open for the next message (a send opening its own
            # would close it again); after a failure it is opened anew.
            _open_quietly(connection)
            sent += send_email(delivery_id=delivery_id, connection=connection, notices=notices)
    finally:
        _close_quietly(connection)
    return sent


def _open_quietly(connection) -> None:
    try:
        connection.open()
    except (smtplib.SMTPException, OSError):
        logger.info("Opening the SMTP connection failed; the send records why", exc_info=True)


def _close_quietly(connection) -> None:
    try:
        connection.close()
    except (smtplib.SMTPException, OSError):
        logger.info("Closing the SMTP connection failed", exc_info=True)


def _is_permanent(error: Exception) -> bool:
    """A recipient address the server refuses for good (5xx) is not worth another attempt."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return all(code >= 500 for code, _message in error.recipients.values())
    return False


def send_email(*, delivery_id: int, connection=None, notices: dict | None = None) -> bool:
    """Send one email delivery if it is pending and nobody is sending it; True if it went now."""
    with transaction.atomic():
        delivery = _claim(delivery_id, Delivery.Channel.EMAIL)
        if delivery is None:
            return False
        person = delivery.recipient
        if not (person.is_active and person.agency.is_active and person.email):
            _next_attempt(delivery, error="The recipient has no active account or no email address.",
                          delays=EMAIL_RETRY_DELAYS, final=True)  # fmt: skip
            return False
        try:
            message = emails.notification_email(delivery, connection=connection, cache=notices)
        except Exception as error:
            logger.exception("Composing the email of delivery %s failed", delivery.pk)
            _next_attempt(delivery, error=f"Could not compose the email: {error}", delays=EMAIL_RETRY_DELAYS)
            return False
        try:
            message.send()
        except (smtplib.SMTPException, OSError) as error:
            if connection is not None:
                _close_quietly(connection)
            _next_attempt(delivery, error=f"{error.__class__.__name__}: {error}", delays=EMAIL_RETRY_DELAYS,
                          final=_is_permanent(error))  # fmt: skip
            return False
        _mark_sent(delivery)
    return True


# --- Daily digest -------------------------------------------------------------------------------


def digest_recipient_ids() -> list[int]:
    """The people who chose a daily digest and can be emailed."""
    email_off = AgencyChannels.objects.filter(agency=OuterRef("agency"), email_enabled=False)
    return list(
        User.objects.filter(
            notification_preference__email_mode=NotificationPreference.EmailMode.DIGEST,
            is_active=True,
            agency__is_active=True,
        )
        .exclude(email="")
        .exclude(Exists(email_off))
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def send_digest(*, person_id: int) -> int:
    """Email one person the items that reached their inbox in the past day and were not emailed yet,
    recording an email delivery per item; returns how many items it listed (0: no email).

    Run twice, it sends nothing the second time: the email deliveries it records exclude the items.
    """
    now = timezone.now()
    with transaction.atomic():
        preference = (
            NotificationPreference.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("person__agency")
            .filter(person_id=person_id, email_mode=NotificationPreference.EmailMode.DIGEST)
            .first()
        )
        if preference is None:
            return 0
        person = preference.person
        if not (person.is_active and person.agency.is_active and person.email):
            return 0
        mine = Delivery.objects.filter(recipient=person)
        emailed = mine.filter(dispatch=OuterRef("dispatch"), channel=Delivery.Channel.EMAIL)
        inbox = list(
            mine.filter(channel=Delivery.Channel.INBOX, created_at__gte=now - DIGEST_PERIOD)
            .exclude(Exists(emailed))
            .select_related("dispatch")
            .order_by("created_at", "pk")
        )
        if not inbox:
            return 0
        Delivery.objects.bulk_create(
            [
                Delivery(
                    dispatch=delivery.dispatch,
                    channel=Delivery.Channel.EMAIL,
                    recipient=person,
                    is_full_text=delivery.is_full_text,
                    state=Delivery.State.SENT,
                    sent_at=now,
                    attempts=1,
                    message_id=None,
                )
                for delivery in inbox
            ]
        )
        # Sent inside the transaction: if it fails, nothing is recorded and a retry lists the same items.
        emails.digest_email(person=person, deliveries=inbox).send()
    return len(inbox)


# --- Webhooks -----------------------------------------------------------------------------------


def message_id(delivery: Delivery) -> str:
    """The `webhook-id`: the same on every attempt of one delivery, so receivers de-duplicate on it."""
    return f"msg_{delivery.message_id.hex}" if delivery.message_id else f"msg_{delivery.pk}"


def webhook_payload(delivery: Delivery) -> tuple[bytes, str]:
    """The item in the endpoint's format. A format the item has no payload for (CAP for threat
    products, which are not alerts) falls back to JSON."""
    dispatch = delivery.dispatch
    payloads = item_type(dispatch.item_type).payloads
    build = payloads.get(delivery.endpoint.payload_format) or payloads["json"]
    return build(load_item(dispatch.item_type, dispatch.item_id), delivery.is_full_text)


def send_webhook(*, delivery_id: int) -> bool:
    """POST one webhook delivery if it is pending and nobody is sending it; True if it was accepted."""
    with transaction.atomic():
        delivery = _claim(delivery_id, Delivery.Channel.WEBHOOK)
        if delivery is None:
            return False
        endpoint = delivery.endpoint
        if not endpoint.is_active:
            _next_attempt(delivery, error=f"The endpoint is disabled: {endpoint.disabled_reason or 'by an admin'}.",
                          delays=WEBHOOK_RETRY_DELAYS, final=True)  # fmt: skip
            return False
        try:
            body, content_type = webhook_payload(delivery)
            request_headers = webhooks.headers(
                secret=endpoint.secret,
                message_id=message_id(delivery),
                timestamp=int(time.time()),
                body=body,
                content_type=content_type,
            )
        except Exception as error:
            logger.exception("Building the request of delivery %s failed", delivery.pk)
            _next_attempt(delivery, error=f"Could not build the request: {error}", delays=WEBHOOK_RETRY_DELAYS)
            return False
        attempt = webhooks.post(url=endpoint.url, body=body, request_headers=request_headers)
        if attempt.is_success:
            _mark_sent(delivery)
            return True
        if attempt.status == 410:
            _disable_endpoint(endpoint, reason=f"The receiver answered 410 Gone on {timezone.now():%Y-%m-%d %H:%M %Z}.")
            _next_attempt(delivery, error=attempt.error, delays=WEBHOOK_RETRY_DELAYS, final=True)
            return False
        error = attempt.error + (f" (to {attempt.location})" if attempt.location else "")
        _next_attempt(delivery, error=error, delays=WEBHOOK_RETRY_DELAYS)
    return False


def _disable_endpoint(endpoint: WebhookEndpoint, *, reason: str) -> None:
    """An endpoint that answers 410 Gone wants no more: turn it off and fail what waits for it."""
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(is_active=False, disabled_reason=reason[:250])
    endpoint.is_active, endpoint.disabled_reason = False, reason[:250]
    waiting = Delivery.objects.filter(endpoint=endpoint, state=Delivery.State.PENDING)
    # Those being sent right now are left to their sender, which finds the endpoint disabled or gone.
    waiting_ids = list(waiting.select_for_update(skip_locked=True).values_list("pk", flat=True))
    Delivery.objects.filter(pk__in=waiting_ids).update(
        state=Delivery.State.FAILED, next_attempt_at=None, last_error=f"The endpoint was disabled: {reason}"
    )
    logger.warning("Webhook endpoint %s disabled: %s", endpoint.pk, reason)
