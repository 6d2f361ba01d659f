"""The dissemination API: /api/v1/inbox/, /api/v1/dispatches/{id}/ and its deliveries, /api/v1/webhooks/."""

from __future__ import annotations

import pytest
from django.utils import timezone
from knox.models import AuthToken

from agencies.markings import TLP, Caveat
from agencies.models import Role
from dissemination.fanout import fan_out
from dissemination.models import Delivery, Dispatch, WebhookEndpoint
from tests.factories import UserFactory
from tests.second_factor import VerifiedClient as Client


@pytest.fixture
def api(db):
    """A JSON client signed in as the person (a session, as the browser's scripts would have)."""

    class Api:
        def __init__(self, person):
            self.client = Client()
            self.client.force_login(person)

        def get(self, path, query=None):
            return self.client.get(path, query)

        def post(self, path, data=None):
            return self.client.post(path, data or {}, content_type="application/json")

        def patch(self, path, data):
            return self.client.patch(path, data, content_type="application/json")

        def put(self, path, data):
            return self.client.put(path, data, content_type="application/json")

        def delete(self, path):
            return self.client.delete(path)

    return Api


@pytest.fixture
def disseminate(publish):
    def _disseminate(author, **overrides):
        product = publish(author, **overrides)
        dispatch = Dispatch.objects.get(item_type="sharing.threatproduct", item_id=product.pk)
        assert fan_out(dispatch_id=dispatch.pk)
        return product, dispatch

    return _disseminate


@pytest.fixture
def center_admin(fusion_center):
    return UserFactory(username="center.admin", agency=fusion_center, roles=[Role.AGENCY_ADMIN])


def inbox_of(person, dispatch) -> Delivery:
    return Delivery.objects.get(dispatch=dispatch, recipient=person, channel=Delivery.Channel.INBOX)


# --- /api/v1/inbox/ --------------------------------------------------------------------------------


def test_inbox_lists_only_my_deliveries_with_their_items(
    analyst, coordinator, outsider, county_eoc, outside_agency, disseminate, api
):
    product, dispatch = disseminate(analyst, audience_agencies=[county_eoc], title="Copper theft")
    disseminate(analyst, audience_agencies=[outside_agency], title="Not for the county")

    response = api(coordinator).get("/api/v1/inbox/")

    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 1
    [row] = body["results"]
    assert row["id"] == inbox_of(coordinator, dispatch).pk
    assert row["state"] == "sent"
    assert row["action"] == "publish"
    assert row["is_full_text"] is True
    assert row["read_at"] is None
    assert row["item"] == {
        "type": "sharing.threatproduct",
        "id": product.pk,
        "number": product.display_number,
        "kind": "Intelligence bulletin",
        "title": "Copper theft",
        "url": f"http://127.0.0.1:8000/products/{product.pk}/",
        "text": product.summary,
        "tlp": "TLP:AMBER",
        "caveats": [],
        "is_retracted": False,
    }
    assert [r["item"]["title"] for r in api(outsider).get("/api/v1/inbox/").json()["results"]] == ["Not for the county"]


def test_inbox_gives_the_tearline_to_those_who_may_read_only_that(analyst, coordinator, county_eoc, disseminate, api):
    disseminate(analyst, audience_agencies=[county_eoc], caveats=[Caveat.LES], tearline="Police activity nearby.")
    [row] = api(coordinator).get("/api/v1/inbox/").json()["results"]
    assert row["is_full_text"] is False
    assert row["item"]["text"] == "Police activity nearby."
    assert row["item"]["caveats"] == ["LES"]


