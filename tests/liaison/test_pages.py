"""The liaison pages: who may open them, the queue with its marking check and decisions, rules,
assignments, the situational-awareness queue, manual relays and requests raised from an incident.
Refusals are shown with their message, never a 500; lists cost a fixed number of queries."""

from datetime import timedelta

import pytest
from django.utils import timezone

from agencies.markings import TLP, Caveat
from eoc.models import FeedEntry
from liaison import services
from liaison.models import AwarenessItem, Direction, DutyContact, LiaisonAssignment, Relay, RoutingRule
from liaison.services import ENTRY, PRODUCT, relay_manually
from sharing.models import RequestForInformation, ThreatProduct

pytestmark = pytest.mark.django_db


def text_of(response) -> str:
    return response.content.decode()


@pytest.fixture
def as_person(client):
    def _as(person):
        client.force_login(person)
        return client

    return _as


@pytest.fixture
def proposed(analyst, county, publish, rule, handle_events):
    """A TLP:AMBER, LES bulletin with a tearline, proposed to the county EOC by a rule."""
    rule()
    product = publish(
        analyst, tlp=TLP.AMBER, caveats=[Caveat.LES], tearline="Expect closures.", audience_jurisdictions=[county]
    )
    handle_events()
    return Relay.objects.get(source_type=PRODUCT, source_id=product.pk)


# --- Who may open which page --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "allowed", "refused"),
    [
        ("/liaison/", ["liaison_officer", "analyst", "coordinator", "agency_admin", "system_admin"], ["outsider"]),
        ("/liaison/relays/", ["liaison_officer", "supervisor", "coordinator"], ["outsider"]),
        ("/liaison/rules/", ["liaison_officer", "analyst", "system_admin"], ["coordinator", "outsider"]),
        ("/liaison/rules/new/", ["liaison_officer", "system_admin"], ["analyst", "coordinator", "outsider"]),
        ("/liaison/assignments/", ["liaison_officer", "analyst"], ["coordinator", "agency_admin", "outsider"]),
        ("/liaison/awareness/", ["liaison_officer", "analyst", "supervisor"], ["coordinator", "outsider"]),
        ("/liaison/relay/", ["liaison_officer"], ["analyst", "coordinator", "outsider"]),
    ],
)
def test_pages_open_for_their_roles_and_refuse_others(request, as_person, path, allowed, refused):
    for name in allowed:
        assert as_person(request.getfixturevalue(name)).get(path).status_code == 200, (name, path)
    for name in refused:
        assert as_person(request.getfixturevalue(name)).get(path).status_code == 403, (name, path)


def test_anonymous_visitor_is_sent_to_sign_in(client):
    response = client.get("/liaison/")
    assert response.status_code == 302
    assert response["Location"].startswith("/sign-in/")


def test_navigation_shows_liaison_with_its_count_to_liaison_officers_only(
    as_person, liaison_officer, outsider, proposed
):
    page = text_of(as_person(liaison_officer).get("/"))
    assert ">Liaison<" in page
    assert 'data-testid="liaison-count">1<' in page
    assert ">Liaison<" not in text_of(as_person(outsider).get("/"))


def test_eoc_people_do_not_see_a_relay_proposed_to_them(as_person, coordinator, proposed):
    client = as_person(coordinator)
    assert proposed.source_label not in text_of(client.get("/liaison/?state=proposed"))
    assert client.get(f"/liaison/relays/{proposed.pk}/").status_code == 404


# --- The queue --------------------------------------------------------------------------------------------


def test_workspace_shows_the_proposed_relay_with_its_marking_check(as_person, liaison_officer, proposed):
    page = text_of(as_person(liaison_officer).get("/liaison/"))
    assert proposed.source_label in page
    assert f'href="/products/{proposed.source_id}/"' in page
    assert "County EOC — EOC-wide feed" in page
    assert "TLP:AMBER" in page
    assert "LES" in page
    assert "Marking check: allowed" in page
    assert "without law-enforcement status get the tearline" in page
    assert "Everything to the county EOC" in page  # the rule that proposed it
    assert "1 to the EOCs" in page
    assert f'action="/liaison/relays/{proposed.pk}/approve/"' in page


def test_analyst_sees_the_queue_without_decision_buttons(as_person, analyst, proposed):
    page = text_of(as_person(analyst).get("/liaison/"))
    assert proposed.source_label in page
    assert "/approve/" not in page
    assert "A liaison officer of the fusion center decides." in page


