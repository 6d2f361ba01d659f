"""Relays between the fusion center and the EOCs: rules, markings, activation, updates and
retractions, the reverse direction, requests for information, acknowledgements, idempotency."""

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from agencies.markings import TLP, Caveat
from dissemination.fanout import fan_out
from dissemination.models import Delivery, Dispatch, DomainEvent
from dissemination.services import handle_event
from eoc.models import FeedEntry
from eoc.services.feed import acknowledge_entry
from eoc.services.incidents import change_activation
from eoc.services.logistics import publish_situation_report, write_situation_report
from liaison.models import AwarenessItem, LiaisonNotice, Relay, RoutingRule
from liaison.services import (
    acknowledge_relay,
    approve_relay,
    assign_liaison,
    raise_request,
    reject_relay,
    relay_manually,
)
from sharing.models import ThreatProduct
from sharing.services.products import approve_product, retract_product, start_update, submit_for_review
from sharing.services.requests import answer_request, assign_request
from tests.factories import AgencyFactory, UserFactory

pytestmark = pytest.mark.django_db

EXPECT_CLOSURES = "Expect road closures near the river; avoid the area."


@pytest.fixture
def activated(county_eoc, coordinator, flood):
    change_activation(eoc=county_eoc, by=coordinator, level=2, reason="River above flood stage", incident=flood)
    return flood


@pytest.fixture
def les_coordinator(county_eoc):
    return UserFactory(
        username="les.coordinator", agency=county_eoc, roles=["eoc_coordinator"], is_law_enforcement=True
    )


def relays_of(product):
    return list(Relay.objects.filter(source_type="sharing.threatproduct", source_id=product.pk))


def entries_from(product):
    return list(FeedEntry.objects.filter(source_type="sharing.threatproduct", source_id=product.pk).order_by("pk"))


# --- Rules ------------------------------------------------------------------------------------------


def test_an_automatic_rule_puts_a_published_product_in_the_activated_incidents_feed(
    analyst, county, automatic, activated, publish, handle_events
):
    product = publish(analyst, tlp=TLP.GREEN, audience_jurisdictions=[county])
    handle_events()
    (relay,) = relays_of(product)
    assert relay.state == Relay.State.DELIVERED
    assert relay.rule == automatic
    (entry,) = entries_from(product)
    assert entry.incident == activated
    assert entry.kind == FeedEntry.Kind.RELAYED_ITEM
    assert product.number in entry.title
    assert relay.delivered_id == entry.pk


def test_without_an_activation_a_product_goes_to_the_eoc_wide_feed(
    analyst, county, county_eoc, automatic, publish, handle_events
):
    product = publish(analyst, tlp=TLP.GREEN, audience_jurisdictions=[county])
    handle_events()
    (entry,) = entries_from(product)
    assert entry.incident is None
    assert entry.eoc == county_eoc


def test_a_rule_that_waits_for_activation_does_nothing_in_steady_state_and_stops_on_deactivation(
    analyst, coordinator, county, county_eoc, flood, rule, publish, handle_events
):
    rule(mode=RoutingRule.Mode.AUTOMATIC, when=RoutingRule.When.ACTIVATED)
    quiet = publish(analyst, title="Before activation", tlp=TLP.GREEN, audience_jurisdictions=[county])
    handle_events()
    assert relays_of(quiet) == []

    change_activation(eoc=county_eoc, by=coordinator, level=1, reason="Levee breach", incident=flood)
    during = publish(analyst, title="During activation", tlp=TLP.GREEN, audience_jurisdictions=[county])
    handle_events()
    assert [r.state for r in relays_of(during)] == [Relay.State.DELIVERED]

    change_activation(eoc=county_eoc, by=coordinator, level=3, reason="Water receding")
    after = publish(analyst, title="After deactivation", tlp=TLP.GREEN, audience_jurisdictions=[county])
    handle_events()
    assert relays_of(after) == []


