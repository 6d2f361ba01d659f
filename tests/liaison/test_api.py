"""The liaison API as a partner system or a liaison officer's tool sees it: assignments, routing
rules, relays, what each side may see, and refusals that say why and leave nothing half-saved."""

import datetime
from datetime import timedelta

import pytest
from django.utils import timezone

from agencies.markings import TLP, Caveat
from agencies.models import Agency
from eoc.models import FeedEntry, Incident
from eoc.services.incidents import IncidentDetails, change_activation, open_incident
from liaison.models import LiaisonAssignment, Relay, RoutingRule
from liaison.services import assign_liaison, end_assignment
from tests.factories import AgencyFactory
from tests.second_factor import VerifiedClient as Client

RELAYS = "/api/v1/relays/"
RULES = "/api/v1/routing-rules/"
ASSIGNMENTS = "/api/v1/liaison-assignments/"


@pytest.fixture
def api():
    """A client signed in as the person (one per person, so that several can take turns)."""

    def _as(person):
        client = Client()
        client.force_login(person)
        return client

    return _as


@pytest.fixture
def other_eoc(other_county):
    return AgencyFactory(
        name="Other County EOC",
        acronym="OEOC",
        kind=Agency.Kind.EOC,
        discipline=Agency.Discipline.EMERGENCY_MANAGEMENT,
        jurisdiction=other_county,
    )


@pytest.fixture
def proposed(analyst, publish, rule, handle_events):
    """A product proposed for the county EOC by a rule, waiting for a liaison officer."""

    def _proposed(**overrides):
        product = publish(analyst, **overrides)
        handle_events()
        return Relay.objects.get(source_type="sharing.threatproduct", source_id=product.pk)

    rule()
    return _proposed


def ids(response) -> list[int]:
    assert response.status_code == 200, response.json()
    return [row["id"] for row in response.json()["results"]]


def send(client, url, body=None):
    return client.post(url, body or {}, content_type="application/json")


def counts() -> tuple[int, int]:
    return Relay.objects.count(), FeedEntry.objects.count()


# --- Relays: who sees which ------------------------------------------------------------------------------


def test_each_side_sees_its_relays_and_an_outsider_none(
    api, analyst, liaison_officer, coordinator, outsider, county_eoc, other_eoc, publish, rule, handle_events
):
    rule()
    rule(name="Everything to the other county", target_eoc=other_eoc)
    product = publish(analyst)
    handle_events()
    to_county = Relay.objects.get(source_id=product.pk, eoc=county_eoc)
    to_other = Relay.objects.get(source_id=product.pk, eoc=other_eoc)

    assert set(ids(api(liaison_officer).get(RELAYS))) == {to_county.pk, to_other.pk}
    assert set(ids(api(analyst).get(RELAYS))) == {to_county.pk, to_other.pk}
    # A proposal names a product the EOC was not given yet: it stays with the center until delivered.
    assert ids(api(coordinator).get(RELAYS)) == []
    assert api(coordinator).get(f"{RELAYS}{to_county.pk}/").status_code == 404
    assert send(api(liaison_officer), f"{RELAYS}{to_county.pk}/approve/").status_code == 200
    assert ids(api(coordinator).get(RELAYS)) == [to_county.pk]
    assert api(coordinator).get(f"{RELAYS}{to_other.pk}/").status_code == 404
    assert ids(api(outsider).get(RELAYS)) == []
    assert api(outsider).get(f"{RELAYS}{to_county.pk}/").status_code == 404
    assert send(api(outsider), f"{RELAYS}{to_county.pk}/approve/").status_code == 404