def test_read_and_acknowledge_through_the_api(analyst, coordinator, county_eoc, disseminate, api):
    _, dispatch = disseminate(analyst, audience_agencies=[county_eoc])
    delivery = inbox_of(coordinator, dispatch)
    client = api(coordinator)

    read = client.post(f"/api/v1/inbox/{delivery.pk}/read/")

    assert read.status_code == 200
    assert read.json()["state"] == "read"
    assert read.json()["read_at"]
    acknowledged = client.post(f"/api/v1/inbox/{delivery.pk}/acknowledge/")
    assert acknowledged.status_code == 200
    assert acknowledged.json()["state"] == "acknowledged"
    assert acknowledged.json()["acknowledged_at"]
    again = client.post(f"/api/v1/inbox/{delivery.pk}/acknowledge/")
    assert again.json()["acknowledged_at"] == acknowledged.json()["acknowledged_at"]
    assert client.get(f"/api/v1/inbox/{delivery.pk}/").json()["state"] == "acknowledged"
    assert client.get("/api/v1/inbox/", {"state": "acknowledged"}).json()["count"] == 1
    assert client.get("/api/v1/inbox/", {"state": "unread"}).json()["count"] == 0


def test_nobody_reads_or_acknowledges_anothers_delivery(
    analyst, coordinator, agency_admin, county_eoc, disseminate, api
):
    _, dispatch = disseminate(analyst, audience_agencies=[county_eoc])
    delivery = inbox_of(coordinator, dispatch)
    colleague = api(agency_admin)
    email = Delivery.objects.get(dispatch=dispatch, recipient=coordinator, channel="email")

    for path in (f"/api/v1/inbox/{delivery.pk}/read/", f"/api/v1/inbox/{delivery.pk}/acknowledge/"):
        response = colleague.post(path)
        assert response.status_code == 404
        assert response.json() == {"errors": {"non_field_errors": ["Not found."]}}
    assert colleague.get(f"/api/v1/inbox/{delivery.pk}/").status_code == 404
    assert api(coordinator).post(f"/api/v1/inbox/{email.pk}/read/").status_code == 404
    delivery.refresh_from_db()
    assert delivery.read_at is None


def test_inbox_filters_and_their_errors(analyst, coordinator, county_eoc, disseminate, api):
    disseminate(analyst, audience_agencies=[county_eoc], tlp=TLP.GREEN, title="Green")
    disseminate(analyst, audience_agencies=[county_eoc], kind="bolo", title="BOLO")
    client = api(coordinator)

    def titles(query):
        return {row["item"]["title"] for row in client.get("/api/v1/inbox/", query).json()["results"]}

    assert titles({"tlp": "green"}) == {"Green"}
    assert titles({"kind": "sharing.threatproduct:bolo"}) == {"BOLO"}
    assert titles({"received_from": timezone.localdate().isoformat()}) == {"Green", "BOLO"}
    bad = client.get("/api/v1/inbox/", {"kind": "nonsense", "received_from": "soon", "state": "lost"})
    assert bad.status_code == 400
    assert set(bad.json()["errors"]) == {"kind", "received_from", "state"}
    backwards = client.get("/api/v1/inbox/", {"received_from": "2026-02-02", "received_to": "2026-01-01"})
    assert backwards.json() == {
        "errors": {"received_to": ["The end of the date range must not come before its start."]}
    }


def test_the_inbox_answers_a_token_and_refuses_no_credentials(analyst, coordinator, county_eoc, disseminate, client):
    disseminate(analyst, audience_agencies=[county_eoc])
    _, key = AuthToken.objects.create(user=coordinator)

    assert client.get("/api/v1/inbox/").status_code == 401
    response = client.get("/api/v1/inbox/", headers={"Authorization": f"Token {key}"})
    assert response.status_code == 200
    assert response.json()["count"] == 1


@pytest.mark.parametrize("count", [3, 30])
def test_inbox_api_costs_a_fixed_number_of_queries(
    count, analyst, coordinator, county_eoc, disseminate, api, django_assert_max_num_queries
):
    for number in range(count):
        disseminate(analyst, audience_agencies=[county_eoc], title=f"Bulletin {number}")
    client = api(coordinator)
    client.get("/api/v1/inbox/")

    # Session, person, roles, count, page of deliveries with their dispatches, the page's products.
    with django_assert_max_num_queries(6):
        response = client.get("/api/v1/inbox/")
    assert len(response.json()["results"]) == count