@pytest.mark.parametrize(
    ("rule_values", "product_values", "flows"),
    [
        ({}, {}, True),
        ({"product_kinds": ["bolo"]}, {"kind": "intelligence_bulletin"}, False),
        ({"product_kinds": ["bolo"]}, {"kind": "bolo"}, True),
        ({"tags": ["flood"]}, {"tags": ["flood", "water"]}, True),
        ({"tags": ["flood"]}, {"tags": ["cyber"]}, False),
        ({"minimum_priority": "priority"}, {"kind": "intelligence_bulletin"}, False),
        ({"minimum_priority": "priority"}, {"kind": "officer_safety"}, True),
        ({"match_incident_jurisdictions": True}, {"audience_jurisdictions": "county"}, True),
        ({"match_incident_jurisdictions": True}, {"audience_jurisdictions": "state"}, True),
        ({"match_incident_jurisdictions": True}, {"audience_jurisdictions": "other_county"}, False),
        ({"is_active": False}, {}, False),
    ],
)
def test_what_a_rule_lets_through(
    request, analyst, rule, activated, publish, handle_events, rule_values, product_values, flows
):
    rule(mode=RoutingRule.Mode.AUTOMATIC, **rule_values)
    values = {"tlp": TLP.GREEN, "audience_jurisdictions": [request.getfixturevalue("county")]}
    if isinstance(product_values.get("audience_jurisdictions"), str):
        product_values = product_values | {
            "audience_jurisdictions": [request.getfixturevalue(product_values["audience_jurisdictions"])]
        }
    product = publish(analyst, **(values | product_values))
    handle_events()
    assert bool(entries_from(product)) is flows


def test_a_jurisdiction_rule_covers_every_eoc_within_it(
    analyst, state, county, county_eoc, other_county, rule, publish, handle_events
):
    other_eoc = AgencyFactory(name="Other EOC", acronym="OEOC", kind="eoc", jurisdiction=other_county)
    rule(target_eoc=None, target_jurisdiction=state, mode=RoutingRule.Mode.AUTOMATIC)
    product = publish(analyst, tlp=TLP.GREEN, audience_jurisdictions=[state])
    handle_events()
    assert {e.eoc for e in entries_from(product)} == {county_eoc, other_eoc}


def test_a_rule_without_a_target_is_refused_and_nothing_is_saved(rule):
    with pytest.raises(ValidationError) as refused:
        rule(target_eoc=None)
    assert "Choose the target EOC" in refused.value.message_dict["target_eoc"][0]
    assert not RoutingRule.objects.exists()


def test_only_the_centers_liaison_officers_keep_rules(coordinator, county_eoc):
    from liaison.services import RuleDetails, create_rule

    with pytest.raises(PermissionDenied):
        create_rule(by=coordinator, details=RuleDetails(name="Mine", target_eoc=county_eoc))


# --- Markings ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tlp", "les", "tearline", "in_audience", "allowed", "access", "reason"),
    [
        (TLP.CLEAR, False, "", False, True, "full", "TLP:CLEAR"),
        (TLP.GREEN, False, "", False, True, "full", "TLP:GREEN"),
        (TLP.AMBER, False, "", False, True, "full", "need-to-know"),
        (TLP.AMBER_STRICT, False, "", True, True, "full", "is in the audience"),
        (TLP.AMBER_STRICT, False, "", False, False, "", "is not in the audience"),
        (TLP.RED, False, "", True, False, "", "TLP:RED is never relayed"),
        (TLP.AMBER, True, EXPECT_CLOSURES, False, True, "tearline", "the others read the tearline"),
        (TLP.AMBER, True, "", False, False, "", "LES without a tearline"),
        (TLP.AMBER_STRICT, True, EXPECT_CLOSURES, True, True, "tearline", "the others read the tearline"),
        (TLP.GREEN, True, "", False, False, "", "LES without a tearline"),
    ],
)
def test_marking_rules_of_a_relay(
    analyst,
    supervisor,
    county_eoc,
    county,
    rule,
    publish,
    handle_events,
    tlp,
    les,
    tearline,
    in_audience,
    allowed,
    access,
    reason,
):
    rule()
    audience = {"audience_agencies": [county_eoc]} if in_audience else {"audience_jurisdictions": [county]}
    if tlp == TLP.RED:
        audience = {"audience_people": [supervisor]}
    product = publish(analyst, tlp=tlp, caveats=[Caveat.LES] if les else [], tearline=tearline, **audience)
    handle_events()
    (relay,) = relays_of(product)
    assert relay.check_allowed is allowed
    assert relay.check_access == access
    assert reason in " ".join(relay.check_reasons)
    assert relay.state == (Relay.State.PROPOSED if allowed else Relay.State.REJECTED)
    if not allowed:
        assert reason in relay.rejection_reason
        assert entries_from(product) == []
    assert relay.tlp == tlp
    assert relay.caveats == ([Caveat.LES] if les else [])