def test_a_relay_reads_with_its_target_markings_and_check(api, liaison_officer, county_eoc, proposed):
    relay = proposed(tlp=TLP.AMBER, caveats=[Caveat.LES], tearline="Expect closures at substations.")

    shown = api(liaison_officer).get(f"{RELAYS}{relay.pk}/").json()

    assert shown["direction"] == "to_eoc"
    assert shown["source_type"] == "sharing.threatproduct"
    assert shown["source_id"] == relay.source_id
    assert "Copper theft" in shown["source_label"]
    assert shown["target"]["eoc"] == {"id": county_eoc.pk, "name": "County EOC", "acronym": "CEOC"}
    assert shown["target"]["incident"] is None
    assert shown["rule"] == {"id": relay.rule_id, "name": "Everything to the county EOC"}
    assert (shown["tlp"], shown["tlp_label"], shown["caveats"]) == ("amber", "TLP:AMBER", ["LES"])
    assert shown["marking_check"]["allowed"] is True
    assert shown["marking_check"]["access"] == "tearline"
    assert any("law-enforcement status" in reason for reason in shown["marking_check"]["reasons"])
    assert shown["state"] == "proposed"
    assert shown["delivered"] is None
    assert shown["decided_by"] is None


def test_relays_are_filtered_by_state_direction_eoc_incident_source_and_time(
    api, analyst, liaison_officer, coordinator, county_eoc, other_eoc, flood, post, publish, rule, handle_events
):
    rule()
    rule(name="Everything to the other county", target_eoc=other_eoc)
    steady = publish(analyst, title="Before the flood")
    change_activation(eoc=county_eoc, by=coordinator, level=2, reason="Flooding", incident=flood)
    during = publish(analyst, title="During the flood")
    handle_events()
    county_steady = Relay.objects.get(source_id=steady.pk, eoc=county_eoc)
    county_flood = Relay.objects.get(source_id=during.pk, eoc=county_eoc)
    assert county_flood.incident == flood
    client = api(liaison_officer)
    assert send(client, f"{RELAYS}{county_steady.pk}/approve/").status_code == 200
    entry = post(flood, title="Levee breach at the greenway", kind=FeedEntry.Kind.WARNING)
    relayed = send(client, RELAYS, {"entry": entry.pk, "eoc": county_eoc.pk, "incident": flood.pk})
    assert relayed.status_code == 201, relayed.json()
    upward = relayed.json()["id"]
    all_relays = set(Relay.objects.values_list("pk", flat=True))

    assert ids(client.get(RELAYS, {"state": "delivered"})) == [upward, county_steady.pk]
    assert ids(client.get(RELAYS, {"direction": "to_fusion_center"})) == [upward]
    assert set(ids(client.get(RELAYS, {"eoc": other_eoc.pk}))) == set(
        Relay.objects.filter(eoc=other_eoc).values_list("pk", flat=True)
    )
    # The activation also proposed the product of before the flood for the incident's feed.
    in_flood = set(Relay.objects.filter(incident=flood).values_list("pk", flat=True))
    assert {county_flood.pk, upward} <= in_flood
    assert set(ids(client.get(RELAYS, {"incident": flood.pk}))) == in_flood
    assert ids(client.get(RELAYS, {"source_type": "eoc.feedentry"})) == [upward]
    hour_ago, in_an_hour = timezone.now() - timedelta(hours=1), timezone.now() + timedelta(hours=1)
    assert set(ids(client.get(RELAYS, {"created_since": hour_ago.isoformat()}))) == all_relays
    assert ids(client.get(RELAYS, {"created_since": in_an_hour.isoformat()})) == []
    # Any offset ISO 8601 allows, beyond PostgreSQL's own range, is the same instant in UTC.
    far_east = hour_ago.astimezone(datetime.timezone(datetime.timedelta(hours=21, minutes=27)))
    assert set(ids(client.get(RELAYS, {"created_since": far_east.isoformat()}))) == all_relays
    # The coordinator's filters work within what the EOC may see.
    assert set(ids(api(coordinator).get(RELAYS, {"eoc": other_eoc.pk}))) == set()


@pytest.mark.parametrize(
    ("query", "field"),
    [({"state": "lost"}, "state"), ({"eoc": "county"}, "eoc"), ({"created_since": "yesterday"}, "created_since")],
)
def test_bad_relay_filters_get_field_messages(api, liaison_officer, query, field):
    response = api(liaison_officer).get(RELAYS, query)
    assert response.status_code == 400
    assert field in response.json()["errors"]


# --- Relays: approve, reject, acknowledge ------------------------------------------------------------------


