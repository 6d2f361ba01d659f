"""Writes of the recipients' side: opening and acknowledging inbox deliveries, a person's email
preference, an agency's channels, its webhook endpoints' switches and their test messages."""

from __future__ import annotations

import json
import logging
from functools import partial

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Case, F, Value, When
from django.db.models.functions import Coalesce
from django.utils import timezone
from redis.exceptions import RedisError

from agencies.models import Agency, User

from . import sending
from .models import AgencyChannels, Delivery, Dispatch, NotificationPreference, WebhookEndpoint
from .registry import ItemSummary, ItemType
from .selectors import may_manage_agency, unread_count_key

logger = logging.getLogger(__name__)


def _forget_unread_count(person: User) -> None:
    """The header's cached count is stale once the person has read something."""
    try:
        cache.delete(unread_count_key(person.pk))
    except RedisError:
        logger.warning("The cache did not answer; the header's unread count may lag for a while.")


def _own_inbox_delivery(delivery: Delivery, by: User) -> None:
    if delivery.channel != Delivery.Channel.INBOX:
        raise ValidationError({"channel": "Only inbox deliveries are read or acknowledged here."})
    if delivery.recipient_id != by.pk:
        raise PermissionDenied("Only its recipient reads or acknowledges a delivery.")


def mark_read(*, delivery: Delivery, by: User) -> Delivery:
    """The recipient has opened the delivery: it is read from now on (the first time counts)."""
    _own_inbox_delivery(delivery, by)
    with transaction.atomic(durable=True):
        Delivery.objects.filter(pk=delivery.pk, read_at__isnull=True).update(
            read_at=timezone.now(),
            state=Case(
                When(state__in=[Delivery.State.PENDING, Delivery.State.SENT], then=Value(Delivery.State.READ)),
                default=F("state"),
            ),
        )
    _forget_unread_count(by)
    delivery.refresh_from_db(fields=["state", "read_at", "acknowledged_at"])
    return delivery


def mark_item_read(*, item, person: User) -> int:
    """The person opened the item itself (not through the inbox): its inbox deliveries to them are read
    too. One UPDATE; returns how many were unread."""
    updated = Delivery.objects.filter(
        recipient=person,
        channel=Delivery.Channel.INBOX,
        read_at__isnull=True,
        dispatch__item_type=item._meta.label_lower,
        dispatch__item_id=item.pk,
    ).update(
        read_at=timezone.now(),
        state=Case(
            When(state__in=[Delivery.State.PENDING, Delivery.State.SENT], then=Value(Delivery.State.READ)),
            default=F("state"),
        ),
    )
    if updated:
        _forget_unread_count(person)
    return updated


def acknowledge_delivery(*, delivery: Delivery, by: User) -> Delivery:
    """The recipient confirms they have taken note; the originator sees who did and when. Read too, if
    it was not yet. Acknowledging twice changes nothing."""
    _own_inbox_delivery(delivery, by)
    now = timezone.now()
    with transaction.atomic(durable=True):
        Delivery.objects.filter(pk=delivery.pk, acknowledged_at__isnull=True).update(
            acknowledged_at=now, read_at=Coalesce(F("read_at"), Value(now)), state=Delivery.State.ACKNOWLEDGED
        )
    _forget_unread_count(by)
    delivery.refresh_from_db(fields=["state", "read_at", "acknowledged_at"])
    return delivery


def set_notification_preference(*, person: User, email_mode: str) -> NotificationPreference:
    """How the person wants email: at once, in a daily digest, or none (the inbox always gets it)."""
    if email_mode not in NotificationPreference.EmailMode.values:
        raise ValidationError({"email_mode": "Choose at once, a daily digest, or no email."})
    with transaction.atomic(durable=True):
        preference, _ = NotificationPreference.objects.update_or_create(
            person=person, defaults={"email_mode": email_mode}
        )
    return preference


def _must_manage(by: User, agency_id: int, what: str) -> None:
    if not may_manage_agency(by, agency_id):
        raise PermissionDenied(f"Only the agency's admins and system admins change its {what}.")


