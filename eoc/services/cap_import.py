"""Importing CAP 1.2 alerts as warning entries of an incident feed or an EOC-wide feed."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from agencies.markings import TLP
from agencies.models import Agency, User

from ..cap import PRIORITY_OF_URGENCY, parse_cap
from ..models import FeedEntry, Incident
from .feed import EntryContent, may_post_to, post_entry


def _already_imported(by: User, alert) -> FeedEntry | None:
    """The entry an earlier import of the alert made, if any. One in a feed the person may not see (an
    exercise they take no part in, an entry marked for others) is not shown to them, nor named."""
    existing = FeedEntry.objects.filter(cap_sender=alert.sender, cap_identifier=alert.identifier).first()
    if existing is None:
        return None
    if not FeedEntry.objects.visible_to(by).filter(pk=existing.pk).exists():
        raise ValidationError({"document": "This alert was already imported, into a feed you do not see."})
    return existing


def import_cap_alert(
    *, by: User, data: bytes, incident: Incident | None = None, eoc: Agency | None = None
) -> tuple[FeedEntry, bool]:
    """Turn a CAP alert into a warning entry; returns (entry, created). The same alert imported
    again returns the entry it made the first time. Updates and cancellations link to the entry
    of the alert they reference."""
    alert = parse_cap(data)
    target_eoc = incident.lead_eoc if incident is not None else eoc
    if target_eoc is None:
        raise ValidationError({"incident": "Choose the incident, or the EOC whose feed receives the alert."})
    if not may_post_to(by, eoc=target_eoc, incident=incident):
        raise PermissionDenied("Only coordinators of the agencies taking part in the incident add alerts to its feed.")
    existing = _already_imported(by, alert)
    if existing is not None:
        return existing, False
    referenced = None
    for sender, identifier in alert.references:
        referenced = FeedEntry.objects.visible_to(by).filter(cap_sender=sender, cap_identifier=identifier).first()
        if referenced is not None:
            break
    prefix = {"Cancel": "Cancelled: ", "Update": "Update: "}.get(alert.msg_type, "")
    if alert.status in {"Exercise", "Test", "Draft"}:
        prefix = f"{alert.status.upper()}: {prefix}"
    body = "\n\n".join(part for part in (alert.description, alert.instruction) if part)
    content = EntryContent(
        kind=FeedEntry.Kind.WARNING,
        title=(prefix + (alert.headline or alert.event))[:250],
        body=body,
        priority=PRIORITY_OF_URGENCY.get(alert.urgency, FeedEntry.Priority.ROUTINE),
        occurred_at=min(alert.sent, timezone.now()),
        tlp=TLP.CLEAR if alert.scope == "Public" else TLP.AMBER,
        cap={
            "identifier": alert.identifier,
            "sender": alert.sender,
            "sent": alert.sent,
            "msg_type": alert.msg_type,
            "severity": alert.severity,
            "urgency": alert.urgency,
            "certainty": alert.certainty,
            "area": alert.areas,
        },
    )
    try:
        with transaction.atomic():
            entry = post_entry(by=by, content=content, incident=incident, eoc=target_eoc, corrects=referenced)
    except ValidationError as error:
        if "cap" in getattr(error, "message_dict", {}):
            # Imported at the same moment by someone else: theirs stands.
            return _already_imported(by, alert), False
        raise
    return entry, True
