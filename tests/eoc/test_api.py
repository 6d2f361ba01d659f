"""The EOC API as a partner system sees it: incidents, feeds, activation, logistics and CAP."""

from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.utils import timezone
from rest_framework import serializers
from rest_framework.test import APIRequestFactory

from agencies.models import Role
from eoc import selectors
from eoc.api import FeedEntrySerializer
from eoc.models import FeedEntry, Incident, ResourceRequest
from eoc.services.feed import EntryContent, correct_entry
from eoc.services.incidents import IncidentDetails, open_incident
from tests.factories import UserFactory

SAMPLES = Path(__file__).resolve().parents[3] / "shared" / "data" / "cap"


@pytest.fixture
def api(client):
    def _as(person):
        client.force_login(person)
        return client

    return _as


def test_coordinator_opens_an_incident_and_posts_to_its_feed(api, coordinator, county):
    client = api(coordinator)
    response = client.post(
        "/api/v1/incidents/",
        {
            "name": "Crabtree Creek flooding",
            "incident_type": "flood",
            "latitude": "35.84",
            "longitude": "-78.64",
            "affected_jurisdictions": [county.pk],
        },
        content_type="application/json",
    )
    assert response.status_code == 201, response.json()
    incident = response.json()
    assert incident["number"].startswith("CEOC-")
    assert len(incident["operational_periods"]) == 1
    posted = client.post(
        f"/api/v1/incidents/{incident['id']}/feed/",
        {"kind": "warning", "title": "Road closed at Anderson Dr", "priority": "flash"},
        content_type="application/json",
    )
    assert posted.status_code == 201, posted.json()
    feed = client.get(f"/api/v1/incidents/{incident['id']}/feed/").json()
    assert [e["title"] for e in feed["results"]] == ["Road closed at Anderson Dr"]


def test_feed_since_a_cursor_returns_only_newer_entries_oldest_first(api, coordinator, flood, post):
    first = post(flood, title="one")
    post(flood, title="two")
    post(flood, title="three")
    results = api(coordinator).get(f"/api/v1/incidents/{flood.pk}/feed/?after={first.pk}").json()["results"]
    assert [e["title"] for e in results] == ["two", "three"]


def test_feed_pages_go_on_with_next_and_carry_no_count(api, coordinator, flood, post):
    for number in range(5):
        post(flood, title=f"entry {number}")
    client = api(coordinator)

    first = client.get(f"/api/v1/incidents/{flood.pk}/feed/", {"page_size": 2, "kind": "situation_update"}).json()
    second = client.get(first["next"]).json()
    third = client.get(second["next"]).json()

    assert [[e["title"] for e in page["results"]] for page in (first, second, third)] == [
        ["entry 4", "entry 3"],
        ["entry 2", "entry 1"],
        ["entry 0"],
    ]
    assert "count" not in first
    assert "kind=situation_update" in first["next"]
    assert third["next"] is None


def test_feed_since_a_cursor_comes_in_pages_oldest_first(api, coordinator, flood, post):
    first = post(flood, title="one")
    for title in ("two", "three", "four", "five"):
        post(flood, title=title)
    client = api(coordinator)

    page = client.get(f"/api/v1/incidents/{flood.pk}/feed/", {"after": first.pk, "page_size": 2}).json()
    following = client.get(page["next"]).json()

    assert [e["title"] for e in page["results"] + following["results"]] == ["two", "three", "four", "five"]
    assert following["next"] is None
    since_last = client.get(f"/api/v1/incidents/{flood.pk}/feed/", {"after": following["results"][-1]["id"]})
    assert since_last.json() == {"next": None, "results": []}


@pytest.mark.parametrize("cursor", ["before", "after"])
def test_a_cursor_that_is_not_an_entry_id_gets_a_message(api, coordinator, flood, cursor):
    response = api(coordinator).get(f"/api/v1/incidents/{flood.pk}/feed/", {cursor: "yesterday"})

    assert response.status_code == 400
    assert cursor in response.json()["errors"]