def test_liaison_officer_approves_and_the_coordinator_acknowledges(api, liaison_officer, coordinator, proposed):
    relay = proposed()

    approved = send(api(liaison_officer), f"{RELAYS}{relay.pk}/approve/", {"note": "Pass to the ESF 12 desk."})

    assert approved.status_code == 200, approved.json()
    shown = approved.json()
    assert shown["state"] == "delivered"
    assert shown["decided_by"]["id"] == liaison_officer.pk
    assert "Pass to the ESF 12 desk." in shown["note"]
    entry = FeedEntry.objects.get(pk=shown["delivered"]["id"])
    assert shown["delivered"]["type"] == "eoc.feedentry"
    assert shown["delivered"]["url"].endswith(f"#entry-{entry.pk}")
    assert entry.eoc_id == relay.eoc_id

    # Only the receiving side acknowledges.
    assert send(api(liaison_officer), f"{RELAYS}{relay.pk}/acknowledge/").status_code == 403
    acknowledged = send(api(coordinator), f"{RELAYS}{relay.pk}/acknowledge/")
    assert acknowledged.status_code == 200, acknowledged.json()
    assert acknowledged.json()["state"] == "acknowledged"
    assert acknowledged.json()["acknowledged_by"]["id"] == coordinator.pk
    assert acknowledged.json()["acknowledged_at"]


def test_coordinator_neither_sees_nor_decides_a_proposed_relay(api, analyst, coordinator, proposed):
    relay = proposed()

    assert api(coordinator).get(f"{RELAYS}{relay.pk}/").status_code == 404
    assert send(api(coordinator), f"{RELAYS}{relay.pk}/approve/").status_code == 404
    assert send(api(coordinator), f"{RELAYS}{relay.pk}/reject/", {"reason": "Not ours"}).status_code == 404
    # An analyst of the center sees it, but approving is for its liaison officers.
    assert send(api(analyst), f"{RELAYS}{relay.pk}/approve/").status_code == 403
    relay.refresh_from_db()
    assert relay.state == Relay.State.PROPOSED


def test_a_rejection_needs_its_reason(api, liaison_officer, proposed):
    relay = proposed()
    client = api(liaison_officer)

    missing = send(client, f"{RELAYS}{relay.pk}/reject/", {"reason": "  "})
    assert missing.status_code == 400
    assert "Say why" in missing.json()["errors"]["reason"][0]
    relay.refresh_from_db()
    assert relay.state == Relay.State.PROPOSED

    rejected = send(client, f"{RELAYS}{relay.pk}/reject/", {"reason": "Already briefed by phone."})
    assert rejected.status_code == 200
    assert rejected.json()["state"] == "rejected"
    assert rejected.json()["rejection_reason"] == "Already briefed by phone."


# --- The bad inputs: refused with the reason, never a 500, nothing half-saved ----------------------------


def test_a_rule_with_no_target_is_refused_on_target_eoc(api, liaison_officer):
    response = send(api(liaison_officer), RULES, {"name": "Nowhere", "mode": "automatic"})

    assert response.status_code == 400
    assert response.json()["errors"]["target_eoc"] == [
        "Choose the target EOC, or a jurisdiction whose EOCs the rule covers."
    ]
    assert not RoutingRule.objects.exists()


def test_a_relay_of_an_item_the_officer_may_not_see_reads_as_a_missing_id(
    api, liaison_officer, coordinator, county_eoc, county, post
):
    drill = open_incident(
        by=coordinator,
        details=IncidentDetails(
            name="Dam failure drill", incident_type=Incident.Type.FLOOD, is_exercise=True,
            affected_jurisdictions=[county],
        ),
    )  # fmt: skip
    hidden = post(drill, title="Exercise inject: spillway gate failure")
    assert not FeedEntry.objects.visible_to(liaison_officer).filter(pk=hidden.pk).exists()
    missing_id = FeedEntry.objects.order_by("-pk").first().pk + 1000
    before = counts()
    client = api(liaison_officer)

    refused = send(client, RELAYS, {"entry": hidden.pk, "eoc": county_eoc.pk})
    missing = send(client, RELAYS, {"entry": missing_id, "eoc": county_eoc.pk})

    assert refused.status_code == missing.status_code == 400
    assert refused.json()["errors"] == {"entry": [f"No feed entry you may see has the id {hidden.pk}."]}
    assert missing.json()["errors"] == {"entry": [f"No feed entry you may see has the id {missing_id}."]}
    assert counts() == before