def test_approving_on_the_page_delivers_the_relay(as_person, liaison_officer, proposed):
    response = as_person(liaison_officer).post(
        f"/liaison/relays/{proposed.pk}/approve/", {"note": "For the morning briefing."}, follow=True
    )
    assert response.status_code == 200
    assert "Approved and delivered" in text_of(response)
    proposed.refresh_from_db()
    assert proposed.state == Relay.State.DELIVERED
    assert "For the morning briefing." in proposed.note
    assert FeedEntry.objects.filter(pk=proposed.delivered_id, kind=FeedEntry.Kind.RELAYED_ITEM).exists()


def test_approving_twice_shows_the_services_message(as_person, liaison_officer, proposed):
    client = as_person(liaison_officer)
    client.post(f"/liaison/relays/{proposed.pk}/approve/")
    response = client.post(f"/liaison/relays/{proposed.pk}/approve/", follow=True)
    assert response.status_code == 200
    assert "This relay is already delivered." in text_of(response)


def test_an_analyst_cannot_approve_and_is_told_why(as_person, analyst, proposed):
    response = as_person(analyst).post(f"/liaison/relays/{proposed.pk}/approve/", follow=True)
    assert response.status_code == 200
    assert "Only liaison officers and admins of the fusion center" in text_of(response)
    proposed.refresh_from_db()
    assert proposed.state == Relay.State.PROPOSED


def test_rejecting_without_a_reason_shows_the_form_again_with_the_message(as_person, liaison_officer, proposed):
    response = as_person(liaison_officer).post(f"/liaison/relays/{proposed.pk}/reject/", {"reason": "  "})
    assert response.status_code == 200
    assert "Say why the relay is rejected" in text_of(response)
    assert 'data-testid="reject-form"' in text_of(response)
    proposed.refresh_from_db()
    assert proposed.state == Relay.State.PROPOSED


def test_rejecting_with_a_reason_keeps_it_in_the_history(as_person, liaison_officer, proposed):
    client = as_person(liaison_officer)
    response = client.post(f"/liaison/relays/{proposed.pk}/reject/", {"reason": "Not for the EOC yet."})
    assert response.status_code == 302
    proposed.refresh_from_db()
    assert proposed.state == Relay.State.REJECTED
    history = text_of(client.get("/liaison/relays/?state=rejected"))
    assert proposed.source_label in history
    assert "Not for the EOC yet." in history


def test_history_filters_by_direction_and_dates(as_person, liaison_officer, proposed):
    client = as_person(liaison_officer)
    assert proposed.source_label in text_of(client.get("/liaison/relays/?direction=to_eoc"))
    assert proposed.source_label not in text_of(client.get("/liaison/relays/?direction=to_fusion_center"))
    tomorrow = (timezone.localdate() + timedelta(days=1)).isoformat()
    assert proposed.source_label not in text_of(client.get(f"/liaison/relays/?created_from={tomorrow}"))
    page = text_of(client.get(f"/liaison/relays/?created_from={tomorrow}&created_to=2020-01-01"))
    assert "The end of the date range must not come before its start." in page


def test_coordinator_acknowledges_on_the_relay_page(as_person, liaison_officer, coordinator, proposed):
    as_person(liaison_officer).post(f"/liaison/relays/{proposed.pk}/approve/")
    client = as_person(coordinator)
    page = text_of(client.get(f"/liaison/relays/{proposed.pk}/"))
    assert 'data-testid="acknowledge-form"' in page
    response = client.post(f"/liaison/relays/{proposed.pk}/acknowledge/", follow=True)
    assert "Acknowledged:" in text_of(response)
    proposed.refresh_from_db()
    assert proposed.state == Relay.State.ACKNOWLEDGED
    assert proposed.acknowledged_by == coordinator


def _relays(count, *, fusion_center, eoc, rule, person):
    Relay.objects.bulk_create(
        Relay(
            direction=Direction.TO_EOC if number % 2 else Direction.TO_FUSION_CENTER,
            source_type=PRODUCT if number % 2 else ENTRY,
            source_id=10_000 + number,
            source_label=f"Item {number}",
            fusion_center=fusion_center,
            eoc=eoc,
            rule=rule if number % 3 else None,
            created_by=person,
            tlp=TLP.AMBER,
            caveats=[Caveat.LES] if number % 4 else [],
            check_allowed=True,
            check_access="tearline" if number % 4 else "full",
            check_reasons=["TLP:AMBER: shared on a need-to-know basis."],
        )
        for number in range(count)
    )