# --- /api/v1/dispatches/ ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("persona", "status"),
    [
        ("analyst", 200),
        ("supervisor", 200),
        ("center_admin", 200),
        ("system_admin", 200),
        ("liaison_officer", 404),
        ("coordinator", 404),
        ("agency_admin", 404),
        ("outsider", 404),
    ],
)
def test_the_record_api_follows_the_pages_rule(request, persona, status, analyst, county_eoc, disseminate, api):
    _, dispatch = disseminate(analyst, audience_agencies=[county_eoc])
    client = api(request.getfixturevalue(persona))
    assert client.get(f"/api/v1/dispatches/{dispatch.pk}/").status_code == status
    assert client.get(f"/api/v1/dispatches/{dispatch.pk}/deliveries/").status_code == status


def test_the_record_api_shows_progress_totals_and_every_delivery(
    analyst, supervisor, coordinator, county_eoc, disseminate, api
):
    product, dispatch = disseminate(
        analyst, audience_agencies=[county_eoc], release_reason="The county must prepare its substations."
    )
    api(coordinator).post(f"/api/v1/inbox/{inbox_of(coordinator, dispatch).pk}/acknowledge/")
    client = api(supervisor)

    record = client.get(f"/api/v1/dispatches/{dispatch.pk}/").json()

    assert record["state"] == "fanned_out"
    assert record["reason"] == "The county must prepare its substations."
    assert record["recipients_total"] == record["recipients_done"] == 1
    assert record["item"]["number"] == product.display_number
    assert record["originating_agency"]["acronym"] == "SFC"
    totals = {row["channel"]: row for row in record["totals"]}
    assert totals["inbox"]["by_state"]["acknowledged"] == 1
    assert totals["email"]["by_state"]["pending"] == 1
    assert totals["webhook"]["total"] == 0

    deliveries = client.get(f"/api/v1/dispatches/{dispatch.pk}/deliveries/").json()
    assert deliveries["count"] == 2
    inbox = next(row for row in deliveries["results"] if row["channel"] == "inbox")
    assert inbox["recipient"] == {"id": coordinator.pk, "name": str(coordinator)}
    assert inbox["agency"]["name"] == county_eoc.name
    assert inbox["state"] == "acknowledged"
    assert inbox["acknowledged_at"]
    only_email = client.get(f"/api/v1/dispatches/{dispatch.pk}/deliveries/", {"channel": "email"}).json()
    assert [row["channel"] for row in only_email["results"]] == ["email"]
    assert client.get(f"/api/v1/dispatches/{dispatch.pk}/deliveries/", {"channel": "fax"}).status_code == 400


@pytest.mark.parametrize("count", [3, 30])
def test_record_api_costs_a_fixed_number_of_queries(
    count, analyst, county_eoc, disseminate, api, django_assert_max_num_queries
):
    for _ in range(count):
        UserFactory(agency=county_eoc, roles=[Role.PARTNER])
    _, dispatch = disseminate(analyst, audience_agencies=[county_eoc])
    client = api(analyst)
    client.get(f"/api/v1/dispatches/{dispatch.pk}/deliveries/")

    # Session, person, roles, dispatch, count, page of deliveries with people and agencies.
    with django_assert_max_num_queries(6):
        response = client.get(f"/api/v1/dispatches/{dispatch.pk}/deliveries/")
    assert len(response.json()["results"]) == min(2 * count, 50)


# --- /api/v1/webhooks/ -----------------------------------------------------------------------------


def test_an_agency_admin_creates_an_endpoint_and_gets_the_secret_once(agency_admin, county_eoc, webhook_receiver, api):
    client = api(agency_admin)

    created = client.post("/api/v1/webhooks/", {"url": webhook_receiver.url(), "payload_format": "stix"})

    assert created.status_code == 201
    body = created.json()
    endpoint = WebhookEndpoint.objects.get()
    assert body["secret"] == endpoint.secret
    assert body["secret"].startswith("whsec_")
    assert body["agency"]["id"] == county_eoc.pk
    assert body["payload_format"] == "stix"
    assert body["is_active"] is True
    listed = client.get("/api/v1/webhooks/").json()
    assert [row["id"] for row in listed["results"]] == [endpoint.pk]
    assert "secret" not in listed["results"][0]
    assert "secret" not in client.get(f"/api/v1/webhooks/{endpoint.pk}/").json()