def test_an_les_relay_gives_the_full_text_to_law_enforcement_and_the_tearline_to_the_others(
    analyst, liaison_officer, coordinator, les_coordinator, county, rule, activated, publish, handle_events
):
    rule()
    product = publish(
        analyst,
        tlp=TLP.AMBER,
        caveats=[Caveat.LES],
        tearline=EXPECT_CLOSURES,
        body="Informant reports **planned looting** on Main Street.",
        audience_jurisdictions=[county],
    )
    handle_events()
    (relay,) = relays_of(product)
    approve_relay(relay=relay, by=liaison_officer)
    (entry,) = entries_from(product)
    assert (entry.tlp, entry.caveats, entry.tearline) == (TLP.AMBER, [Caveat.LES], EXPECT_CLOSURES)
    assert FeedEntry.objects.visible_to(coordinator).get(pk=entry.pk).full_access is False
    assert FeedEntry.objects.visible_to(les_coordinator).get(pk=entry.pk).full_access is True

    dispatch = Dispatch.objects.get(item_type="eoc.feedentry", item_id=entry.pk)
    fan_out(dispatch_id=dispatch.pk)
    inbox = {d.recipient: d.is_full_text for d in Delivery.objects.filter(dispatch=dispatch, channel="inbox")}
    assert inbox == {coordinator: False, les_coordinator: True}


def test_a_manual_relay_the_markings_forbid_is_refused_with_the_reason_and_nothing_is_saved(
    analyst, liaison_officer, county_eoc, publish
):
    product = publish(analyst, tlp=TLP.AMBER, caveats=[Caveat.LES], tearline="", audience_agencies=[county_eoc])
    with pytest.raises(ValidationError) as refused:
        relay_manually(by=liaison_officer, source=product, eoc=county_eoc, note="They need it")
    assert "LES without a tearline" in refused.value.message_dict["eoc"][0]
    assert not Relay.objects.exists()
    assert not FeedEntry.objects.exists()


def test_a_manual_relay_of_tlp_red_is_refused(analyst, supervisor, liaison_officer, county_eoc, publish):
    product = publish(analyst, tlp=TLP.RED, audience_people=[supervisor])
    with pytest.raises(ValidationError) as refused:
        relay_manually(by=liaison_officer, source=product, eoc=county_eoc)
    assert "TLP:RED is never relayed" in refused.value.message_dict["eoc"][0]
    assert not Relay.objects.exists()


def test_a_manual_relay_of_an_item_the_officer_may_not_see_is_refused(
    liaison_officer, county_eoc, flood, post, outside_agency
):
    entry = post(flood, kind=FeedEntry.Kind.WARNING, title="Only for the EOC", tlp=TLP.AMBER_STRICT)
    with pytest.raises(ValidationError) as refused:
        relay_manually(by=liaison_officer, source=entry, eoc=county_eoc, direction="to_fusion_center")
    assert "may not see" in refused.value.message_dict["source"][0]
    assert not Relay.objects.exists()