@pytest.fixture
def count_queries(as_person, settings, django_assert_max_num_queries):
    """The page's own queries: the session in a signed cookie and the cache in this process."""
    settings.SESSION_ENGINE = "django.contrib.sessions.backends.signed_cookies"
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

    def _count(person, path: str, at_most: int = 40) -> int:
        client = as_person(person)
        client.get(path)
        with django_assert_max_num_queries(at_most) as queries:
            assert client.get(path).status_code == 200
        return len(queries.captured_queries)

    return _count


def test_workspace_and_history_cost_a_fixed_number_of_queries(
    count_queries, liaison_officer, fusion_center, county_eoc, rule
):
    keeper = rule()
    _relays(2, fusion_center=fusion_center, eoc=county_eoc, rule=keeper, person=liaison_officer)
    few = count_queries(liaison_officer, "/liaison/")
    few_history = count_queries(liaison_officer, "/liaison/relays/")
    Relay.objects.all().delete()
    _relays(60, fusion_center=fusion_center, eoc=county_eoc, rule=keeper, person=liaison_officer)
    count_queries(liaison_officer, "/liaison/", at_most=few)
    count_queries(liaison_officer, "/liaison/relays/", at_most=few_history)


def test_workspace_pages_by_keyset(as_person, liaison_officer, fusion_center, county_eoc, rule):
    _relays(60, fusion_center=fusion_center, eoc=county_eoc, rule=rule(), person=liaison_officer)
    client = as_person(liaison_officer)
    first = text_of(client.get("/liaison/"))
    assert "Item 59" in first
    assert "Item 10" not in first
    oldest_shown = Relay.objects.order_by("-pk")[24].pk
    second = text_of(client.get(f"/liaison/?before={oldest_shown}"))
    assert "Item 34" in second
    assert "Item 59" not in second


# --- Routing rules ----------------------------------------------------------------------------------------


def rule_data(**overrides):
    data = {
        "name": "Bulletins to the county",
        "direction": "to_eoc",
        "product_kinds": ["intelligence_bulletin"],
        "tags": "flood, Power",
        "minimum_priority": "routine",
        "mode": "proposed",
        "when": "always",
        "is_active": "on",
    }
    data.update(overrides)
    return data


def test_a_rule_without_a_target_is_refused_with_the_services_message(as_person, liaison_officer):
    response = as_person(liaison_officer).post("/liaison/rules/new/", rule_data())
    assert response.status_code == 200
    assert "Choose the target EOC, or a jurisdiction whose EOCs the rule covers." in text_of(response)
    assert not RoutingRule.objects.exists()


def test_a_rule_is_created_and_edited_on_its_pages(as_person, liaison_officer, county_eoc):
    client = as_person(liaison_officer)
    response = client.post("/liaison/rules/new/", rule_data(target_eoc=county_eoc.pk))
    assert response.status_code == 302
    rule = RoutingRule.objects.get()
    assert rule.tags == ["flood", "power"]
    assert rule.product_kinds == ["intelligence_bulletin"]
    assert "Bulletins to the county" in text_of(client.get("/liaison/rules/"))
    edit = text_of(client.get(f"/liaison/rules/{rule.pk}/edit/"))
    assert 'value="flood, power"' in edit
    response = client.post(
        f"/liaison/rules/{rule.pk}/edit/", rule_data(name="Renamed", target_eoc=county_eoc.pk, mode="automatic")
    )
    assert response.status_code == 302
    rule.refresh_from_db()
    assert (rule.name, rule.mode) == ("Renamed", RoutingRule.Mode.AUTOMATIC)


def test_only_the_centers_liaison_officers_edit_rules(as_person, analyst, coordinator, rule):
    kept = rule()
    assert as_person(analyst).get(f"/liaison/rules/{kept.pk}/edit/").status_code == 403
    assert as_person(coordinator).get(f"/liaison/rules/{kept.pk}/edit/").status_code == 403


# --- Assignments and the contact of the day ---------------------------------------------------------------


def test_assigning_ending_and_naming_the_contact_of_the_day(as_person, liaison_officer, county_eoc):
    client = as_person(liaison_officer)
    response = client.post(
        "/liaison/assignments/new/",
        {"assignment-officer": liaison_officer.pk, "assignment-eoc": county_eoc.pk, "assignment-phone": "919-555-0100"},
    )
    assert response.status_code == 302
    assignment = LiaisonAssignment.objects.get()
    page = text_of(client.get("/liaison/assignments/"))
    assert "919-555-0100" in page
    assert "County EOC" in page
    client.post(f"/liaison/assignments/{assignment.pk}/end/")
    assignment.refresh_from_db()
    assert assignment.ends_at is not None
    today = timezone.localdate().isoformat()
    response = client.post("/liaison/duty-contact/", {"duty-person": liaison_officer.pk, "duty-on_date": today})
    assert response.status_code == 302
    assert DutyContact.objects.get().person == liaison_officer