def test_a_relay_to_an_eoc_the_markings_forbid_is_refused_with_the_reason(
    api, analyst, liaison_officer, county_eoc, outside_agency, publish
):
    product = publish(analyst, tlp=TLP.AMBER_STRICT, audience_agencies=[outside_agency])
    before = counts()

    response = send(api(liaison_officer), RELAYS, {"product": product.pk, "eoc": county_eoc.pk, "note": "FYI"})

    assert response.status_code == 400
    assert response.json()["errors"]["eoc"] == [
        "TLP:AMBER+STRICT: County EOC is not in the audience, so it may not receive it."
    ]
    assert counts() == before


def test_approving_an_already_rejected_relay_is_refused_with_the_reason(api, liaison_officer, proposed):
    relay = proposed()
    client = api(liaison_officer)
    assert send(client, f"{RELAYS}{relay.pk}/reject/", {"reason": "Outside the EOC's mission."}).status_code == 200
    before = counts()

    response = send(client, f"{RELAYS}{relay.pk}/approve/")

    assert response.status_code == 400
    assert "Outside the EOC's mission." in response.json()["errors"]["state"][0]
    relay.refresh_from_db()
    assert (relay.state, relay.delivered_id) == (Relay.State.REJECTED, None)
    assert counts() == before


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"eoc": "county"}, "eoc"),
        ({"eoc": None}, "eoc"),
        ({"product": None}, "product"),
        ({"entry": 1}, "product"),
        ({"direction": "sideways"}, "direction"),
        ({"incident": 999999}, "incident"),
    ],
)
def test_bad_manual_relay_input_gets_field_messages(api, analyst, liaison_officer, county_eoc, publish, changes, field):
    product = publish(analyst)
    before = counts()

    response = send(api(liaison_officer), RELAYS, {"product": product.pk, "eoc": county_eoc.pk, **changes})

    assert response.status_code == 400, response.json()
    assert field in response.json()["errors"]
    assert counts() == before


def test_a_coordinator_may_not_relay_by_hand(api, analyst, coordinator, county_eoc, publish):
    product = publish(analyst, audience_agencies=[county_eoc])
    before = counts()

    response = send(api(coordinator), RELAYS, {"product": product.pk, "eoc": county_eoc.pk})

    assert response.status_code == 403
    assert counts() == before


def test_liaison_officer_relays_a_product_by_hand_into_an_incident_feed(
    api, analyst, liaison_officer, coordinator, county_eoc, flood, publish
):
    product = publish(analyst, audience_agencies=[county_eoc])

    response = send(
        api(liaison_officer), RELAYS, {"product": product.pk, "eoc": county_eoc.pk, "incident": flood.pk, "note": "Hi"}
    )

    assert response.status_code == 201, response.json()
    shown = response.json()
    assert (shown["state"], shown["rule"], shown["created_by"]["id"]) == ("delivered", None, liaison_officer.pk)
    assert shown["target"]["incident"] == {"id": flood.pk, "number": flood.number, "name": flood.name}
    assert shown["delivered"]["url"] == f"/incidents/{flood.pk}/#entry-{shown['delivered']['id']}"
    assert FeedEntry.objects.get(pk=shown["delivered"]["id"]).incident == flood
    # Twice is refused, with the reason.
    again = send(api(liaison_officer), RELAYS, {"product": product.pk, "eoc": county_eoc.pk, "incident": flood.pk})
    assert again.status_code == 400
    assert "already relayed" in again.json()["errors"]["product"][0]


# --- The list costs a fixed number of queries -----------------------------------------------------------


