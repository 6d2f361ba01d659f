"""Webhooks: signed as Standard Webhooks has it and verified by its published library, at a real
receiver on loopback; retries, 410, redirects, timeouts; internal addresses refused."""

import base64
import itertools
import socket

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone
from standardwebhooks import Webhook
from stix2validator import ValidationOptions, validate_string

from agencies.markings import TLP
from agencies.models import Role
from dissemination import sending, services, webhooks
from dissemination.fanout import fan_out
from dissemination.models import Delivery, Dispatch, WebhookEndpoint
from tests.dissemination.peers import Answer
from tests.factories import AgencyFactory, UserFactory

SUMMARY = "Copper thieves cut ground wires at three substations in the county."
BODY = "The suspects drive a white Ford F-150."
TEARLINE = "Report suspicious activity at electrical substations."


@pytest.fixture
def reader(county_eoc):
    return UserFactory(agency=county_eoc, roles=[Role.PARTNER])


@pytest.fixture
def hook(agency_admin, county_eoc, webhook_receiver):
    """The county EOC's endpoint at the receiver, registered through the service; (endpoint, secret)."""
    return services.create_webhook_endpoint(agency=county_eoc, url=webhook_receiver.url(), by=agency_admin)


def webhook_delivery(product) -> Delivery:
    dispatch = Dispatch.objects.get(item_type="sharing.threatproduct", item_id=product.pk)
    fan_out(dispatch_id=dispatch.pk)
    return Delivery.objects.get(dispatch=dispatch, channel="webhook")


def verified(request, secret):
    """The payload as a receiver accepts it after checking the signature with the standard's library."""
    return Webhook(secret).verify(request.body, request.headers)


def test_receiver_verifies_the_signature_with_the_standard_library(
    analyst, county_eoc, reader, publish, hook, webhook_receiver
):
    _, secret = hook
    product = publish(analyst, audience_agencies=[county_eoc], summary=SUMMARY)
    delivery = webhook_delivery(product)

    assert sending.send_webhook(delivery_id=delivery.pk)

    (request,) = webhook_receiver.received()
    payload = verified(request, secret)
    assert payload["number"] == product.number
    assert payload["summary"] == SUMMARY
    assert payload["tlp"] == "TLP:AMBER"
    assert request.headers["content-type"] == "application/json"
    assert request.webhook_id == f"msg_{delivery.message_id.hex}"
    delivery.refresh_from_db()
    assert (delivery.state, delivery.attempts, delivery.last_error) == (Delivery.State.SENT, 1, "")


def test_a_wrong_secret_does_not_verify(analyst, county_eoc, reader, publish, hook, webhook_receiver):
    product = publish(analyst, audience_agencies=[county_eoc])
    sending.send_webhook(delivery_id=webhook_delivery(product).pk)
    (request,) = webhook_receiver.received()
    with pytest.raises(Exception, match="No matching signature"):
        verified(request, webhooks.generate_secret())


def test_500_then_200_delivers_once_more_with_the_same_id(analyst, county_eoc, reader, publish, hook, webhook_receiver):
    _, secret = hook
    webhook_receiver.answer("/hook", 500)
    delivery = webhook_delivery(publish(analyst, audience_agencies=[county_eoc]))

    before = timezone.now()
    assert not sending.send_webhook(delivery_id=delivery.pk)
    delivery.refresh_from_db()
    assert delivery.state == Delivery.State.PENDING
    assert delivery.attempts == 1
    assert delivery.last_error.startswith("HTTP 500")
    wait = sending.WEBHOOK_RETRY_DELAYS[0]
    assert before + wait * 0.8 <= delivery.next_attempt_at <= timezone.now() + wait * 1.2

    assert sending.send_webhook(delivery_id=delivery.pk)
    assert not sending.send_webhook(delivery_id=delivery.pk)

    first, second = webhook_receiver.received()
    assert (first.answered, second.answered) == (500, 200)
    assert first.webhook_id == second.webhook_id
    assert verified(first, secret) == verified(second, secret)


