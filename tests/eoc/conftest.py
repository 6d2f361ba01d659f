"""EOC helpers: incidents opened and entries posted through the real services."""

import pytest

from eoc.models import FeedEntry, Incident
from eoc.services.feed import EntryContent, post_entry
from eoc.services.incidents import IncidentDetails, open_incident


@pytest.fixture
def flood(coordinator, county):
    return open_incident(
        by=coordinator,
        details=IncidentDetails(
            name="Neuse River flooding",
            incident_type=Incident.Type.FLOOD,
            affected_jurisdictions=[county],
            latitude="35.779600",
            longitude="-78.638200",
        ),
    )


@pytest.fixture
def post(coordinator):
    def _post(incident, by=None, **overrides):
        values = {"kind": FeedEntry.Kind.SITUATION_UPDATE, "title": "River at 18 ft and rising"}
        values.update(overrides)
        return post_entry(by=by or coordinator, content=EntryContent(**values), incident=incident)

    return _post
