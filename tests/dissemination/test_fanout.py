"""Fan-out: one delivery per recipient and channel, through the visibility policy, never twice."""

import threading

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from agencies.markings import TLP
from agencies.models import Role
from dissemination.fanout import fan_out
from dissemination.models import Delivery, Dispatch, NotificationPreference, WebhookEndpoint
from sharing.services import products as product_services
from tests.factories import AgencyFactory, UserFactory
from tests.sharing.conftest import content


def dispatch_of(product):
    return Dispatch.objects.get(item_type="sharing.threatproduct", item_id=product.pk)


def inbox(dispatch):
    return {d.recipient_id: d.is_full_text for d in dispatch.deliveries.filter(channel="inbox")}


@pytest.fixture
def audience(county_eoc):
    """People of the county EOC: one with law-enforcement status, one without, one who wants no email."""
    return {
        "le": UserFactory(agency=county_eoc, roles=[Role.EOC_COORDINATOR], is_law_enforcement=True),
        "plain": UserFactory(agency=county_eoc, roles=[Role.EOC_COORDINATOR]),
        "quiet": UserFactory(agency=county_eoc, roles=[Role.EOC_COORDINATOR]),
    }


def test_publish_delivers_once_to_each_person_of_the_audience(analyst, county_eoc, outsider, audience, publish):
    NotificationPreference.objects.create(person=audience["quiet"], email_mode="off")
    product = publish(analyst, audience_agencies=[county_eoc])
    dispatch = dispatch_of(product)
    assert fan_out(dispatch_id=dispatch.pk)
    assert inbox(dispatch) == {p.pk: True for p in audience.values()}
    assert outsider.pk not in inbox(dispatch)
    emails = set(dispatch.deliveries.filter(channel="email").values_list("recipient_id", flat=True))
    assert emails == {audience["le"].pk, audience["plain"].pk}
    dispatch.refresh_from_db()
    assert dispatch.state == Dispatch.State.FANNED_OUT
    assert dispatch.recipients_total == dispatch.recipients_done == 3


def test_les_reaches_others_as_tearline_only(analyst, county_eoc, audience, publish):
    product = publish(analyst, audience_agencies=[county_eoc], caveats=["LES"], tearline="Police activity")
    dispatch = dispatch_of(product)
    fan_out(dispatch_id=dispatch.pk)
    assert inbox(dispatch) == {audience["le"].pk: True, audience["plain"].pk: False, audience["quiet"].pk: False}


def test_red_reaches_the_named_people_only(analyst, county_eoc, audience, publish):
    product = publish(analyst, tlp=TLP.RED, audience_people=[audience["plain"]])
    dispatch = dispatch_of(product)
    WebhookEndpoint.objects.create(agency=county_eoc, url="https://eoc.example.gov/hook", secret="whsec_x")
    fan_out(dispatch_id=dispatch.pk)
    assert inbox(dispatch) == {audience["plain"].pk: True}
    assert not dispatch.deliveries.filter(channel="webhook").exists()


def test_a_second_fan_out_delivers_nothing_more(analyst, county_eoc, audience, publish):
    product = publish(analyst, audience_agencies=[county_eoc])
    dispatch = dispatch_of(product)
    fan_out(dispatch_id=dispatch.pk)
    before = dispatch.deliveries.count()
    Dispatch.objects.filter(pk=dispatch.pk).update(state=Dispatch.State.PENDING)
    fan_out(dispatch_id=dispatch.pk)
    assert dispatch.deliveries.count() == before


def test_webhook_endpoints_of_agencies_with_recipients_get_one_delivery(
    analyst, county_eoc, outside_agency, audience, publish
):
    ours = WebhookEndpoint.objects.create(agency=county_eoc, url="https://eoc.example.gov/hook", secret="whsec_x")
    WebhookEndpoint.objects.create(agency=outside_agency, url="https://other.example.gov/hook", secret="whsec_y")
    product = publish(analyst, audience_agencies=[county_eoc])
    dispatch = dispatch_of(product)
    fan_out(dispatch_id=dispatch.pk)
    assert list(dispatch.deliveries.filter(channel="webhook").values_list("endpoint", flat=True)) == [ours.pk]


