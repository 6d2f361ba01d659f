"""The audit trail's tables: entries as they are written, and the archive of entries past retention.

Both are append-only: a trigger (migration 0003) refuses UPDATE, DELETE and TRUNCATE, except the
archive task's move of old entries (agencies/audit.py).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


class AuditAction(models.TextChoices):
    # A sign-in is both factors; the password alone is its own step, the code still to come.
    PASSWORD_ACCEPTED = "password_accepted", "Password accepted (code step next)"
    SIGN_IN = "sign_in", "Signed in"
    SIGN_IN_FAILED = "sign_in_failed", "Sign-in failed"
    SIGN_OUT = "sign_out", "Signed out"
    VIEW = "view", "Viewed"
    DOWNLOAD = "download", "Downloaded"
    EXPORT = "export", "Exported"
    SEARCH = "search", "Searched"
    OPEN = "open", "Opened from the inbox"
    MARKINGS_CHANGED = "markings_changed", "Markings changed"
    AUDIENCE_CHANGED = "audience_changed", "Audience changed"
    PUBLISH = "publish", "Published"
    UPDATE = "update", "Update published"
    RETRACT = "retract", "Retracted"
    RETENTION_VALIDATED = "retention_validated", "Validated for retention (28 CFR Part 23)"
    PURGED = "purged", "Purged (28 CFR Part 23)"
    RELAY = "relay", "Relayed"
    DISSEMINATE = "disseminate", "Disseminated"
    PERSON_ADDED = "person_added", "Person added"
    PERSON_CHANGED = "person_changed", "Person changed"
    ROLES_CHANGED = "roles_changed", "Roles changed"
    ACCOUNT_UNLOCKED = "account_unlocked", "Account unlocked"
    SECOND_FACTOR_RESET = "second_factor_reset", "Second factor reset"
    ENROLMENT_CODE_ISSUED = "enrolment_code_issued", "Enrolment code issued"
    AGENCY_ACTIVATED = "agency_activated", "Agency activated"
    AGENCY_DEACTIVATED = "agency_deactivated", "Agency deactivated"
    AGENCY_SIGN_IN_RULES_CHANGED = "agency_sign_in_rules_changed", "Agency sign-in rules changed"
    ADMIN_CHANGE = "admin_change", "Changed in the admin"
    AUDIT_SEARCH = "audit_search", "Audit trail searched"
    AUDIT_EXPORT = "audit_export", "Audit trail exported"


class AuditOutcome(models.TextChoices):
    SUCCESS = "success", "Success"
    FAILURE = "failure", "Failure"
    DENIED = "denied", "Denied"


class AuditRecord(models.Model):
    """Who did what to which item, when, from where, and how it ended."""

    at = models.DateTimeField(default=timezone.now)
    action = models.CharField(max_length=40, choices=AuditAction.choices)
    outcome = models.CharField(max_length=20, choices=AuditOutcome.choices, default=AuditOutcome.SUCCESS)
    # The person, and their username and agency as they were at the time (a failed sign-in may name
    # no one who exists). PROTECT: a person with audit entries is deactivated, never deleted.
    person = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    username = models.CharField(max_length=150, blank=True)
    agency = models.ForeignKey("agencies.Agency", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    item_type = models.CharField(max_length=60, blank=True, help_text="app_label.model of the item")
    item_id = models.BigIntegerField(null=True, blank=True)
    item_label = models.CharField(max_length=200, blank=True, help_text="The item's number or name at the time.")
    address = models.GenericIPAddressField("network address", null=True, blank=True)
    user_agent = models.CharField(max_length=300, blank=True)
    detail = models.JSONField(default=dict, blank=True)

    class Meta:
        abstract = True

    def __str__(self) -> str:
        item = f" {self.item_label or self.item_type}" if self.item_type else ""
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.username or '-'} {self.action}{item} ({self.outcome})"


class AuditEntry(AuditRecord):
    class Meta:
        ordering = ["-pk"]
        verbose_name_plural = "audit entries"
        indexes = [
            models.Index(fields=["at"], name="audit_at"),
            models.Index(fields=["person", "-id"], name="audit_person"),
            models.Index(fields=["agency", "-id"], name="audit_agency"),
            models.Index(fields=["item_type", "item_id", "-id"], name="audit_item"),
            models.Index(fields=["action", "-id"], name="audit_action"),
        ]


class ArchivedAuditEntry(AuditRecord):
    """An entry older than the retention period, moved here by the archive task with its id."""

    id = models.BigIntegerField(primary_key=True)
    archived_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-pk"]
        verbose_name_plural = "archived audit entries"
        indexes = [
            models.Index(fields=["at"], name="audit_archive_at"),
            models.Index(fields=["person", "-id"], name="audit_archive_person"),
            models.Index(fields=["item_type", "item_id", "-id"], name="audit_archive_item"),
        ]
