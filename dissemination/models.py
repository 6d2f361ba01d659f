"""The outbox: domain events for other apps to react to, and dispatches of items to their audience."""

from __future__ import annotations

import uuid
from urllib.parse import urlsplit

from django.conf import settings
from django.db import models
from django.utils import timezone


class DomainEvent(models.Model):
    """Something that happened that other apps react to, written in the transaction that caused it.

    After commit a task hands it to the handlers registered for its kind and marks it handled;
    the periodic sweep retries events left unhandled, so a crash delays a reaction, never loses it.
    """

    kind = models.CharField(max_length=60, db_index=True)
    subject_type = models.CharField(max_length=60, help_text="app_label.model of the subject")
    subject_id = models.BigIntegerField()
    payload = models.JSONField(default=dict, blank=True)
    occurred_at = models.DateTimeField(default=timezone.now)
    handled_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)

    class Meta:
        ordering = ["occurred_at", "pk"]
        indexes = [
            models.Index(fields=["occurred_at"], condition=models.Q(handled_at__isnull=True), name="event_unhandled"),
            models.Index(fields=["subject_type", "subject_id"], name="event_subject"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.subject_type}#{self.subject_id}"


class Dispatch(models.Model):
    """One item sent to its audience: a publish, an update or a retraction. Its deliveries are the
    dissemination record (who received what, when, through which channel)."""

    class Action(models.TextChoices):
        PUBLISH = "publish", "Published"
        UPDATE = "update", "Updated"
        RETRACT = "retract", "Retracted"

    class State(models.TextChoices):
        PENDING = "pending", "Pending"
        FANNING_OUT = "fanning_out", "Fanning out"
        FANNED_OUT = "fanned_out", "Recipients recorded"

    item_type = models.CharField(max_length=60, help_text="app_label.model of the item")
    item_id = models.BigIntegerField()
    action = models.CharField(max_length=20, choices=Action.choices)
    state = models.CharField(max_length=20, choices=State.choices, default=State.PENDING, db_index=True)
    originating_agency = models.ForeignKey("agencies.Agency", on_delete=models.PROTECT, related_name="dispatches")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    reason = models.TextField(blank=True, help_text="The reason for release, when it leaves its agency.")
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    recipients_total = models.PositiveIntegerField(null=True, blank=True)
    recipients_done = models.PositiveIntegerField(default=0, help_text="Progress of a running fan-out.")

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["item_type", "item_id"], name="dispatch_item")]

    def __str__(self) -> str:
        return f"{self.get_action_display()} {self.item_type}#{self.item_id}"


