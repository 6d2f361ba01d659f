"""What notification emails say: one per delivery, and the daily digest.

An item marked TLP:AMBER, TLP:AMBER+STRICT, TLP:RED or LES is restricted: its email says only its
number, kind, title and a link (and that it was retracted) — never its summary, body or tearline.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from django.conf import settings
from django.core.mail import EmailMessage
from django.template.loader import render_to_string

from .models import Delivery, Dispatch
from .registry import ItemSummary, item_type, load_item


@dataclass(frozen=True)
class Notice:
    """One item as an email may mention it: `text` is empty for a restricted item."""

    number: str
    kind: str
    title: str
    url: str
    text: str
    marking: str
    action: str
    reason: str
    is_restricted: bool
    is_exercise: bool

    @property
    def may_show_text(self) -> bool:
        return not self.is_restricted

    @property
    def subject(self) -> str:
        prefix = {Dispatch.Action.UPDATE: "Updated ", Dispatch.Action.RETRACT: "Retracted "}.get(self.action, "")
        exercise = "EXERCISE " if self.is_exercise else ""
        return f"{exercise}[{self.marking}] {prefix}{self.number}: {self.title}"


def marking_of(item) -> str:
    """`TLP:AMBER`, with caveats after it (`TLP:AMBER LES`); every shared item carries markings."""
    return " ".join([item.tlp_label, *item.caveat_labels])


def notice_for(delivery: Delivery, *, cache: dict | None = None) -> Notice:
    """What an email may say of a delivery's item. Every recipient of a dispatch who gets the same
    text gets the same notice, so a batch may pass a `cache` to build each notice once."""
    key = (delivery.dispatch_id, delivery.is_full_text)
    if cache is not None and key in cache:
        return cache[key]
    notice = _build_notice(delivery)
    if cache is not None:
        cache[key] = notice
    return notice


def _build_notice(delivery: Delivery) -> Notice:
    dispatch = delivery.dispatch
    item = load_item(dispatch.item_type, dispatch.item_id)
    summary: ItemSummary = item_type(dispatch.item_type).summarize(item, delivery.is_full_text)
    return Notice(
        number=summary.number,
        kind=summary.kind,
        # A title is one line in a subject and a list.
        title=" ".join(summary.title.split()),
        url=summary.url,
        text="" if summary.is_restricted else summary.text,
        marking=marking_of(item),
        action=dispatch.action,
        reason=dispatch.reason if dispatch.action == Dispatch.Action.RETRACT else "",
        is_restricted=summary.is_restricted,
        is_exercise=summary.is_exercise,
    )


def _region() -> str:
    return settings.FUSIONHUB_REGION_NAME


def notification_email(delivery: Delivery, *, connection=None, cache: dict | None = None) -> EmailMessage:
    """The email of one delivery to its recipient."""
    notice = notice_for(delivery, cache=cache)
    body = render_to_string("dissemination/email/notification.txt", {"notice": notice, "region": _region()})
    return EmailMessage(
        subject=notice.subject,
        body=body,
        to=[delivery.recipient.email],
        headers={"Auto-Submitted": "auto-generated"},
        connection=connection,
    )


def digest_email(*, person, deliveries: Sequence[Delivery], connection=None) -> EmailMessage:
    """One email listing the items of a person's inbox deliveries."""
    notices = [notice_for(delivery) for delivery in deliveries]
    body = render_to_string("dissemination/email/digest.txt", {"notices": notices, "region": _region()})
    count = len(notices)
    return EmailMessage(
        subject=f"{_region()} daily digest: {count} item{'s' if count != 1 else ''}",
        body=body,
        to=[person.email],
        headers={"Auto-Submitted": "auto-generated"},
        connection=connection,
    )
