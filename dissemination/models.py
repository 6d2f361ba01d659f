"""The outbox: domain events for other apps to react to, and dispatches of items to their audience."""

from __future__ import annotations

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

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["item_type", "item_id"], name="dispatch_item")]

    def __str__(self) -> str:
        return f"{self.get_action_display()} {self.item_type}#{self.item_id}"