def set_agency_channels(*, agency: Agency, email_enabled: bool, by: User) -> AgencyChannels:
    """Whether the agency's people are reached by email (the inbox always reaches them)."""
    _must_manage(by, agency.pk, "channels")
    with transaction.atomic(durable=True):
        channels, _ = AgencyChannels.objects.update_or_create(agency=agency, defaults={"email_enabled": email_enabled})
    return channels


def set_webhook_endpoint_active(*, endpoint: WebhookEndpoint, is_active: bool, by: User) -> WebhookEndpoint:
    """Switch an endpoint on or off. Switching it on clears the reason it was switched off (a 410 from
    the receiver, say); deliveries recorded while it was off are not sent again."""
    _must_manage(by, endpoint.agency_id, "webhook endpoints")
    with transaction.atomic(durable=True):
        endpoint = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
        endpoint.is_active = is_active
        if is_active:
            endpoint.disabled_reason = ""
        elif not endpoint.disabled_reason:
            endpoint.disabled_reason = f"Switched off by {by}."
        endpoint.save(update_fields=["is_active", "disabled_reason"])
    return endpoint


def set_webhook_payload_format(*, endpoint: WebhookEndpoint, payload_format: str, by: User) -> WebhookEndpoint:
    """Which payload the endpoint receives from now on: JSON, CAP 1.2 or STIX 2.1."""
    _must_manage(by, endpoint.agency_id, "webhook endpoints")
    if payload_format not in WebhookEndpoint.Format.values:
        raise ValidationError({"payload_format": "Choose JSON, CAP 1.2 or STIX 2.1."})
    with transaction.atomic(durable=True):
        WebhookEndpoint.objects.filter(pk=endpoint.pk).update(payload_format=payload_format)
    endpoint.refresh_from_db(fields=["payload_format"])
    return endpoint


# --- Test messages to a webhook endpoint ----------------------------------------------------------
#
# A test is a real webhook delivery, so it is signed, retried, recorded and retried by hand like any
# other: its dispatch carries the endpoint itself as its item (registered as an item type in
# DisseminationConfig.ready), and it reaches nobody else.

TEST_REASON = "Test message from the webhook endpoint's page."


def _test_summary(endpoint: WebhookEndpoint, full_text: bool) -> ItemSummary:
    return ItemSummary(
        number=f"TEST-{endpoint.pk}",
        kind="Webhook test",
        title=f"Test message to {endpoint.url}",
        url="",
        text="A test message: no information was shared.",
        is_restricted=False,
    )


def _test_payload(endpoint: WebhookEndpoint, full_text: bool) -> tuple[bytes, str]:
    body = {
        "type": "webhook_test",
        "endpoint": endpoint.pk,
        "agency": endpoint.agency.acronym,
        "message": "A test message from FusionHub: this endpoint receives and verifies signed webhooks.",
        "site": settings.SITE_URL,
        "sent_at": timezone.now().isoformat(),
    }
    return json.dumps(body).encode(), "application/json"


WEBHOOK_TEST = ItemType(
    label="dissemination.webhookendpoint", summarize=_test_summary, payloads={"json": _test_payload}
)


def send_test_webhook(*, endpoint: WebhookEndpoint, by: User) -> Delivery:
    """Queue a signed test message to the endpoint after commit; its outcome shows like any delivery's."""
    _must_manage(by, endpoint.agency_id, "webhook endpoints")
    if not endpoint.is_active:
        raise ValidationError({"endpoint": "The endpoint is switched off: switch it on before testing it."})
    with transaction.atomic(durable=True):
        now = timezone.now()
        dispatch = Dispatch.objects.create(
            item_type=WEBHOOK_TEST.label,
            item_id=endpoint.pk,
            action=Dispatch.Action.PUBLISH,
            state=Dispatch.State.FANNED_OUT,
            originating_agency_id=endpoint.agency_id,
            created_by=by,
            reason=TEST_REASON,
            started_at=now,
            finished_at=now,
            recipients_total=0,
        )
        delivery = Delivery.objects.create(
            dispatch=dispatch,
            channel=Delivery.Channel.WEBHOOK,
            endpoint=endpoint,
            state=Delivery.State.PENDING,
            next_attempt_at=now + sending.QUEUED_LEASE,
        )
        transaction.on_commit(partial(sending.queue_deliveries, [], [delivery.pk]))
    return delivery
