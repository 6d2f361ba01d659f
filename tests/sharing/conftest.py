"""Threat-product helpers: a product written, reviewed and published through the real services."""

import pytest

from agencies.markings import TLP
from sharing.models import ThreatProduct
from sharing.services.products import ProductContent, approve_product, create_product, submit_for_review


def content(**overrides) -> ProductContent:
    values = {
        "kind": ThreatProduct.Kind.INTELLIGENCE_BULLETIN,
        "title": "Copper theft at electrical substations",
        "summary": "A series of copper thefts at substations in the county.",
        "body": "Thieves cut **ground wires** at three substations.",
        "tlp": TLP.AMBER,
        "release_reason": "Partners protecting the affected substations need to know.",
    }
    values.update(overrides)
    return ProductContent(**values)


@pytest.fixture
def publish(supervisor):
    """Write, submit and approve a product; returns the published version."""

    def _publish(author, reviewer=None, **overrides):
        product = create_product(author=author, content=content(**overrides))
        submit_for_review(product=product, by=author)
        return approve_product(product=product, reviewer=reviewer or supervisor)

    return _publish
