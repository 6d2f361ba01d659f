"""The audit trail: recording who did what to which item, when, from where and how it ended; reading
it back for admins and originators; archiving entries past retention without losing any.

`record_audit` is one INSERT on the caller's connection: inside a service's transaction the entry
commits or rolls back with the work it records. Refusals (outcome "denied") are recorded by views,
outside any transaction, so they stay although the request fails.
"""

from __future__ import annotations

import csv
import datetime
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from django.conf import settings
from django.db import connection, models, transaction
from django.http import Http404, HttpRequest
from django.utils import timezone

from .audit_models import ArchivedAuditEntry, AuditAction, AuditEntry, AuditOutcome
from .models import Agency, User

USER_AGENT_LENGTH = 300
LABEL_LENGTH = 200


@dataclass(frozen=True)
class ItemRef:
    """An item named by type and id, for when the view has no instance (a refused id, a deleted item)."""

    item_type: str
    item_id: int | None
    label: str = ""

    @classmethod
    def of(cls, model: type[models.Model], pk, label: str = "") -> ItemRef:
        try:
            item_id = int(pk)
        except (TypeError, ValueError):
            item_id = None
        if item_id is not None and not -(2**63) <= item_id < 2**63:
            item_id = None  # no row has such an id; the label keeps what was asked for
        return cls(model._meta.label_lower, item_id, label or ("" if item_id is not None else str(pk)[:LABEL_LENGTH]))


def item_label(item: models.Model) -> str:
    """A short name of an item, read from its own fields only: its number where it has one."""
    for name in ("display_number", "number", "acronym", "username"):
        value = getattr(item, name, None)
        if value:
            return str(value)[:LABEL_LENGTH]
    return str(item)[:LABEL_LENGTH]


def _client_address(request: HttpRequest) -> str | None:
    # The sign-in backend's own reading of the address; imported here because the backend
    # imports the services, which record audit entries.
    from .backends import client_address

    return client_address(request)


def record_audit(
    *,
    action: str,
    person: User | None = None,
    item: models.Model | ItemRef | None = None,
    outcome: str = AuditOutcome.SUCCESS,
    request: HttpRequest | None = None,
    detail: dict | None = None,
    agency: Agency | int | None = None,
) -> AuditEntry:
    """Append one entry (one INSERT, no other query). The person defaults to the request's signed-in
    person; the agency to the person's; the address and user agent come from the request. Without
    a person, `detail["username"]` names who it was (a failed sign-in under an unknown name)."""
    if person is None and request is not None:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            person = user
    entry = AuditEntry(action=action, outcome=outcome, detail=detail or {})
    if person is not None:
        entry.person_id = person.pk
        entry.username = person.username
        entry.agency_id = person.agency_id
    elif entry.detail.get("username"):
        # A failed sign-in under a name that belongs to no one: the name as it was typed.
        entry.username = str(entry.detail["username"])[:150]
    if agency is not None:
        entry.agency_id = agency if isinstance(agency, int) else agency.pk
    if isinstance(item, ItemRef):
        entry.item_type, entry.item_id, entry.item_label = item.item_type, item.item_id, item.label
    elif item is not None:
        entry.item_type, entry.item_id, entry.item_label = item._meta.label_lower, item.pk, item_label(item)
    if request is not None:
        entry.address = _client_address(request)
        entry.user_agent = request.META.get("HTTP_USER_AGENT", "")[:USER_AGENT_LENGTH]
    entry.save(force_insert=True)
    return entry


@contextmanager
def recording_denial(request: HttpRequest, *, action: str, item: ItemRef, detail: dict | None = None) -> Iterator[None]:
    """Record a refused access (the 404 of an item the person may not see, or that does not exist)
    and let the refusal go on to the person."""
    try:
        yield
    except Http404:
        record_audit(action=action, item=item, outcome=AuditOutcome.DENIED, request=request, detail=detail)
        raise


# --- Reading -----------------------------------------------------------------------------------------

PAGE_SIZE = 50


@dataclass(frozen=True)
class AuditFilters:
    person: str = ""
    item: str = ""
    action: str = ""
    outcome: str = ""
    date_from: datetime.date | None = None
    date_to: datetime.date | None = None

    def as_detail(self) -> dict:
        return {
            name: value.isoformat() if isinstance(value, datetime.date) else value
            for name, value in self.__dict__.items()
            if value
        }


def may_read_audit(person: User) -> bool:
    return person.is_system_admin or person.is_agency_admin