def test_a_manual_relay_is_delivered_at_once_with_its_note(analyst, liaison_officer, county_eoc, county, publish):
    product = publish(analyst, tlp=TLP.AMBER, audience_jurisdictions=[county])
    relay = relay_manually(by=liaison_officer, source=product, eoc=county_eoc, note="For the evening briefing")
    assert relay.state == Relay.State.DELIVERED
    assert relay.created_by == liaison_officer
    assert relay.note == "For the evening briefing"
    (entry,) = entries_from(product)
    assert entry.audience_agencies.get() == county_eoc
    with pytest.raises(ValidationError, match="already relayed"):
        relay_manually(by=liaison_officer, source=product, eoc=county_eoc)


# --- Approving and rejecting ------------------------------------------------------------------------------


def test_approving_a_rejected_relay_is_refused_with_the_reason(
    analyst, liaison_officer, county, rule, publish, handle_events
):
    rule()
    product = publish(analyst, tlp=TLP.GREEN, audience_jurisdictions=[county])
    handle_events()
    (relay,) = relays_of(product)
    with pytest.raises(ValidationError, match="Say why"):
        reject_relay(relay=relay, by=liaison_officer, reason="  ")
    reject_relay(relay=relay, by=liaison_officer, reason="Not relevant to the flood")
    with pytest.raises(ValidationError) as refused:
        approve_relay(relay=relay, by=liaison_officer)
    assert "Not relevant to the flood" in refused.value.message_dict["state"][0]
    relay.refresh_from_db()
    assert relay.state == Relay.State.REJECTED
    assert entries_from(product) == []


def test_only_the_centers_liaison_officers_approve(analyst, coordinator, county, rule, publish, handle_events):
    rule()
    product = publish(analyst, tlp=TLP.GREEN, audience_jurisdictions=[county])
    handle_events()
    (relay,) = relays_of(product)
    for person in (analyst, coordinator):
        with pytest.raises(PermissionDenied):
            approve_relay(relay=relay, by=person)


def test_approval_checks_the_markings_again(analyst, supervisor, liaison_officer, county, rule, publish, handle_events):
    rule()
    product = publish(analyst, tlp=TLP.GREEN, audience_jurisdictions=[county])
    handle_events()
    (relay,) = relays_of(product)
    retract_product(product=product, by=supervisor, reason="Source withdrew the report")
    handle_events()
    relay.refresh_from_db()
    assert relay.state == Relay.State.REJECTED
    assert "retracted" in relay.rejection_reason


# --- Idempotency -----------------------------------------------------------------------------------------


def test_an_event_handled_twice_relays_once(analyst, county, automatic, activated, publish, handle_events):
    product = publish(analyst, tlp=TLP.GREEN, audience_jurisdictions=[county])
    handle_events()
    event = DomainEvent.objects.get(kind="product_published", subject_id=product.pk)
    DomainEvent.objects.filter(pk=event.pk).update(handled_at=None)  # as if the worker died before marking it
    assert handle_event(event_id=event.pk) is True
    assert len(relays_of(product)) == 1
    assert len(entries_from(product)) == 1
    assert Dispatch.objects.filter(item_type="eoc.feedentry").count() == 1


# --- Activation ---------------------------------------------------------------------------------------------


def test_activation_proposes_recent_matching_products_and_tells_the_liaison_officer(
    analyst, liaison_officer, coordinator, county, other_county, county_eoc, flood, rule, publish, handle_events
):
    rule(mode=RoutingRule.Mode.AUTOMATIC, when=RoutingRule.When.ACTIVATED, match_incident_jurisdictions=True)
    recent = publish(analyst, title="Recent, about the county", tlp=TLP.GREEN, audience_jurisdictions=[county])
    elsewhere = publish(analyst, title="Recent, elsewhere", tlp=TLP.GREEN, audience_jurisdictions=[other_county])
    old = publish(analyst, title="Old, about the county", tlp=TLP.GREEN, audience_jurisdictions=[county])
    ThreatProduct.objects.filter(pk=old.pk).update(published_at=timezone.now() - timedelta(days=15))
    handle_events()
    assert not Relay.objects.exists()
    assign_liaison(by=liaison_officer, officer=liaison_officer, eoc=county_eoc, phone="919-555-0100")

    change_activation(eoc=county_eoc, by=coordinator, level=2, reason="River above flood stage", incident=flood)
    handle_events()
    (relay,) = Relay.objects.all()
    assert (relay.source_id, relay.state, relay.incident) == (recent.pk, Relay.State.PROPOSED, flood)
    assert "Proposed on activation" in relay.note
    assert relays_of(elsewhere) == relays_of(old) == []
    notice = LiaisonNotice.objects.get(kind=LiaisonNotice.Kind.ACTIVATION)
    assert list(notice.audience_people.all()) == [liaison_officer]
    assert "Level 2" in notice.title
    assert "1 recent product" in notice.text
    assert Dispatch.objects.filter(item_type="liaison.liaisonnotice", item_id=notice.pk).exists()