def test_feed_entries_read_as_their_declared_fields(coordinator, county_eoc, flood, post):
    # The serializer reads entries straight, for speed; the generic path of its declared fields is the reference.
    first = post(
        flood, title="Levee breach", latitude=Decimal("35.7796"), longitude=Decimal("-78.6382"), priority="flash"
    )
    correct_entry(entry=first, by=coordinator, content=EntryContent(kind=FeedEntry.Kind.WARNING, title="Correction"))
    post(flood, title="Sensitive", caveats=["LES"], tearline="Road closed", body="Suspect vehicle at the levee")
    officer = UserFactory(agency=county_eoc, roles=[Role.EOC_COORDINATOR], is_law_enforcement=True)
    request = APIRequestFactory().get("/")
    for person in (coordinator, officer):
        entries = selectors.feed_entries(person=person, incident_id=flood.pk, related=selectors.API_RELATED)
        for entry in entries:
            serializer = FeedEntrySerializer(entry, context={"request": request})
            assert serializer.data == serializers.ModelSerializer.to_representation(serializer, entry), entry.title
        assert {e.title: e.full_access for e in entries}["Sensitive"] is person.is_law_enforcement


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "x", "incident_type": "flood", "latitude": "91", "longitude": "0"}, "latitude"),
        ({"name": "x", "incident_type": "volcano"}, "incident_type"),
        ({"incident_type": "flood"}, "name"),
    ],
)
def test_bad_incident_input_gets_field_messages(api, coordinator, body, field):
    response = api(coordinator).post("/api/v1/incidents/", body, content_type="application/json")
    assert response.status_code == 400
    assert field in response.json()["errors"]
    assert not Incident.objects.exists()


def test_entry_to_a_closed_incident_is_refused(api, coordinator, flood):
    client = api(coordinator)
    assert (
        client.post(
            f"/api/v1/incidents/{flood.pk}/status/", {"status": "closed"}, content_type="application/json"
        ).status_code
        == 200
    )
    response = client.post(
        f"/api/v1/incidents/{flood.pk}/feed/", {"kind": "warning", "title": "late"}, content_type="application/json"
    )
    assert response.status_code == 400
    assert "closed" in response.json()["errors"]["incident"][0]


def test_invalid_incident_status_change_is_refused(api, coordinator, flood):
    client = api(coordinator)
    client.post(f"/api/v1/incidents/{flood.pk}/status/", {"status": "closed"}, content_type="application/json")
    response = client.post(
        f"/api/v1/incidents/{flood.pk}/status/", {"status": "active"}, content_type="application/json"
    )
    assert response.status_code == 400
    assert "status" in response.json()["errors"]


def test_activation_change_and_refusal_without_reason(api, coordinator, flood):
    client = api(coordinator)
    url = f"/api/v1/eocs/{coordinator.agency_id}/activation/"
    raised = client.post(
        url, {"level": 2, "reason": "Flood stage forecast", "incident": flood.pk}, content_type="application/json"
    )
    assert raised.status_code == 200, raised.json()
    assert raised.json()["label"] == "Level 2 — partial activation"
    refused = client.post(url, {"level": 3, "reason": ""}, content_type="application/json")
    assert refused.status_code == 400
    assert "reason" in refused.json()["errors"]
    assert client.get(url).json()["level"] == 2


def test_resource_request_moves_only_along_ics_213rr(api, coordinator, flood):
    client = api(coordinator)
    created = client.post(
        "/api/v1/resource-requests/",
        {
            "incident": flood.pk,
            "resource_kind": "Pumps",
            "quantity": 4,
            "deliver_to": "Station 12",
            "needed_by": (timezone.now() + timedelta(hours=6)).isoformat(),
        },
        content_type="application/json",
    )
    assert created.status_code == 201, created.json()
    url = f"/api/v1/resource-requests/{created.json()['id']}/transition/"
    skipped = client.post(url, {"state": "delivered"}, content_type="application/json")
    assert skipped.status_code == 400
    assert "state" in skipped.json()["errors"]
    assert client.post(url, {"state": "approved"}, content_type="application/json").json()["state"] == "approved"
    assert ResourceRequest.objects.get().events.count() == 2


