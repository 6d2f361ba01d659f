"""How threat products are disseminated: what notifications say of them and their webhook payloads."""

from __future__ import annotations

import json

from django.conf import settings

from dissemination.registry import ItemSummary, ItemType

from . import stix
from .models import ThreatProduct


def product_url(product: ThreatProduct) -> str:
    return f"{settings.SITE_URL.rstrip('/')}/products/{product.pk}/"


def summarize(product: ThreatProduct, full_text: bool) -> ItemSummary:
    text = (product.summary if full_text else product.tearline) or ""
    if product.state == ThreatProduct.State.RETRACTED:
        text = f"Retracted: {product.retraction_reason}"
    return ItemSummary(
        number=product.display_number,
        kind=product.get_kind_display(),
        title=product.title,
        url=product_url(product),
        text=text,
        is_restricted=product.is_restricted,
    )


def json_payload(product: ThreatProduct, full_text: bool) -> tuple[bytes, str]:
    """The product as a receiving system may have it: the tearline only where the full text may not go."""
    body = {
        "type": "threat_product",
        "id": product.pk,
        "number": product.number,
        "version": product.version,
        "state": product.state,
        "kind": product.kind,
        "title": product.title,
        "tlp": product.tlp_label,
        "caveats": product.caveat_labels,
        "published_at": product.published_at.isoformat() if product.published_at else None,
        "url": product_url(product),
        "tearline": product.tearline,
    }
    if full_text:
        body |= {"summary": product.summary, "body": product.body}
    if product.state == ThreatProduct.State.RETRACTED:
        body |= {"retracted_at": product.retracted_at.isoformat(), "retraction_reason": product.retraction_reason}
    return json.dumps(body).encode(), "application/json"


def stix_payload(product: ThreatProduct, full_text: bool) -> tuple[bytes, str]:
    """The product as a STIX 2.1 bundle; the tearline only where the full text may not go."""
    return json.dumps(stix.product_bundle(product, full_access=full_text)).encode(), stix.MEDIA_TYPE


# A product is not an alert: an endpoint that takes CAP 1.2 gets the JSON payload.
THREAT_PRODUCT = ItemType(
    label="sharing.threatproduct",
    summarize=summarize,
    payloads={"json": json_payload, "stix": stix_payload},
)
