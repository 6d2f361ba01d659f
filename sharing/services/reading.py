"""Read marks: recording that a person opened a product version, so lists can show what is new to them."""

from __future__ import annotations

from agencies.models import User
from dissemination.inbox import mark_item_read

from ..models import ProductRead, ThreatProduct


def mark_product_read(*, product: ThreatProduct, person: User) -> None:
    """Record that the person opened this version; the first opening is the one kept."""
    # ON CONFLICT DO NOTHING: two tabs opening the same product at once record one read, without an error.
    ProductRead.objects.bulk_create([ProductRead(product=product, person=person)], ignore_conflicts=True)
    # Read on its own page is read in the inbox too.
    mark_item_read(item=product, person=person)