def test_sitrep_for_another_incident_period_is_refused(api, coordinator, flood):
    other = open_incident(by=coordinator, details=IncidentDetails(name="Other", incident_type="other"))
    response = api(coordinator).post(
        "/api/v1/sitreps/",
        {"incident": flood.pk, "operational_period": other.operational_periods.get().pk, "situation_summary": "x"},
        content_type="application/json",
    )
    assert response.status_code == 400
    assert "operational_period" in response.json()["errors"]


def test_cap_export_is_cap_xml(api, coordinator, flood, post):
    entry = post(flood, kind="warning", title="Flash flood warning")
    response = api(coordinator).get(f"/api/v1/feed-entries/{entry.pk}/cap/")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/cap+xml"
    assert b"<headline>Flash flood warning</headline>" in response.content


def test_cap_import_creates_once_and_refuses_bad_documents(api, coordinator, flood):
    client = api(coordinator)
    alert = (SAMPLES / "amber-alert-los-angeles.xml").read_bytes()
    first = client.post(f"/api/v1/cap/?incident={flood.pk}", alert, content_type="application/cap+xml")
    assert first.status_code == 201, first.json()
    again = client.post(f"/api/v1/cap/?incident={flood.pk}", alert, content_type="application/cap+xml")
    assert again.status_code == 200
    assert again.json()["id"] == first.json()["id"]
    bad = client.post(
        f"/api/v1/cap/?incident={flood.pk}",
        (SAMPLES / "invalid-schema-sc.xml").read_bytes(),
        content_type="application/cap+xml",
    )
    assert bad.status_code == 400
    assert "document" in bad.json()["errors"]
    assert FeedEntry.objects.filter(cap_identifier__gt="").count() == 1


def test_outsider_cannot_reach_an_exercise_through_the_api(api, coordinator, outsider):
    drill = open_incident(
        by=coordinator, details=IncidentDetails(name="Drill", incident_type="other", is_exercise=True)
    )
    client = api(outsider)
    assert client.get(f"/api/v1/incidents/{drill.pk}/").status_code == 404
    assert client.get(f"/api/v1/incidents/{drill.pk}/feed/").status_code == 404
    assert drill.pk not in [i["id"] for i in client.get("/api/v1/incidents/").json()["results"]]


def test_feed_costs_a_fixed_number_of_queries(api, coordinator, flood, post, django_assert_max_num_queries):
    client = api(coordinator)
    for number in range(3):
        post(flood, title=f"entry {number}")
    client.get(f"/api/v1/incidents/{flood.pk}/feed/")  # warm up: the session's idle clock is stamped once
    with django_assert_max_num_queries(12) as few:
        client.get(f"/api/v1/incidents/{flood.pk}/feed/")
    for number in range(30):
        post(flood, title=f"more {number}")
    with django_assert_max_num_queries(len(few.captured_queries)):
        client.get(f"/api/v1/incidents/{flood.pk}/feed/")


def test_an_incident_started_centuries_ago_is_refused(api, coordinator):
    # Found by fuzzing the API: a start in 1247 was stored and shown with the -04:56:02 local mean time
    # offset, which breaks the schema's date-time.
    response = api(coordinator).post(
        "/api/v1/incidents/",
        {"name": "x", "incident_type": "flood", "started_at": "1247-04-18T01:04:58-13:49"},
        content_type="application/json",
    )
    assert response.status_code == 400
    assert "started_at" in response.json()["errors"]
    assert not Incident.objects.exists()


def test_a_feed_address_with_an_id_that_is_not_a_number_is_a_404(api, coordinator):
    for bad in ("abc", "1.5", "%C2%B8%C2%89"):
        response = api(coordinator).get(f"/api/v1/incidents/{bad}/feed/")
        assert response.status_code == 404, bad
        assert response["Content-Type"].startswith("application/json")