# --- Updates and retractions ---------------------------------------------------------------------------------


def _update(product, author, reviewer, **changes):
    draft = start_update(product=product, by=author)
    for name, value in changes.items():
        setattr(draft, name, value)
    draft.save()
    submit_for_review(product=draft, by=author)
    return approve_product(product=draft, reviewer=reviewer)


def test_an_update_of_a_relayed_product_corrects_its_entry(
    analyst, supervisor, county, automatic, activated, publish, handle_events
):
    first = publish(analyst, tlp=TLP.GREEN, audience_jurisdictions=[county])
    handle_events()
    (first_entry,) = entries_from(first)
    second = _update(first, analyst, supervisor, summary="Two more substations were hit overnight.")
    handle_events()
    (second_entry,) = entries_from(second)
    assert second_entry.corrects == first_entry
    assert second_entry.title.startswith("Update: ")
    assert "Two more substations" in second_entry.body
    assert [r.state for r in relays_of(second)] == [Relay.State.DELIVERED]


def test_an_update_of_a_proposed_product_replaces_the_proposal(
    analyst, supervisor, county, rule, publish, handle_events
):
    rule()
    first = publish(analyst, tlp=TLP.GREEN, audience_jurisdictions=[county])
    handle_events()
    second = _update(first, analyst, supervisor, summary="Revised.")
    handle_events()
    (old,) = relays_of(first)
    assert old.state == Relay.State.REJECTED
    assert "Superseded by version 2" in old.rejection_reason
    assert [r.state for r in relays_of(second)] == [Relay.State.PROPOSED]


def test_a_retraction_shows_on_the_relayed_entry(
    analyst, supervisor, county, automatic, activated, publish, handle_events
):
    product = publish(analyst, tlp=TLP.GREEN, audience_jurisdictions=[county])
    handle_events()
    (entry,) = entries_from(product)
    retract_product(product=product, by=supervisor, reason="The report was a hoax")
    handle_events()
    handle_events()
    correction = FeedEntry.objects.get(corrects=entry)
    assert correction.title.startswith("Retracted: ")
    assert "The report was a hoax" in correction.body
    # Handling the retraction again posts nothing more.
    event = DomainEvent.objects.get(kind="product_retracted")
    DomainEvent.objects.filter(pk=event.pk).update(handled_at=None)
    handle_event(event_id=event.pk)
    assert FeedEntry.objects.filter(corrects=entry).count() == 1


# --- EOC → fusion center ---------------------------------------------------------------------------------------


@pytest.fixture
def to_center(rule):
    return rule(
        name="County warnings", direction=RoutingRule.Direction.TO_FUSION_CENTER, mode=RoutingRule.Mode.AUTOMATIC
    )


