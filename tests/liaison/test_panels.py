"""The liaison panels on other apps' pages (agencies/panels.py): the EOC dashboard's liaison and contact
of the day, the incident's liaison and request link, and the product's "Relayed to" with who acknowledged."""

import pytest
from django.template import Context, Template
from django.test import RequestFactory
from django.utils import timezone

from agencies.markings import TLP
from agencies.panels import panels_for, register_panel
from eoc.models import FeedEntry
from eoc.services.incidents import change_activation
from liaison.models import Relay
from liaison.services import PRODUCT, approve_relay, assign_liaison, set_duty_contact
from tests.factories import AgencyFactory

pytestmark = pytest.mark.django_db


def text_of(response) -> str:
    return response.content.decode()


@pytest.fixture
def as_person(client):
    def _as(person):
        client.force_login(person)
        return client

    return _as


def test_the_panels_tag_renders_each_registered_panel(coordinator):
    def render(request, obj):
        return f"<p>panel for {obj}</p>"

    register_panel("test-slot", render)
    register_panel("test-slot", render)  # once is enough
    assert panels_for("test-slot") == [render]
    request = RequestFactory().get("/")
    request.user = coordinator
    html = Template('{% load panel_tags %}{% panels "test-slot" thing %}').render(
        Context({"request": request, "thing": "the flood"})
    )
    assert html == "<p>panel for the flood</p>"


def test_eoc_dashboard_shows_the_liaison_and_the_contact_of_the_day(
    as_person, liaison_officer, analyst, coordinator, county_eoc
):
    assign_liaison(by=liaison_officer, officer=liaison_officer, eoc=county_eoc, phone="919-555-0142")
    set_duty_contact(by=liaison_officer, person=analyst, on_date=timezone.localdate(), phone="919-555-0199")
    page = text_of(as_person(coordinator).get(f"/eocs/{county_eoc.pk}/"))
    assert "Your liaison" in page
    assert str(liaison_officer) in page
    assert liaison_officer.email in page
    assert "919-555-0142" in page
    assert "Fusion center contact of the day" in page
    assert str(analyst) in page
    assert "919-555-0199" in page


def test_incident_page_shows_the_liaison_the_request_link_and_relays_to_acknowledge(
    as_person, liaison_officer, coordinator, analyst, county, county_eoc, flood, publish, rule, handle_events
):
    assign_liaison(by=liaison_officer, officer=liaison_officer, eoc=county_eoc, incident=flood)
    rule()
    change_activation(eoc=county_eoc, by=coordinator, level=2, reason="Flood", incident=flood)
    product = publish(analyst, tlp=TLP.GREEN, audience_jurisdictions=[county])
    handle_events()
    approve_relay(relay=Relay.objects.get(source_type=PRODUCT, source_id=product.pk), by=liaison_officer)
    page = text_of(as_person(coordinator).get(f"/incidents/{flood.pk}/"))
    assert 'data-testid="liaison-panel"' in page
    assert str(liaison_officer) in page
    assert f'href="/liaison/incidents/{flood.pk}/request/"' in page
    assert "1</span> relayed entry from the fusion center waits for acknowledgement" in page
    # The relayed entry stands out in the feed and can be acknowledged there.
    entry = FeedEntry.objects.get(kind=FeedEntry.Kind.RELAYED_ITEM)
    assert "fh-entry--relayed" in page
    assert f'action="/entries/{entry.pk}/acknowledge/"' in page


def test_only_participants_get_the_request_link(as_person, analyst, flood):
    page = text_of(as_person(analyst).get(f"/incidents/{flood.pk}/"))
    assert 'data-testid="liaison-panel"' in page
    assert "/request/" not in page


def test_analyst_sees_who_acknowledged_the_relayed_product(
    as_person, liaison_officer, analyst, coordinator, county, county_eoc, flood, publish, rule, handle_events
):
    rule()
    change_activation(eoc=county_eoc, by=coordinator, level=2, reason="Flood", incident=flood)
    product = publish(analyst, tlp=TLP.GREEN, audience_jurisdictions=[county])
    handle_events()
    relay = Relay.objects.get(source_type=PRODUCT, source_id=product.pk)
    before = text_of(as_person(analyst).get(f"/products/{product.pk}/"))
    assert "Relayed to" in before
    assert "County EOC — " in before
    assert "Proposed" in before
    approve_relay(relay=relay, by=liaison_officer)
    relay.refresh_from_db()
    # The coordinator acknowledges the relayed entry in the incident feed; a worker records it on the relay.
    as_person(coordinator).post(f"/entries/{relay.delivered_id}/acknowledge/")
    handle_events()
    page = text_of(as_person(analyst).get(f"/products/{product.pk}/"))
    assert f"Acknowledged by {coordinator}" in page


def test_people_outside_the_originating_center_do_not_see_where_a_product_went(
    as_person, analyst, coordinator, county, publish
):
    product = publish(analyst, tlp=TLP.GREEN, audience_jurisdictions=[county])
    assert 'data-testid="relayed-to"' not in text_of(as_person(coordinator).get(f"/products/{product.pk}/"))
    assert 'data-testid="relayed-to"' in text_of(as_person(analyst).get(f"/products/{product.pk}/"))


@pytest.fixture
def count_queries(as_person, settings, django_assert_max_num_queries):
    settings.SESSION_ENGINE = "django.contrib.sessions.backends.signed_cookies"
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

    def _count(person, path: str, at_most: int = 60) -> int:
        client = as_person(person)
        client.get(path)
        with django_assert_max_num_queries(at_most) as queries:
            assert client.get(path).status_code == 200
        return len(queries.captured_queries)

    return _count


def test_panels_cost_a_fixed_number_of_queries(
    count_queries, liaison_officer, analyst, coordinator, county_eoc, flood, publish, county
):
    product = publish(analyst, tlp=TLP.GREEN, audience_jurisdictions=[county])
    few_product = count_queries(analyst, f"/products/{product.pk}/")
    few_dashboard = count_queries(coordinator, f"/eocs/{county_eoc.pk}/")
    few_incident = count_queries(coordinator, f"/incidents/{flood.pk}/")
    for number in range(5):
        assign_liaison(by=liaison_officer, officer=liaison_officer, eoc=county_eoc, note=f"shift {number}")
    for number in range(12):
        eoc = AgencyFactory(name=f"EOC {number}", acronym=f"E{number}", kind="eoc", jurisdiction=county)
        Relay.objects.create(
            direction="to_eoc",
            source_type=PRODUCT,
            source_id=product.pk,
            source_label=product.title,
            fusion_center=analyst.agency,
            eoc=eoc,
            tlp=TLP.GREEN,
            check_allowed=True,
            check_access="full",
            state=Relay.State.ACKNOWLEDGED,
            acknowledged_by=coordinator,
            acknowledged_at=timezone.now(),
        )
    count_queries(analyst, f"/products/{product.pk}/", at_most=few_product)
    count_queries(coordinator, f"/eocs/{county_eoc.pk}/", at_most=few_dashboard)
    count_queries(coordinator, f"/incidents/{flood.pk}/", at_most=few_incident)