def test_the_back_off_spreads_at_least_eight_attempts_over_about_a_day():
    delays = sending.WEBHOOK_RETRY_DELAYS
    assert len(delays) + 1 >= 8
    assert all(later >= earlier for earlier, later in itertools.pairwise(delays))
    assert 20 * 3600 <= sum(d.total_seconds() for d in delays) <= 30 * 3600


def test_after_the_last_attempt_the_delivery_fails_with_the_last_error(
    analyst, county_eoc, reader, publish, hook, webhook_receiver
):
    webhook_receiver.answer("/hook", 503)
    delivery = webhook_delivery(publish(analyst, audience_agencies=[county_eoc]))
    Delivery.objects.filter(pk=delivery.pk).update(attempts=len(sending.WEBHOOK_RETRY_DELAYS))

    assert not sending.send_webhook(delivery_id=delivery.pk)
    delivery.refresh_from_db()
    assert delivery.state == Delivery.State.FAILED
    assert delivery.last_error.startswith("HTTP 503")
    assert delivery.next_attempt_at is None


def test_410_disables_the_endpoint_and_fails_what_waits_for_it(
    analyst, county_eoc, reader, publish, hook, webhook_receiver
):
    endpoint, _ = hook
    webhook_receiver.answer("/hook", 410)
    first = webhook_delivery(publish(analyst, audience_agencies=[county_eoc]))
    second = webhook_delivery(publish(analyst, audience_agencies=[county_eoc], title="Another"))

    assert not sending.send_webhook(delivery_id=first.pk)
    assert not sending.send_webhook(delivery_id=second.pk)

    assert len(webhook_receiver.received()) == 1
    endpoint.refresh_from_db()
    assert not endpoint.is_active
    assert "410" in endpoint.disabled_reason
    assert set(Delivery.objects.filter(pk__in=[first.pk, second.pk]).values_list("state", flat=True)) == {"failed"}
    # A disabled endpoint gets nothing new.
    product = publish(analyst, audience_agencies=[county_eoc], title="A third")
    fan_out(dispatch_id=Dispatch.objects.get(item_id=product.pk).pk)
    assert not Delivery.objects.filter(dispatch__item_id=product.pk, channel="webhook").exists()


def test_a_redirect_is_a_failed_attempt_and_is_not_followed(
    analyst, county_eoc, reader, publish, hook, webhook_receiver
):
    webhook_receiver.answer("/hook", Answer(status=302, headers={"Location": webhook_receiver.url("/elsewhere")}))
    delivery = webhook_delivery(publish(analyst, audience_agencies=[county_eoc]))

    assert not sending.send_webhook(delivery_id=delivery.pk)

    assert [r.path for r in webhook_receiver.received()] == ["/hook"]
    delivery.refresh_from_db()
    assert delivery.state == Delivery.State.PENDING
    assert delivery.last_error.startswith("HTTP 302: redirects are not followed.")
    assert "/elsewhere" in delivery.last_error


def test_a_payload_too_large_is_recorded_with_its_status(analyst, county_eoc, reader, publish, hook, webhook_receiver):
    webhook_receiver.answer("/hook", 413)
    delivery = webhook_delivery(publish(analyst, audience_agencies=[county_eoc]))

    assert not sending.send_webhook(delivery_id=delivery.pk)
    delivery.refresh_from_db()
    assert delivery.last_error.startswith("HTTP 413")
    assert delivery.attempts == 1


def test_a_receiver_that_never_answers_is_a_failed_attempt(analyst, county_eoc, reader, publish, monkeypatch):
    monkeypatch.setattr(webhooks, "TIMEOUT_SECONDS", 0.5)
    with socket.socket() as silent:  # accepts connections (the kernel's backlog) and never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        endpoint = WebhookEndpoint.objects.create(
            agency=county_eoc, url=f"http://127.0.0.1:{silent.getsockname()[1]}/hook", secret=webhooks.generate_secret()
        )
        delivery = webhook_delivery(publish(analyst, audience_agencies=[county_eoc]))
        assert not sending.send_webhook(delivery_id=delivery.pk)
    delivery.refresh_from_db()
    assert delivery.endpoint == endpoint
    assert delivery.last_error.startswith("No answer within")
    assert delivery.state == Delivery.State.PENDING