def test_a_warning_entry_becomes_an_item_of_the_centers_awareness_queue(
    analyst, fusion_center, county_eoc, flood, post, to_center, handle_events
):
    entry = post(
        flood,
        kind=FeedEntry.Kind.WARNING,
        priority=FeedEntry.Priority.FLASH,
        title="Dam spillway failing",
        tlp=TLP.AMBER,
        caveats=[Caveat.LES],
        tearline="Evacuations below the dam.",
    )
    routine = post(flood, title="Shelter opened at the high school")
    handle_events()
    item = AwarenessItem.objects.get()
    assert item.relay.source_id == entry.pk
    assert (item.kind, item.priority, item.title) == ("warning", "flash", "Dam spillway failing")
    assert (item.tlp, item.caveats, item.tearline) == (TLP.AMBER, [Caveat.LES], "Evacuations below the dam.")
    assert (item.eoc, item.incident, item.fusion_center) == (county_eoc, flood, fusion_center)
    assert AwarenessItem.objects.visible_to(analyst).get().full_access is True
    assert not Relay.objects.filter(source_id=routine.pk).exists()
    assert Dispatch.objects.filter(item_type="liaison.awarenessitem", item_id=item.pk).exists()


def test_a_published_situation_report_reaches_the_center(coordinator, flood, to_center, handle_events):
    period = flood.operational_periods.get()
    report = write_situation_report(
        incident=flood, period=period, by=coordinator, sections={"situation_summary": "Levees holding."}
    )
    publish_situation_report(report=report, by=coordinator)
    handle_events()
    item = AwarenessItem.objects.get()
    assert item.kind == AwarenessItem.Kind.SITUATION_REPORT
    assert "Levees holding." in item.body


def test_exercise_entries_and_relayed_entries_are_not_sent_to_the_center(
    analyst, coordinator, county, county_eoc, flood, post, to_center, automatic, publish, handle_events
):
    flood.is_exercise = True
    flood.save()
    post(flood, kind=FeedEntry.Kind.WARNING, title="EXERCISE dam failure")
    publish(analyst, tlp=TLP.GREEN, audience_jurisdictions=[county])
    handle_events()
    assert not AwarenessItem.objects.exists()
    assert Relay.objects.filter(direction="to_fusion_center", state="delivered").count() == 0


def test_an_analyst_starts_a_product_from_an_awareness_item(analyst, flood, post, to_center, handle_events):
    from liaison.services import start_product_from

    post(flood, kind=FeedEntry.Kind.WARNING, title="Dam spillway failing", tlp=TLP.AMBER)
    handle_events()
    item = AwarenessItem.objects.get()
    product = start_product_from(item=item, by=analyst)
    assert product.state == ThreatProduct.State.DRAFT
    assert product.title == "Dam spillway failing"
    assert product.tlp == TLP.AMBER
    item.refresh_from_db()
    assert item.product == product
    assert item.state == AwarenessItem.State.PRODUCT_STARTED


# --- Requests for information from an incident ---------------------------------------------------------------


def test_a_request_raised_from_an_incident_reaches_the_queue_and_its_answer_the_feed(
    analyst, supervisor, coordinator, fusion_center, flood, handle_events
):
    rfi = raise_request(
        by=coordinator,
        incident=flood,
        question="Any threats against the shelters?",
        due_date=timezone.localdate() + timedelta(days=1),
    )
    handle_events()
    raised = Relay.objects.get(source_type="sharing.requestforinformation", direction="to_fusion_center")
    assert (raised.state, raised.incident, raised.fusion_center) == (Relay.State.DELIVERED, flood, fusion_center)
    assert AwarenessItem.objects.get().kind == AwarenessItem.Kind.REQUEST

    rfi = assign_request(rfi=rfi, by=supervisor, assignee=analyst)
    answer_request(rfi=rfi, by=analyst, answer="No specific threats; patrols increased.")
    handle_events()
    answer = FeedEntry.objects.get(source_type="sharing.requestforinformation", source_id=rfi.pk)
    assert answer.incident == flood
    assert "No specific threats" in answer.body
    assert rfi.number in answer.title


# --- Acknowledgement ---------------------------------------------------------------------------------------------


