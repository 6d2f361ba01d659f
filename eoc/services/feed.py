"""Writes of the incident feed: post (with attachments), correct, acknowledge. Entries are never
edited or deleted, and their attachments come with them or not at all."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.utils import timezone

from agencies.markings import TLP, Caveat
from agencies.models import Agency, Role, User
from agencies.uploads import check_file, sha256_of, store_by_content
from dissemination.services import record_event

from ..live import announce_entry
from ..models import FeedAcknowledgement, FeedEntry, FeedEntryAttachment, Incident, feed_attachment_path
from .incidents import validate_location

K = FeedEntry.Kind
P = FeedEntry.Priority

# Entries the fusion center may want to hear of (the liaison app routes them): posted as events.
NOTEWORTHY_KINDS = {K.WARNING, K.SIGNIFICANT_EVENT}

MAX_ATTACHMENTS = 10


@dataclass
class EntryContent:
    kind: str
    title: str
    body: str = ""
    priority: str = P.ROUTINE
    occurred_at: object = None
    latitude: Decimal | None = None
    longitude: Decimal | None = None
    tlp: str = TLP.GREEN
    caveats: list[str] = field(default_factory=list)
    tearline: str = ""
    audience_agencies: list[Agency] = field(default_factory=list)
    # Set by other apps' services (relays, CAP import), not by people posting.
    source_type: str = ""
    source_id: int | None = None
    cap: dict = field(default_factory=dict)


def may_post_to(person: User, *, eoc: Agency, incident: Incident | None) -> bool:
    """Coordinators and liaison officers of a participating agency post to a feed."""
    if not person.has_role(Role.EOC_COORDINATOR, Role.LIAISON_OFFICER):
        return False
    if incident is None:
        return person.agency_id == eoc.pk or person.has_role(Role.LIAISON_OFFICER)
    if person.agency_id == incident.lead_eoc_id or person.has_role(Role.LIAISON_OFFICER):
        return True
    return incident.supporting_agencies.filter(pk=person.agency_id).exists()


def validate_entry(content: EntryContent, *, incident: Incident | None) -> None:
    errors: dict[str, str] = {}
    if not content.title.strip():
        errors["title"] = "Say what happened, in a line."
    if content.kind not in K.values:
        errors["kind"] = "Choose the kind of entry."
    if content.priority not in P.values:
        errors["priority"] = "Choose routine, priority or flash."
    if content.tlp not in TLP.values:
        errors["tlp"] = "Choose a TLP level."
    if content.tlp == TLP.RED:
        errors["tlp"] = "TLP:RED items go to named people only and are not posted to a feed."
    if any(c not in Caveat.values for c in content.caveats):
        errors["caveats"] = "Unknown caveat."
    if incident is not None and incident.is_closed:
        errors["incident"] = f"Incident {incident.number} is closed: no new entries can be posted to it."
    if content.occurred_at and content.occurred_at > timezone.now() + timedelta(minutes=5):
        errors["occurred_at"] = "The time of the event cannot be in the future."
    validate_location(content.latitude, content.longitude, errors)
    if errors:
        raise ValidationError(errors)


def check_attachments(uploaded_files: Sequence[UploadedFile]) -> list[FeedEntryAttachment]:
    """The attachments to save with a new entry (their files not yet stored), after checking every
    file's content; a ValidationError on `attachments` for the first file refused."""
    if len(uploaded_files) > MAX_ATTACHMENTS:
        raise ValidationError(
            {"attachments": f"An entry may carry at most {MAX_ATTACHMENTS} files; {len(uploaded_files)} were chosen."}
        )
    attachments: list[FeedEntryAttachment] = []
    for uploaded_file in uploaded_files:
        filename, file_type = check_file(uploaded_file, field="attachments")
        sha256 = sha256_of(uploaded_file)
        twin = next((a for a in attachments if a.sha256 == sha256), None)
        if twin is not None:
            raise ValidationError({"attachments": f"{filename} is the same file as {twin.filename}: attach it once."})
        attachments.append(
            FeedEntryAttachment(
                filename=filename, content_type=file_type.content_type, size=uploaded_file.size, sha256=sha256
            )
        )
    return attachments


def _save_attachments(entry: FeedEntry, attachments: list[FeedEntryAttachment], files: Sequence[UploadedFile]) -> None:
    for attachment, uploaded_file in zip(attachments, files, strict=True):
        attachment.entry = entry
        # Stored under the hash after every check: a refused post leaves no file behind; a failed
        # commit may leave an unreferenced file, never a row without its file.
        store_by_content(attachment.file, feed_attachment_path(attachment, attachment.filename), uploaded_file)
    FeedEntryAttachment.objects.bulk_create(attachments)


def _default_audience(eoc: Agency, incident: Incident | None) -> list[Agency]:
    """By default an entry reaches the agencies taking part: the EOC and the incident's supporting agencies."""
    agencies = [eoc]
    if incident is not None:
        agencies += [incident.lead_eoc, *incident.supporting_agencies.all()]
    return list({a.pk: a for a in agencies}.values())