def test_bad_endpoints_are_refused_with_field_messages(agency_admin, api, settings):
    settings.DEBUG = False
    settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES = False
    client = api(agency_admin)

    plain = client.post("/api/v1/webhooks/", {"url": "http://hooks.example.gov/in"})
    internal = client.post("/api/v1/webhooks/", {"url": "https://127.0.0.1/in"})
    garbage = client.post("/api/v1/webhooks/", {"url": "nope", "payload_format": "xml"})

    assert plain.status_code == internal.status_code == garbage.status_code == 400
    assert plain.json() == {"errors": {"url": ["Webhook URLs must use https."]}}
    assert "internal address" in internal.json()["errors"]["url"][0]
    assert set(garbage.json()["errors"]) == {"url", "payload_format"}
    assert not WebhookEndpoint.objects.exists()


def test_update_switches_and_changes_format_and_delete_switches_off(agency_admin, county_eoc, webhook_receiver, api):
    client = api(agency_admin)
    endpoint_id = client.post("/api/v1/webhooks/", {"url": webhook_receiver.url()}).json()["id"]

    changed = client.patch(f"/api/v1/webhooks/{endpoint_id}/", {"payload_format": "cap", "is_active": False})

    assert changed.status_code == 200
    assert changed.json()["payload_format"] == "cap"
    assert changed.json()["is_active"] is False
    assert client.patch(f"/api/v1/webhooks/{endpoint_id}/", {"is_active": True}).json()["is_active"] is True
    assert client.patch(f"/api/v1/webhooks/{endpoint_id}/", {"payload_format": "xml"}).status_code == 400
    assert client.put(f"/api/v1/webhooks/{endpoint_id}/", {"url": "https://elsewhere.example.gov/"}).status_code == 405
    assert client.delete(f"/api/v1/webhooks/{endpoint_id}/").status_code == 204
    endpoint = WebhookEndpoint.objects.get(pk=endpoint_id)
    assert endpoint.is_active is False
    assert endpoint.url == webhook_receiver.url()


def test_a_system_admin_names_the_agency(system_admin, county_eoc, webhook_receiver, api):
    client = api(system_admin)
    created = client.post("/api/v1/webhooks/", {"url": webhook_receiver.url(), "agency": county_eoc.pk})
    assert created.status_code == 201
    assert created.json()["agency"]["id"] == county_eoc.pk


def test_an_agency_admin_cannot_create_for_another_agency(agency_admin, fusion_center, webhook_receiver, api):
    response = api(agency_admin).post("/api/v1/webhooks/", {"url": webhook_receiver.url(), "agency": fusion_center.pk})
    assert response.status_code == 403
    assert not WebhookEndpoint.objects.exists()


@pytest.mark.parametrize(
    ("persona", "list_status", "detail_status"),
    [
        ("agency_admin", 200, 200),
        ("system_admin", 200, 200),
        ("center_admin", 200, 404),
        ("coordinator", 403, 404),
        ("outsider", 403, 404),
    ],
)
def test_webhook_api_is_for_the_agencys_admins(
    request, persona, list_status, detail_status, agency_admin, county_eoc, webhook_receiver, api
):
    endpoint_id = api(agency_admin).post("/api/v1/webhooks/", {"url": webhook_receiver.url()}).json()["id"]
    client = api(request.getfixturevalue(persona))

    assert client.get("/api/v1/webhooks/").status_code == list_status
    assert client.get(f"/api/v1/webhooks/{endpoint_id}/").status_code == detail_status
    assert client.patch(f"/api/v1/webhooks/{endpoint_id}/", {"is_active": False}).status_code == detail_status
    assert client.delete(f"/api/v1/webhooks/{endpoint_id}/").status_code == (204 if detail_status == 200 else 404)
    if detail_status == 404:
        assert WebhookEndpoint.objects.get(pk=endpoint_id).is_active
    if list_status == 200:
        assert len(client.get("/api/v1/webhooks/").json()["results"]) == (1 if detail_status == 200 else 0)
