"""Reads the product pages add to `sharing.selectors`: read marks for lists, the history a reader is shown,
and who a draft's audience would reach."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Exists, OuterRef, QuerySet

from agencies.models import Agency, User

from .models import ProductRead, ProductTransition, ThreatProduct

A = ProductTransition.Action

# What recipients outside the originating center are shown of a product's history: the steps that
# changed what they must know. Review comments stay with the center; a retraction's reason is for everyone.
RELEASE_STEPS = (A.APPROVED, A.SUPERSEDED, A.RETRACTED, A.PURGED)


def with_read_marks(products: QuerySet[ThreatProduct], *, person: User) -> QuerySet[ThreatProduct]:
    """The products annotated with `is_read` for the person, in the same query."""
    reads = ProductRead.objects.filter(product=OuterRef("pk"), person=person)
    return products.annotate(is_read=Exists(reads))


@dataclass(frozen=True)
class HistoryEntry:
    action: str
    by: User
    at: datetime
    comment: str


def history_for(product: ThreatProduct, *, person: User) -> list[HistoryEntry]:
    """The product's transitions as the person may read them (from its prefetched `transitions`)."""
    own_center = person.agency_id == product.originating_agency_id
    entries = []
    for transition in product.transitions.all():
        if not own_center and transition.action not in RELEASE_STEPS:
            continue
        shows_comment = own_center or transition.action == A.RETRACTED
        entries.append(
            HistoryEntry(
                action=transition.get_action_display(),
                by=transition.by,
                at=transition.at,
                comment=transition.comment if shows_comment else "",
            )
        )
    return entries


def audience_labels(product: ThreatProduct) -> dict[str, list[str]]:
    """The product's audience levels and disciplines as their users read them."""
    levels = dict(Agency.Level.choices)
    disciplines = dict(Agency.Discipline.choices)
    return {
        "levels": [levels.get(value, value) for value in product.audience_levels],
        "disciplines": [disciplines.get(value, value) for value in product.audience_disciplines],
    }