def test_a_refused_connection_is_a_failed_attempt(analyst, county_eoc, reader, publish):
    WebhookEndpoint.objects.create(agency=county_eoc, url="http://127.0.0.1:9/hook", secret=webhooks.generate_secret())
    delivery = webhook_delivery(publish(analyst, audience_agencies=[county_eoc]))

    assert not sending.send_webhook(delivery_id=delivery.pk)
    delivery.refresh_from_db()
    assert delivery.last_error.startswith("Could not connect")
    assert delivery.attempts == 1


def test_stix_endpoints_get_a_valid_stix_bundle(analyst, agency_admin, county_eoc, reader, publish, webhook_receiver):
    _, secret = services.create_webhook_endpoint(
        agency=county_eoc, url=webhook_receiver.url("/stix"), payload_format="stix", by=agency_admin
    )
    product = publish(analyst, audience_agencies=[county_eoc], summary=SUMMARY)
    sending.send_webhook(delivery_id=webhook_delivery(product).pk)

    (request,) = webhook_receiver.received("/stix")
    bundle = verified(request, secret)
    assert request.headers["content-type"] == "application/stix+json;version=2.1"
    assert bundle["type"] == "bundle"
    (report,) = [o for o in bundle["objects"] if o["type"] == "report"]
    assert report["name"] == product.title
    result = validate_string(request.body.decode(), ValidationOptions(version="2.1", strict=True))
    assert result.is_valid, result.as_dict()


def test_cap_endpoints_get_json_for_threat_products(
    analyst, agency_admin, county_eoc, reader, publish, webhook_receiver
):
    _, secret = services.create_webhook_endpoint(
        agency=county_eoc, url=webhook_receiver.url("/cap"), payload_format="cap", by=agency_admin
    )
    product = publish(analyst, audience_agencies=[county_eoc])
    sending.send_webhook(delivery_id=webhook_delivery(product).pk)

    (request,) = webhook_receiver.received("/cap")
    assert request.headers["content-type"] == "application/json"
    assert verified(request, secret)["number"] == product.number


def test_les_reaches_a_non_law_enforcement_system_as_tearline_only(
    analyst, county_eoc, reader, publish, hook, webhook_receiver
):
    _, secret = hook
    product = publish(
        analyst, audience_agencies=[county_eoc], tlp=TLP.GREEN, caveats=["LES"], summary=SUMMARY, body=BODY,
        tearline=TEARLINE,
    )  # fmt: skip
    sending.send_webhook(delivery_id=webhook_delivery(product).pk)

    (request,) = webhook_receiver.received()
    payload = verified(request, secret)
    assert payload["tearline"] == TEARLINE
    assert "summary" not in payload
    assert "Ford F-150" not in request.body.decode()


# --- Addresses ------------------------------------------------------------------------------------

PRODUCTION = {"DEBUG": False, "WEBHOOK_ALLOW_PRIVATE_ADDRESSES": False}


@pytest.mark.parametrize(
    "url",
    [
        "http://93.184.215.14/hook",  # not https
        "https://localhost/hook",
        "https://127.0.0.1/hook",
        "https://10.1.2.3/hook",
        "https://172.16.0.5/hook",
        "https://192.168.0.10/hook",
        "https://169.254.169.254/latest/meta-data",
        "https://100.64.0.1/hook",
        "https://0.0.0.0/hook",
        "https://224.0.0.251/hook",
        "https://[::1]/hook",
        "https://[fd00::1]/hook",
        "https://[fe80::1]/hook",
        "https://[::ffff:127.0.0.1]/hook",
        "https://user:password@93.184.215.14/hook",
        "ftp://93.184.215.14/hook",
        "https://no-such-host.invalid/hook",
    ],
)
def test_production_refuses_internal_or_plain_addresses_when_saved(agency_admin, county_eoc, settings, url):
    for name, value in PRODUCTION.items():
        setattr(settings, name, value)
    with pytest.raises(ValidationError) as refused:
        services.create_webhook_endpoint(agency=county_eoc, url=url, by=agency_admin)
    assert "url" in refused.value.message_dict
    assert not WebhookEndpoint.objects.exists()