def test_an_assignment_that_ends_before_it_starts_is_refused_on_the_form(as_person, liaison_officer, county_eoc):
    now = timezone.localtime()
    response = as_person(liaison_officer).post(
        "/liaison/assignments/new/",
        {
            "assignment-officer": liaison_officer.pk,
            "assignment-eoc": county_eoc.pk,
            "assignment-starts_at": now.strftime("%Y-%m-%dT%H:%M"),
            "assignment-ends_at": (now - timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M"),
        },
    )
    assert response.status_code == 200
    assert "The assignment must end after it starts." in text_of(response)
    assert not LiaisonAssignment.objects.exists()


def test_the_current_assignments_are_bounded_and_the_page_says_so(as_person, liaison_officer, county_eoc, monkeypatch):
    from liaison.views import assignments

    monkeypatch.setattr(assignments, "CURRENT_SHOWN", 2)
    for hours in (1, 2, 3):
        services.assign_liaison(
            by=liaison_officer,
            officer=liaison_officer,
            eoc=county_eoc,
            starts_at=timezone.now() - timedelta(hours=hours),
        )

    response = as_person(liaison_officer).get("/liaison/assignments/")

    page = text_of(response)
    assert len(response.context["current"]) == 2
    assert "More than 2 assignments are current; the first 2, by EOC, are shown." in page


# --- Manual relays ------------------------------------------------------------------------------------------


def test_a_manual_relay_refused_by_the_markings_shows_the_reason(
    as_person, liaison_officer, analyst, county_eoc, outside_agency, publish
):
    product = publish(analyst, tlp=TLP.AMBER_STRICT, audience_agencies=[outside_agency])
    client = as_person(liaison_officer)
    check = text_of(client.get(f"/liaison/relay/check/?product={product.pk}&eoc={county_eoc.pk}"))
    assert "TLP:AMBER+STRICT: County EOC is not in the audience" in check
    response = client.post(
        f"/liaison/relay/?product={product.pk}",
        {"product": product.pk, "eoc": county_eoc.pk, "note": "", "action": "relay"},
    )
    assert response.status_code == 200
    assert "TLP:AMBER+STRICT: County EOC is not in the audience, so it may not receive it." in text_of(response)
    assert not Relay.objects.exists()


def test_a_manual_relay_checks_then_delivers(as_person, liaison_officer, analyst, county, county_eoc, publish):
    product = publish(analyst, tlp=TLP.GREEN, audience_jurisdictions=[county])
    client = as_person(liaison_officer)
    page = text_of(client.get(f"/liaison/relay/?product={product.pk}"))
    assert 'hx-get="/liaison/relay/check/"' in page
    checked = text_of(
        client.post(
            f"/liaison/relay/?product={product.pk}", {"product": product.pk, "eoc": county_eoc.pk, "action": "check"}
        )
    )
    assert "The markings allow relaying this to County EOC." in checked
    assert not Relay.objects.exists()
    response = client.post(
        f"/liaison/relay/?product={product.pk}",
        {"product": product.pk, "eoc": county_eoc.pk, "note": "Heads up.", "action": "relay"},
    )
    relay = Relay.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/liaison/relays/{relay.pk}/"
    assert relay.state == Relay.State.DELIVERED


def test_the_product_page_links_liaison_officers_to_the_manual_relay(as_person, liaison_officer, analyst, publish):
    product = publish(analyst, tlp=TLP.GREEN, audience_agencies=[liaison_officer.agency])
    assert f'href="/liaison/relay/?product={product.pk}"' in text_of(
        as_person(liaison_officer).get(f"/products/{product.pk}/")
    )
    assert "/liaison/relay/?product=" not in text_of(as_person(analyst).get(f"/products/{product.pk}/"))


def test_an_entry_is_relayed_to_the_fusion_center_by_hand(as_person, liaison_officer, county_eoc, flood, post):
    entry = post(flood, kind=FeedEntry.Kind.WARNING, title="Levee breach at Smithfield", audience_agencies=[])
    client = as_person(liaison_officer)
    page = text_of(client.get(f"/liaison/relay/?entry={entry.pk}"))
    assert "Levee breach at Smithfield" in page
    response = client.post(f"/liaison/relay/?entry={entry.pk}", {"entry": entry.pk, "note": "Watch this."})
    assert response.status_code == 302
    item = AwarenessItem.objects.get()
    assert item.kind == AwarenessItem.Kind.WARNING


# --- The situational-awareness queue --------------------------------------------------------------------------


@pytest.fixture
def awareness(liaison_officer, flood, post):
    """Relay entries of the flood to the fusion center by hand; returns their awareness items."""

    def _make(count=1, **overrides):
        items = []
        for number in range(count):
            values = {"kind": FeedEntry.Kind.WARNING, "title": f"Warning {number}", "body": "Full details."}
            values.update(overrides)
            entry = post(flood, **values)
            relay = relay_manually(
                by=liaison_officer,
                source=entry,
                eoc=flood.lead_eoc,
                incident=flood,
                direction=Direction.TO_FUSION_CENTER,
            )
            items.append(AwarenessItem.objects.get(relay=relay))
        return items

    return _make


def test_awareness_queue_lists_items_and_makes_warnings_stand_out(as_person, analyst, awareness):
    (item,) = awareness(priority="flash")
    page = text_of(as_person(analyst).get("/liaison/awareness/"))
    assert item.title in page
    assert "fh-awareness--flash" in page
    assert "fh-awareness--warning" in page
    assert item.title not in text_of(as_person(analyst).get("/liaison/awareness/?kind=situation_report"))


def test_awareness_item_shows_the_tearline_to_people_without_law_enforcement_status(
    as_person, analyst, system_admin, awareness
):
    (item,) = awareness(caveats=[Caveat.LES], tearline="A warning was issued.", body="Sensitive source details.")
    full = text_of(as_person(analyst).get(f"/liaison/awareness/{item.pk}/"))
    assert "Sensitive source details." in full
    assert full.count('data-testid="marking-banner"') == 2
    tearline = text_of(as_person(system_admin).get(f"/liaison/awareness/{item.pk}/"))
    assert "Sensitive source details." not in tearline
    assert "A warning was issued." in tearline


def test_starting_a_product_from_an_item_opens_the_draft(as_person, analyst, awareness):
    (item,) = awareness()
    response = as_person(analyst).post(f"/liaison/awareness/{item.pk}/start-product/")
    product = ThreatProduct.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/products/{product.pk}/edit/"
    item.refresh_from_db()
    assert item.state == AwarenessItem.State.PRODUCT_STARTED
    again = as_person(analyst).post(f"/liaison/awareness/{item.pk}/start-product/", follow=True)
    assert "A product has already been started from this item." in text_of(again)


def test_marking_an_item_reviewed(as_person, liaison_officer, awareness):
    (item,) = awareness()
    as_person(liaison_officer).post(f"/liaison/awareness/{item.pk}/reviewed/")
    item.refresh_from_db()
    assert item.state == AwarenessItem.State.REVIEWED


def test_awareness_queue_costs_a_fixed_number_of_queries(count_queries, analyst, awareness):
    awareness(2)
    few = count_queries(analyst, "/liaison/awareness/")
    awareness(30, caveats=[Caveat.LES], tearline="Releasable.")
    count_queries(analyst, "/liaison/awareness/", at_most=few)


# --- Requests raised from an incident -------------------------------------------------------------------------


def test_a_coordinator_raises_a_request_from_the_incident(as_person, coordinator, fusion_center, flood):
    client = as_person(coordinator)
    empty = client.post(f"/liaison/incidents/{flood.pk}/request/", {"question": "", "priority": "routine"})
    assert empty.status_code == 200
    assert "Write the question you need answered." in text_of(empty)
    due = (timezone.localdate() + timedelta(days=1)).isoformat()
    response = client.post(
        f"/liaison/incidents/{flood.pk}/request/",
        {"question": "Any threats to the shelters?", "due_date": due, "priority": "priority"},
        follow=True,
    )
    rfi = RequestForInformation.objects.get()
    assert response.redirect_chain[-1][0] == f"/incidents/{flood.pk}/"
    assert f"Request {rfi.number} sent to {fusion_center.name}" in text_of(response)


def test_people_outside_the_incident_cannot_raise_requests_from_it(as_person, liaison_officer, analyst, flood):
    assert as_person(liaison_officer).get(f"/liaison/incidents/{flood.pk}/request/").status_code == 403
    assert as_person(analyst).get(f"/liaison/incidents/{flood.pk}/request/").status_code == 403