def test_a_coordinator_acknowledging_the_relayed_entry_tells_the_analyst(
    analyst, coordinator, county, automatic, activated, publish, handle_events
):
    product = publish(analyst, tlp=TLP.GREEN, audience_jurisdictions=[county])
    handle_events()
    (entry,) = entries_from(product)
    acknowledge_entry(entry=entry, by=coordinator)
    handle_events()
    (relay,) = relays_of(product)
    assert (relay.state, relay.acknowledged_by) == (Relay.State.ACKNOWLEDGED, coordinator)
    notice = LiaisonNotice.objects.get(kind=LiaisonNotice.Kind.ACKNOWLEDGED)
    assert analyst in notice.audience_people.all()
    assert "County EOC acknowledged" in notice.title
    # Through the relay itself, the second acknowledgement changes nothing.
    acknowledge_relay(relay=relay, by=coordinator)
    assert LiaisonNotice.objects.filter(kind=LiaisonNotice.Kind.ACKNOWLEDGED).count() == 1


def test_only_the_receiving_eoc_acknowledges(analyst, outsider, county, automatic, activated, publish, handle_events):
    product = publish(analyst, tlp=TLP.GREEN, audience_jurisdictions=[county])
    handle_events()
    (relay,) = relays_of(product)
    with pytest.raises(PermissionDenied):
        acknowledge_relay(relay=relay, by=outsider)


# --- The audit trail ---------------------------------------------------------------------------------------------


def test_every_relay_decision_is_in_the_audit_trail(
    analyst, supervisor, liaison_officer, county, county_eoc, rule, publish, handle_events
):
    from agencies.audit_models import AuditEntry

    rule()
    approved = publish(analyst, title="Approved one", tlp=TLP.GREEN, audience_jurisdictions=[county])
    rejected = publish(analyst, title="Rejected one", tlp=TLP.GREEN, audience_jurisdictions=[county])
    refused = publish(analyst, title="Red one", tlp=TLP.RED, audience_people=[supervisor])
    handle_events()
    approve_relay(relay=relays_of(approved)[0], by=liaison_officer)
    reject_relay(relay=relays_of(rejected)[0], by=liaison_officer, reason="Not about the flood")

    entries = {e.item_id: e for e in AuditEntry.objects.filter(action="relay", item_type="sharing.threatproduct")}
    assert (entries[approved.pk].person, entries[approved.pk].outcome) == (liaison_officer, "success")
    assert entries[approved.pk].detail["decision"] == "delivered"
    assert entries[approved.pk].detail["target"] == "County EOC — EOC-wide feed"
    assert entries[rejected.pk].detail["decision"] == "rejected"
    assert (entries[refused.pk].outcome, entries[refused.pk].person) == ("denied", None)
    assert "TLP:RED is never relayed" in entries[refused.pk].detail["check"][0]


# --- Purge under 28 CFR Part 23 --------------------------------------------------------------------------------


def test_a_purged_product_leaves_only_a_tombstone_in_the_feeds_it_was_relayed_to(
    analyst, supervisor, county, automatic, activated, publish, handle_events
):
    from sharing.models import RetentionReview
    from sharing.services.retention import open_due_reviews, purge_product

    product = publish(
        analyst,
        tlp=TLP.GREEN,
        audience_jurisdictions=[county],
        is_criminal_intelligence=True,
        criminal_predicate="Reasonable suspicion of organised copper theft.",
        body="Suspect vehicle: white van, plate ABC-1234.",
    )
    handle_events()
    (entry,) = entries_from(product)
    assert "ABC-1234" in entry.body
    ThreatProduct.objects.filter(pk=product.pk).update(review_by=timezone.localdate() + timedelta(days=10))
    open_due_reviews()
    review = RetentionReview.objects.get(number=product.number)
    purge_product(review=review, by=supervisor, justification="No longer relevant; the case closed.")
    handle_events()
    entry.refresh_from_db()
    assert entry.title == f"Purged under 28 CFR Part 23: {product.number}"
    assert entry.body == ""
    assert not FeedEntry.objects.filter(body__contains="ABC-1234").exists()
    (relay,) = relays_of(product)
    assert "ABC-1234" not in relay.source_label
