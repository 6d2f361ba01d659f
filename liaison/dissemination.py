"""How the liaison app's items are disseminated: situational-awareness items to the fusion
center's people, and notices to named people."""

from __future__ import annotations

import json

from django.conf import settings

from dissemination.registry import ItemSummary, ItemType

from .models import AwarenessItem, LiaisonNotice


def _absolute(path: str) -> str:
    return f"{settings.SITE_URL.rstrip('/')}{path}"


def summarize_item(item: AwarenessItem, full_text: bool) -> ItemSummary:
    return ItemSummary(
        number=item.incident.number if item.incident_id else item.eoc.acronym,
        kind=f"Situational awareness: {item.get_kind_display().lower()}",
        title=item.title,
        url=_absolute(f"/liaison/awareness/{item.pk}/"),
        text=(item.body if full_text else item.tearline) or "",
        is_restricted=item.is_restricted,
        is_exercise=bool(item.incident_id and item.incident.is_exercise),
    )


def item_payload(item: AwarenessItem, full_text: bool) -> tuple[bytes, str]:
    body = {
        "type": "situational_awareness",
        "id": item.pk,
        "kind": item.kind,
        "priority": item.priority,
        "title": item.title,
        "tlp": item.tlp_label,
        "caveats": item.caveat_labels,
        "eoc": item.eoc.name,
        "incident_id": item.incident_id,
        "received_at": item.received_at.isoformat(),
        "url": _absolute(f"/liaison/awareness/{item.pk}/"),
        "tearline": item.tearline,
    }
    if full_text:
        body["body"] = item.body
    return json.dumps(body).encode(), "application/json"


def summarize_notice(notice: LiaisonNotice, full_text: bool) -> ItemSummary:
    return ItemSummary(
        number="Liaison",
        kind=notice.get_kind_display(),
        title=notice.title,
        url=_absolute(notice.url or "/liaison/"),
        text=notice.text,
        is_restricted=False,
    )


def notice_payload(notice: LiaisonNotice, full_text: bool) -> tuple[bytes, str]:
    body = {"type": "liaison_notice", "id": notice.pk, "kind": notice.kind, "title": notice.title, "text": notice.text}
    return json.dumps(body).encode(), "application/json"


AWARENESS_ITEM = ItemType(
    label="liaison.awarenessitem",
    summarize=summarize_item,
    payloads={"json": item_payload},
    related=("incident", "eoc"),
)
NOTICE = ItemType(label="liaison.liaisonnotice", summarize=summarize_notice, payloads={"json": notice_payload})