def audit_entries(*, admin: User, filters: AuditFilters) -> models.QuerySet[AuditEntry]:
    """The entries an admin may read, newest first: all for a system admin, those of their own
    agency's people for an agency admin."""
    entries = AuditEntry.objects.select_related("person", "agency").order_by("-pk")
    if not admin.is_system_admin:
        entries = entries.filter(agency_id=admin.agency_id)
    if filters.person:
        entries = entries.filter(username__iexact=filters.person.strip())
    if filters.item:
        item = filters.item.strip()
        item_filter = models.Q(item_label__iexact=item)
        if item.isdigit():
            item_filter |= models.Q(item_id=int(item))
        entries = entries.filter(item_filter)
    if filters.action:
        entries = entries.filter(action=filters.action)
    if filters.outcome:
        entries = entries.filter(outcome=filters.outcome)
    zone = timezone.get_current_timezone()
    if filters.date_from:
        start = datetime.datetime.combine(filters.date_from, datetime.time.min, tzinfo=zone)
        entries = entries.filter(at__gte=start)
    if filters.date_to:
        end = datetime.datetime.combine(filters.date_to + datetime.timedelta(days=1), datetime.time.min, tzinfo=zone)
        entries = entries.filter(at__lt=end)
    return entries


def audit_page(entries: models.QuerySet[AuditEntry], *, before: int | None) -> tuple[list[AuditEntry], int | None]:
    """One keyset page of entries (newest first, below the id `before`) and the cursor of the next."""
    if before:
        entries = entries.filter(pk__lt=before)
    rows = list(entries[: PAGE_SIZE + 1])
    next_before = rows[PAGE_SIZE - 1].pk if len(rows) > PAGE_SIZE else None
    return rows[:PAGE_SIZE], next_before


CSV_HEADER = [
    "id",
    "time",
    "action",
    "outcome",
    "username",
    "person",
    "agency",
    "item type",
    "item id",
    "item",
    "address",
    "user agent",
    "detail",
]


class _Echo:
    def write(self, value: str) -> str:
        return value


def audit_csv_rows(entries: models.QuerySet[AuditEntry]) -> Iterator[str]:
    """The entries as CSV lines, streamed from the database in chunks (never all in memory)."""
    writer = csv.writer(_Echo())
    yield writer.writerow(CSV_HEADER)
    for entry in entries.iterator(chunk_size=2000):
        yield writer.writerow(
            _safe_cell(value)
            for value in [
                entry.pk,
                timezone.localtime(entry.at).isoformat(),
                entry.action,
                entry.outcome,
                entry.username,
                str(entry.person) if entry.person_id else "",
                entry.agency.acronym if entry.agency_id else "",
                entry.item_type,
                "" if entry.item_id is None else entry.item_id,
                entry.item_label,
                entry.address or "",
                entry.user_agent,
                "; ".join(f"{key}={value}" for key, value in entry.detail.items()),
            ]
        )


def _safe_cell(value):
    # A spreadsheet must never run a cell as a formula (a username or search typed as "=…").
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return f"'{value}"
    return value


ACCESS_ACTIONS = (AuditAction.VIEW, AuditAction.DOWNLOAD, AuditAction.EXPORT, AuditAction.OPEN)


def item_access_log(*, item: models.Model, limit: int = 100) -> list[AuditEntry]:
    """Who viewed, downloaded or exported an item, newest first (for its originator)."""
    return list(
        AuditEntry.objects.filter(
            item_type=item._meta.label_lower,
            item_id=item.pk,
            action__in=ACCESS_ACTIONS,
            outcome=AuditOutcome.SUCCESS,
        )
        .select_related("person", "agency")
        .order_by("-pk")[:limit]
    )


# --- Retention ---------------------------------------------------------------------------------------

ARCHIVE_BATCH = 5000
_COLUMNS = (
    "id, at, action, outcome, person_id, username, agency_id, item_type, item_id, item_label, "
    "address, user_agent, detail"
)


def archive_old_entries(*, now: datetime.datetime | None = None, batch_size: int = ARCHIVE_BATCH) -> int:
    """Move the entries older than AUDIT_RETENTION_DAYS into the archive; returns how many moved.

    Each batch is one statement (DELETE … RETURNING feeding INSERT) in its own transaction, so an
    entry is always in exactly one of the two tables. The trigger lets only this transaction
    delete, through the transaction-local setting it turns on and off again.
    """
    cutoff = (now or timezone.now()) - datetime.timedelta(days=settings.AUDIT_RETENTION_DAYS)
    live, archive = AuditEntry._meta.db_table, ArchivedAuditEntry._meta.db_table
    moved = 0
    while True:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SET LOCAL fusionhub.audit_archiving = 'on'")
            try:
                cursor.execute(
                    f"""
                    WITH moved AS (
                        DELETE FROM {live}
                        WHERE id IN (SELECT id FROM {live} WHERE at < %s ORDER BY id LIMIT %s)
                        RETURNING {_COLUMNS}
                    )
                    INSERT INTO {archive} ({_COLUMNS}, archived_at)
                    SELECT {_COLUMNS}, now() FROM moved
                    """,  # nosec B608 # noqa: S608 - the table and column names are ours; every value is a parameter
                    [cutoff, batch_size],
                )
                count = cursor.rowcount
            finally:
                cursor.execute("SET LOCAL fusionhub.audit_archiving = 'off'")
        moved += count
        if count < batch_size:
            return moved