def post_entry(
    *,
    by: User,
    content: EntryContent,
    incident: Incident | None = None,
    eoc: Agency | None = None,
    corrects: FeedEntry | None = None,
    attachments: Sequence[UploadedFile] = (),
    check_permission: bool = True,
) -> FeedEntry:
    """Post an entry to an incident feed (or the EOC-wide feed when no incident is given), with
    its attachments (PDF, PNG or JPEG files, checked by content) in the same transaction: if one
    file is refused, nothing is posted.

    Open pages are told after commit; warnings, flash and significant entries also record a
    durable `feed_entry_posted` event for the liaison app.
    """
    eoc = incident.lead_eoc if incident is not None else eoc
    if eoc is None:
        raise ValidationError({"incident": "Choose the incident, or the EOC for its EOC-wide feed."})
    if check_permission and not may_post_to(by, eoc=eoc, incident=incident):
        raise PermissionDenied("Only coordinators of the agencies taking part in the incident post to its feed.")
    validate_entry(content, incident=incident)
    checked = check_attachments(attachments)
    with transaction.atomic():
        if incident is not None:
            # Lock the incident so an entry cannot slip in as it closes.
            incident = Incident.objects.select_for_update().get(pk=incident.pk)
            validate_entry(content, incident=incident)
        cap = content.cap or {}
        try:
            with transaction.atomic():
                entry = FeedEntry.objects.create(
                    eoc=eoc,
                    incident=incident,
                    kind=content.kind,
                    priority=content.priority,
                    title=content.title.strip(),
                    body=content.body,
                    occurred_at=content.occurred_at or timezone.now(),
                    author=by,
                    author_agency=by.agency,
                    latitude=content.latitude,
                    longitude=content.longitude,
                    corrects=corrects,
                    tlp=content.tlp,
                    caveats=list(content.caveats),
                    tearline=content.tearline,
                    originating_agency=by.agency,
                    source_type=content.source_type,
                    source_id=content.source_id,
                    cap_identifier=cap.get("identifier", ""),
                    cap_sender=cap.get("sender", ""),
                    cap_sent=cap.get("sent"),
                    cap_msg_type=cap.get("msg_type", ""),
                    cap_severity=cap.get("severity", ""),
                    cap_urgency=cap.get("urgency", ""),
                    cap_certainty=cap.get("certainty", ""),
                    cap_area=cap.get("area", []),
                )
        except IntegrityError as error:
            raise ValidationError({"cap": "This CAP alert has already been imported."}) from error
        entry.audience_agencies.set(content.audience_agencies or _default_audience(eoc, incident))
        if checked:
            _save_attachments(entry, checked, attachments)
        if content.kind in NOTEWORTHY_KINDS or content.priority == P.FLASH:
            record_event(
                kind="feed_entry_posted",
                subject=entry,
                payload={
                    "incident_id": incident.pk if incident else None,
                    "eoc_id": eoc.pk,
                    "kind": entry.kind,
                    "priority": entry.priority,
                },
            )
        incident_id = incident.pk if incident else None
        transaction.on_commit(lambda: announce_entry(entry_id=entry.pk, incident_id=incident_id, eoc_id=eoc.pk))
    return entry


def correct_entry(
    *, entry: FeedEntry, by: User, content: EntryContent, attachments: Sequence[UploadedFile] = ()
) -> FeedEntry:
    """Correct an entry by posting a new one that references it (with its own attachments, if any);
    the original stays as it was, its attachments too."""
    return post_entry(
        by=by, content=content, incident=entry.incident, eoc=entry.eoc, corrects=entry, attachments=attachments
    )


def acknowledge_entry(*, entry: FeedEntry, by: User) -> FeedAcknowledgement:
    """Record that the person has read the entry; acknowledging twice changes nothing. For an entry
    relayed from elsewhere a durable `feed_entry_acknowledged` event tells the sending side."""
    with transaction.atomic():
        acknowledgement, created = FeedAcknowledgement.objects.get_or_create(entry=entry, person=by)
        if created and entry.source_type:
            record_event(kind="feed_entry_acknowledged", subject=entry, payload={"person_id": by.pk})
    return acknowledgement


def purge_entry_content(*, entry: FeedEntry, notice: str) -> FeedEntry:
    """Remove the content of an entry that copied an item purged under 28 CFR Part 23 (a relayed
    product): the only change an entry ever takes, made by the system, never by a person. The entry
    stays in the feed as a tombstone with its times, markings and the notice."""
    with transaction.atomic():
        entry = FeedEntry.objects.select_for_update().get(pk=entry.pk)
        entry.title = notice[:250]
        entry.body = ""
        entry.tearline = notice if entry.tearline else ""
        entry.save(update_fields=["title", "body", "tearline"])
        for attachment in entry.attachments.all():
            attachment.delete()
    return entry
