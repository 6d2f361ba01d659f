"""How feed entries are disseminated when another app hands them over (relayed entries): what
notifications say of them and their webhook payloads (JSON, or CAP 1.2 for any entry)."""

from __future__ import annotations

import json

from django.conf import settings

from dissemination.registry import ItemSummary, ItemType

from .cap import entry_to_cap
from .models import FeedEntry


def entry_url(entry: FeedEntry) -> str:
    base = settings.SITE_URL.rstrip("/")
    if entry.incident_id:
        return f"{base}/incidents/{entry.incident_id}/#entry-{entry.pk}"
    return f"{base}/eocs/{entry.eoc_id}/feed/#entry-{entry.pk}"


def summarize(entry: FeedEntry, full_text: bool) -> ItemSummary:
    where = entry.incident.number if entry.incident_id else f"{entry.eoc.acronym} EOC-wide feed"
    return ItemSummary(
        number=where,
        kind=entry.get_kind_display(),
        title=entry.title,
        url=entry_url(entry),
        text=(entry.body if full_text else entry.tearline) or "",
        is_restricted=entry.is_restricted,
        is_exercise=bool(entry.incident_id and entry.incident.is_exercise),
    )


def json_payload(entry: FeedEntry, full_text: bool) -> tuple[bytes, str]:
    body = {
        "type": "feed_entry",
        "id": entry.pk,
        "kind": entry.kind,
        "priority": entry.priority,
        "title": entry.title,
        "tlp": entry.tlp_label,
        "caveats": entry.caveat_labels,
        "incident_id": entry.incident_id,
        "eoc_id": entry.eoc_id,
        "exercise": bool(entry.incident_id and entry.incident.is_exercise),
        "occurred_at": entry.occurred_at.isoformat(),
        "posted_at": entry.posted_at.isoformat(),
        "corrects_id": entry.corrects_id,
        "url": entry_url(entry),
        "tearline": entry.tearline,
    }
    if full_text:
        body["body"] = entry.body
    return json.dumps(body).encode(), "application/json"


def cap_payload(entry: FeedEntry, full_text: bool) -> tuple[bytes, str]:
    return entry_to_cap(entry, full_access=full_text), "application/cap+xml"


FEED_ENTRY = ItemType(
    label="eoc.feedentry",
    summarize=summarize,
    payloads={"json": json_payload, "cap": cap_payload},
    related=("incident", "eoc"),
)