def test_relay_list_costs_the_same_queries_whatever_the_rows(
    api, analyst, liaison_officer, coordinator, county_eoc, publish, automatic, handle_events,
    django_assert_max_num_queries,
):  # fmt: skip
    def make(count: int) -> None:
        for number in range(count):
            publish(analyst, title=f"Bulletin {number}")
        handle_events()
        for relay in Relay.objects.filter(state=Relay.State.DELIVERED, acknowledged_at__isnull=True)[:count]:
            assert send(api(coordinator), f"{RELAYS}{relay.pk}/acknowledge/").status_code == 200

    readers = [api(liaison_officer), api(coordinator)]
    make(1)
    for reader in readers:
        with django_assert_max_num_queries(6):
            assert len(ids(reader.get(RELAYS))) == 1
    make(4)
    for reader in readers:
        with django_assert_max_num_queries(6):
            assert len(ids(reader.get(RELAYS))) == 5
        with django_assert_max_num_queries(6):
            assert len(ids(reader.get(RELAYS, {"state": "acknowledged", "direction": "to_eoc"}))) == 5


# --- Routing rules -------------------------------------------------------------------------------------------


def test_liaison_officer_writes_a_rule_and_the_eoc_it_covers_reads_it(
    api, liaison_officer, coordinator, outsider, county_eoc, other_eoc, state
):
    client = api(liaison_officer)
    created = send(
        client,
        RULES,
        {"name": "BOLOs to the county", "target_eoc": county_eoc.pk, "product_kinds": ["bolo"], "tags": ["Flood"]},
    )
    assert created.status_code == 201, created.json()
    rule = created.json()
    assert (rule["target_eoc"]["id"], rule["product_kinds"], rule["tags"]) == (county_eoc.pk, ["bolo"], ["flood"])
    assert rule["created_by"]["id"] == liaison_officer.pk
    statewide = send(client, RULES, {"name": "Statewide warnings up", "target_jurisdiction": state.pk})
    assert statewide.status_code == 201, statewide.json()
    elsewhere = send(client, RULES, {"name": "Other county", "target_eoc": other_eoc.pk})

    assert set(ids(client.get(RULES))) == {rule["id"], statewide.json()["id"], elsewhere.json()["id"]}
    # The county EOC reads the rules that cover it (named, or through its state), not the others'.
    assert set(ids(api(coordinator).get(RULES))) == {rule["id"], statewide.json()["id"]}
    assert api(coordinator).get(f"{RULES}{elsewhere.json()['id']}/").status_code == 404
    assert ids(api(outsider).get(RULES)) == []

    changed = client.patch(f"{RULES}{rule['id']}/", {"mode": "automatic"}, content_type="application/json")
    assert changed.status_code == 200, changed.json()
    assert (changed.json()["mode"], changed.json()["name"], changed.json()["tags"]) == (
        "automatic",
        "BOLOs to the county",
        ["flood"],
    )


def test_a_rule_changed_to_no_target_is_refused_and_stays_as_it_was(api, liaison_officer, county_eoc, rule):
    kept = rule()

    response = api(liaison_officer).patch(f"{RULES}{kept.pk}/", {"target_eoc": None}, content_type="application/json")

    assert response.status_code == 400
    assert "target_eoc" in response.json()["errors"]
    kept.refresh_from_db()
    assert kept.target_eoc == county_eoc


def test_coordinator_may_read_a_rule_but_not_write_one(api, coordinator, county_eoc, rule):
    kept = rule()
    client = api(coordinator)

    assert client.get(f"{RULES}{kept.pk}/").status_code == 200
    assert send(client, RULES, {"name": "Mine", "target_eoc": county_eoc.pk}).status_code == 403
    assert client.patch(f"{RULES}{kept.pk}/", {"name": "Mine"}, content_type="application/json").status_code == 403
    assert RoutingRule.objects.count() == 1


# --- Liaison assignments ---------------------------------------------------------------------------------------