def test_update_reaches_earlier_recipients_and_the_new_audience(analyst, supervisor, county_eoc, audience, publish):
    first = publish(analyst, tlp=TLP.GREEN, audience_agencies=[county_eoc])
    fan_out(dispatch_id=dispatch_of(first).pk)
    police = AgencyFactory(name="New Police", acronym="NPD", jurisdiction=county_eoc.jurisdiction)
    newcomer = UserFactory(agency=police, roles=[Role.PARTNER])
    draft = product_services.start_update(product=first, by=analyst)
    product_services.edit_product(product=draft, by=analyst, content=content(tlp=TLP.GREEN, audience_agencies=[police]))
    product_services.submit_for_review(product=draft, by=analyst)
    second = product_services.approve_product(product=draft, reviewer=supervisor)
    dispatch = dispatch_of(second)
    fan_out(dispatch_id=dispatch.pk)
    assert set(inbox(dispatch)) == {newcomer.pk, *(p.pk for p in audience.values())}


def test_retraction_reaches_everyone_who_received_any_version(analyst, supervisor, county_eoc, audience, publish):
    product = publish(analyst, audience_agencies=[county_eoc])
    fan_out(dispatch_id=dispatch_of(product).pk)
    retracted = product_services.retract_product(product=product, by=supervisor, reason="Source withdrew it")
    dispatch = Dispatch.objects.get(item_id=retracted.pk, action=Dispatch.Action.RETRACT)
    fan_out(dispatch_id=dispatch.pk)
    assert set(inbox(dispatch)) == {p.pk for p in audience.values()}


def test_fan_out_is_queued_only_after_commit(analyst, supervisor, county_eoc, django_capture_on_commit_callbacks):
    product = product_services.create_product(author=analyst, content=content(audience_agencies=[county_eoc]))
    product_services.submit_for_review(product=product, by=analyst)
    with django_capture_on_commit_callbacks() as callbacks:
        product_services.approve_product(product=product, reviewer=supervisor)
        assert not Delivery.objects.exists()
    assert len(callbacks) == 2  # the fan-out and the domain event


@pytest.mark.django_db(transaction=True)
def test_two_workers_at_once_create_no_duplicate(analyst, supervisor, county_eoc):
    people = [UserFactory(agency=county_eoc, roles=[Role.PARTNER]) for _ in range(40)]
    product = product_services.create_product(author=analyst, content=content(audience_agencies=[county_eoc]))
    product_services.submit_for_review(product=product, by=analyst)
    product = product_services.approve_product(product=product, reviewer=supervisor)
    dispatch = dispatch_of(product)
    barrier = threading.Barrier(2)

    def worker():
        try:
            barrier.wait()
            fan_out(dispatch_id=dispatch.pk)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert Delivery.objects.filter(dispatch=dispatch, channel="inbox").count() == len(people)


def test_a_fan_out_takes_the_same_statements_for_three_people_or_sixty(analyst, county_eoc, audience, publish):
    """One INSERT … SELECT writes every delivery, however many people: no batch, no row goes through Python."""
    first = dispatch_of(publish(analyst, audience_agencies=[county_eoc]))
    with CaptureQueriesContext(connection) as few:
        fan_out(dispatch_id=first.pk)
    for _ in range(57):
        UserFactory(agency=county_eoc, roles=[Role.PARTNER])
    second = dispatch_of(publish(analyst, audience_agencies=[county_eoc], title="A second product"))
    with CaptureQueriesContext(connection) as many:
        fan_out(dispatch_id=second.pk)

    assert Delivery.objects.filter(dispatch=second, channel="inbox").count() == 60
    assert len(many) == len(few)
    inserts = [q["sql"] for q in many if "INSERT INTO dissemination_delivery" in q["sql"]]
    assert len(inserts) == 1