def test_production_accepts_a_public_https_address(agency_admin, county_eoc, settings):
    for name, value in PRODUCTION.items():
        setattr(settings, name, value)
    endpoint, secret = services.create_webhook_endpoint(
        agency=county_eoc, url="https://93.184.215.14/hook", payload_format="stix", by=agency_admin
    )
    assert endpoint.secret == secret
    assert secret.startswith("whsec_")
    assert len(base64.b64decode(secret.removeprefix("whsec_"))) == 32
    assert (endpoint.payload_format, endpoint.is_active) == ("stix", True)


def test_an_address_that_turned_internal_is_refused_at_send(analyst, county_eoc, reader, publish, settings):
    """Saved when its name pointed outward; by the time of sending, it resolves to 127.0.0.1."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        WebhookEndpoint.objects.create(
            agency=county_eoc, url=f"https://localhost:{port}/hook", secret=webhooks.generate_secret()
        )
        delivery = webhook_delivery(publish(analyst, audience_agencies=[county_eoc]))
        settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES = False

        assert not sending.send_webhook(delivery_id=delivery.pk)
        listener.settimeout(0.2)
        with pytest.raises(TimeoutError):
            listener.accept()  # nobody came

    delivery.refresh_from_db()
    assert delivery.last_error.startswith("Refused: The host localhost resolves to an internal address")
    assert delivery.state == Delivery.State.PENDING


# --- Managing endpoints and retries -------------------------------------------------------------


def test_only_an_admin_of_the_agency_registers_its_endpoints(county_eoc, coordinator, outside_agency, webhook_receiver):
    other_admin = UserFactory(agency=outside_agency, roles=[Role.AGENCY_ADMIN])
    for person in (coordinator, other_admin):
        with pytest.raises(PermissionDenied):
            services.create_webhook_endpoint(agency=county_eoc, url=webhook_receiver.url(), by=person)
    assert not WebhookEndpoint.objects.exists()


def test_an_unknown_format_is_refused(agency_admin, county_eoc, webhook_receiver):
    with pytest.raises(ValidationError, match="Choose JSON"):
        services.create_webhook_endpoint(
            agency=county_eoc, url=webhook_receiver.url(), payload_format="xml", by=agency_admin
        )


def test_a_failed_delivery_is_retried_by_hand(
    analyst, agency_admin, county_eoc, reader, publish, hook, webhook_receiver, django_capture_on_commit_callbacks
):
    delivery = webhook_delivery(publish(analyst, audience_agencies=[county_eoc]))
    Delivery.objects.filter(pk=delivery.pk).update(state="failed", attempts=10, last_error="HTTP 500")

    with django_capture_on_commit_callbacks() as callbacks:
        services.retry_delivery(delivery=delivery, by=agency_admin)
    assert len(callbacks) == 1
    delivery.refresh_from_db()
    assert (delivery.state, delivery.attempts) == ("pending", 0)

    assert sending.send_webhook(delivery_id=delivery.pk)
    assert len(webhook_receiver.received()) == 1


def test_outsiders_cannot_retry_and_a_disabled_endpoint_is_not_retried(
    analyst, agency_admin, county_eoc, reader, publish, hook
):
    endpoint, _ = hook
    delivery = webhook_delivery(publish(analyst, audience_agencies=[county_eoc]))
    Delivery.objects.filter(pk=delivery.pk).update(state="failed")
    stranger = UserFactory(agency=AgencyFactory(), roles=[Role.AGENCY_ADMIN])
    with pytest.raises(PermissionDenied):
        services.retry_delivery(delivery=delivery, by=stranger)

    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(is_active=False)
    delivery.refresh_from_db()
    with pytest.raises(ValidationError, match="disabled"):
        services.retry_delivery(delivery=delivery, by=agency_admin)