def test_liaison_officer_is_assigned_and_the_assignment_ended(
    api, liaison_officer, coordinator, outsider, county_eoc, other_eoc
):
    client = api(liaison_officer)
    started = (timezone.now() - timedelta(hours=2)).isoformat()
    created = send(
        client,
        ASSIGNMENTS,
        {"officer": liaison_officer.pk, "eoc": county_eoc.pk, "phone": "919-555-0100", "starts_at": started},
    )
    assert created.status_code == 201, created.json()
    assignment = created.json()
    assert (assignment["officer"]["id"], assignment["eoc"]["id"]) == (liaison_officer.pk, county_eoc.pk)
    assert assignment["is_current"] is True

    assert ids(api(coordinator).get(ASSIGNMENTS)) == [assignment["id"]]
    assert ids(api(outsider).get(ASSIGNMENTS)) == []
    assert api(outsider).get(f"{ASSIGNMENTS}{assignment['id']}/").status_code == 404
    assert send(api(coordinator), f"{ASSIGNMENTS}{assignment['id']}/end/").status_code == 403

    ended = send(client, f"{ASSIGNMENTS}{assignment['id']}/end/")
    assert ended.status_code == 200, ended.json()
    assert ended.json()["is_current"] is False
    assert ids(client.get(ASSIGNMENTS)) == []
    assert ids(client.get(ASSIGNMENTS, {"all": "1"})) == [assignment["id"]]
    again = send(client, f"{ASSIGNMENTS}{assignment['id']}/end/")
    assert again.status_code == 400
    assert again.json()["errors"]["ends_at"] == ["This assignment has already ended."]


def test_assignments_are_filtered_by_eoc_and_officer(api, liaison_officer, analyst, county_eoc, other_eoc):
    to_county = assign_liaison(by=liaison_officer, officer=liaison_officer, eoc=county_eoc)
    to_other = assign_liaison(by=liaison_officer, officer=liaison_officer, eoc=other_eoc)
    past = assign_liaison(
        by=liaison_officer, officer=liaison_officer, eoc=county_eoc, starts_at=timezone.now() - timedelta(days=2)
    )
    end_assignment(assignment=past, by=liaison_officer)
    client = api(analyst)

    assert ids(client.get(ASSIGNMENTS, {"eoc": county_eoc.pk})) == [to_county.pk]
    assert set(ids(client.get(ASSIGNMENTS, {"eoc": county_eoc.pk, "all": "true"}))) == {to_county.pk, past.pk}
    assert set(ids(client.get(ASSIGNMENTS, {"officer": liaison_officer.pk}))) == {to_county.pk, to_other.pk}
    assert ids(client.get(ASSIGNMENTS, {"officer": analyst.pk})) == []


@pytest.mark.parametrize(("who", "field"), [("analyst", "officer"), ("nobody", "officer"), ("outside", "eoc")])
def test_bad_assignments_are_refused_with_field_messages(
    api, liaison_officer, analyst, county_eoc, outside_agency, who, field
):
    body = {"officer": liaison_officer.pk, "eoc": county_eoc.pk}
    if who == "analyst":
        body["officer"] = analyst.pk
    elif who == "nobody":
        body["officer"] = 999999
    else:
        body["eoc"] = outside_agency.pk

    response = send(api(liaison_officer), ASSIGNMENTS, body)

    assert response.status_code == 400
    assert field in response.json()["errors"]
    assert not LiaisonAssignment.objects.exists()


# --- The schema -----------------------------------------------------------------------------------------------


def test_schema_describes_the_liaison_endpoints(api, coordinator):
    paths = api(coordinator).get("/api/v1/schema/", {"format": "json"}).json()["paths"]
    for path in (
        "/api/v1/liaison-assignments/",
        "/api/v1/liaison-assignments/{id}/",
        "/api/v1/liaison-assignments/{id}/end/",
        "/api/v1/routing-rules/",
        "/api/v1/routing-rules/{id}/",
        "/api/v1/relays/",
        "/api/v1/relays/{id}/",
        "/api/v1/relays/{id}/approve/",
        "/api/v1/relays/{id}/reject/",
        "/api/v1/relays/{id}/acknowledge/",
    ):
        assert path in paths, path
    assert {"get", "post"} <= set(paths["/api/v1/relays/"])
    filters = {p["name"] for p in paths["/api/v1/relays/"]["get"]["parameters"]}
    assert {"state", "direction", "eoc", "incident", "source_type", "created_since"} <= filters