class Delivery(models.Model):
    """One item delivered to one person through one channel (or to one agency's webhook endpoint).
    Unique per dispatch, recipient and channel, so a fan-out run twice delivers nothing twice."""

    class Channel(models.TextChoices):
        INBOX = "inbox", "Inbox"
        EMAIL = "email", "Email"
        WEBHOOK = "webhook", "Webhook"

    class State(models.TextChoices):
        PENDING = "pending", "Pending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"
        READ = "read", "Read"
        ACKNOWLEDGED = "acknowledged", "Acknowledged"

    # No index of their own: the constraints and indexes below lead with them (see Meta).
    dispatch = models.ForeignKey(Dispatch, on_delete=models.PROTECT, related_name="deliveries", db_index=False)
    channel = models.CharField(max_length=10, choices=Channel.choices)
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="deliveries",
        db_index=False,
    )
    endpoint = models.ForeignKey(
        "WebhookEndpoint", null=True, blank=True, on_delete=models.PROTECT, related_name="deliveries", db_index=False
    )
    is_full_text = models.BooleanField(default=True, help_text="False: the recipient gets the tearline only.")
    state = models.CharField(max_length=15, choices=State.choices, default=State.PENDING)
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)
    read_at = models.DateTimeField(null=True, blank=True)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    message_id = models.UUIDField(
        null=True,
        blank=True,
        default=uuid.uuid4,
        editable=False,
        help_text="The webhook-id a receiver de-duplicates on: the same on every attempt.",
    )

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name_plural = "deliveries"
        # A fan-out writes one row per person and channel, and pays for every index on each: these are
        # the few the reads need. Person rows (inbox, email) enter three; only pending email and
        # webhook deliveries enter the sending queue's index, and only webhook rows the endpoints'.
        constraints = [
            # Also the index of a dispatch's deliveries (its record, its sending). Webhook rows (no
            # recipient) never collide here: NULLs are distinct.
            models.UniqueConstraint(
                fields=["dispatch", "recipient", "channel"], name="delivery_once_per_person_and_channel"
            ),
            models.UniqueConstraint(
                fields=["dispatch", "endpoint"],
                condition=models.Q(endpoint__isnull=False),
                name="delivery_once_per_endpoint",
            ),
            models.CheckConstraint(
                condition=models.Q(recipient__isnull=False, endpoint__isnull=True)
                | models.Q(recipient__isnull=True, endpoint__isnull=False, channel="webhook"),
                name="delivery_has_one_recipient",
            ),
        ]
        indexes = [
            # A person's inbox; also a person's deliveries of any channel.
            models.Index(fields=["recipient", "channel", "-created_at"], name="delivery_inbox"),
            # What the sending queue and its sweep look for: pending deliveries, by when they are due.
            models.Index(
                fields=["next_attempt_at"], condition=models.Q(state="pending"), name="delivery_to_send_pending"
            ),
            models.Index(fields=["endpoint"], condition=models.Q(endpoint__isnull=False), name="delivery_endpoint"),
        ]

    def __str__(self) -> str:
        return f"{self.get_channel_display()} delivery {self.pk}"


class NotificationPreference(models.Model):
    """How a person wants email: at once, in a daily digest, or not at all (the inbox always gets it)."""

    class EmailMode(models.TextChoices):
        IMMEDIATE = "immediate", "At once"
        DIGEST = "digest", "Daily digest"
        OFF = "off", "No email"

    person = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notification_preference"
    )
    email_mode = models.CharField(max_length=10, choices=EmailMode.choices, default=EmailMode.IMMEDIATE)

    def __str__(self) -> str:
        return f"{self.person_id}: {self.email_mode}"


class AgencyChannels(models.Model):
    """An agency's own configuration of the channels its people are reached by."""

    agency = models.OneToOneField("agencies.Agency", on_delete=models.CASCADE, related_name="channels")
    email_enabled = models.BooleanField(default=True)

    class Meta:
        verbose_name = "agency channels"
        verbose_name_plural = "agency channels"

    def __str__(self) -> str:
        return f"{self.agency_id}: email {'on' if self.email_enabled else 'off'}"


class WebhookEndpoint(models.Model):
    """An agency's system that receives signed webhooks (Standard Webhooks)."""

    class Format(models.TextChoices):
        JSON = "json", "JSON"
        CAP = "cap", "CAP 1.2"
        STIX = "stix", "STIX 2.1"

    agency = models.ForeignKey("agencies.Agency", on_delete=models.CASCADE, related_name="webhook_endpoints")
    url = models.URLField(max_length=500)
    secret = models.CharField(max_length=100, help_text="whsec_… — shown once when created.")
    payload_format = models.CharField("format", max_length=10, choices=Format.choices, default=Format.JSON)
    is_active = models.BooleanField(default=True)
    disabled_reason = models.CharField(max_length=250, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["agency", "url"]

    def __str__(self) -> str:
        return self.url

    @property
    def origin(self) -> str:
        """What the sending side is shown of the endpoint (its scheme and host): the rest of the address,
        and any name and password in it, may carry the receiving agency's token."""
        return url_origin(self.url)


def url_origin(url: str) -> str:
    parts = urlsplit(url or "")
    host = parts.netloc.rpartition("@")[2]
    return f"{parts.scheme}://{host}" if host else ""
