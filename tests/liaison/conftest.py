"""Liaison helpers: domain events handled as a worker would, rules made through the service."""

import pytest

from dissemination.models import DomainEvent
from dissemination.services import handle_event
from liaison.models import RoutingRule
from liaison.services import RuleDetails, create_rule
from tests.eoc.conftest import flood, post  # noqa: F401  (fixtures shared with the EOC's tests)
from tests.sharing.conftest import content, publish  # noqa: F401  (and with the products' tests)


@pytest.fixture
def handle_events():
    """Handle every unhandled domain event, oldest first, until none is left (handlers make new ones)."""

    def _handle() -> int:
        handled = 0
        for _ in range(20):
            ids = list(DomainEvent.objects.filter(handled_at__isnull=True).order_by("pk").values_list("pk", flat=True))
            if not ids:
                return handled
            for event_id in ids:
                handled += handle_event(event_id=event_id)
        raise AssertionError("Events keep making events")

    return _handle


@pytest.fixture
def rule(liaison_officer, county_eoc):
    def _rule(**overrides):
        values = {"name": "Everything to the county EOC", "target_eoc": county_eoc}
        values.update(overrides)
        return create_rule(by=liaison_officer, details=RuleDetails(**values))

    return _rule


@pytest.fixture
def automatic(rule):
    return rule(mode=RoutingRule.Mode.AUTOMATIC)
