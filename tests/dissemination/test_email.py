"""Email: one message per delivery at a real SMTP server on loopback; restricted items say only their
number, kind, title and link; failures wait and retry; the daily digest; queueing after fan-out."""

import base64
import json
from datetime import timedelta

import pytest
import redis
from django.utils import timezone

from agencies.markings import TLP
from agencies.models import Role
from dissemination import sending, tasks
from dissemination.fanout import fan_out
from dissemination.models import AgencyChannels, Delivery, Dispatch, NotificationPreference
from sharing.services import products as product_services
from tests.dissemination.peers import own_broker
from tests.factories import UserFactory

SUMMARY = "Copper thieves cut ground wires at three substations in the county."
BODY = "The suspects drive a white **Ford F-150** and work between 01:00 and 03:00."
TEARLINE = "Report suspicious activity at electrical substations to the county EOC."


@pytest.fixture
def reader(county_eoc):
    return UserFactory(username="reader", agency=county_eoc, roles=[Role.PARTNER])


@pytest.fixture
def officer(county_eoc):
    return UserFactory(username="officer", agency=county_eoc, roles=[Role.PARTNER], is_law_enforcement=True)


def dispatch_of(product, action=Dispatch.Action.PUBLISH):
    return Dispatch.objects.get(item_type="sharing.threatproduct", item_id=product.pk, action=action)


def send_all_email(dispatch):
    """Fan the dispatch out and send its email deliveries, as the worker's tasks do."""
    fan_out(dispatch_id=dispatch.pk)
    ids = list(dispatch.deliveries.filter(channel="email").values_list("pk", flat=True))
    sending.send_emails(delivery_ids=ids)
    return ids


def text_of(message) -> str:
    return message["Subject"] + "\n" + message.get_body(preferencelist=("plain",)).get_content()


@pytest.mark.parametrize(
    ("tlp", "caveats"),
    [(TLP.AMBER, []), (TLP.AMBER_STRICT, []), (TLP.GREEN, ["LES"]), (TLP.CLEAR, ["LES"])],
)
def test_restricted_items_put_only_number_kind_title_and_link_in_the_email(
    analyst, county_eoc, reader, officer, publish, mail_server, tlp, caveats
):
    product = publish(
        analyst, audience_agencies=[county_eoc], tlp=tlp, caveats=caveats, summary=SUMMARY, body=BODY, tearline=TEARLINE
    )
    send_all_email(dispatch_of(product))

    messages = mail_server.received()
    assert sorted(m["To"] for m in messages) == sorted([reader.email, officer.email])
    for message in messages:
        text = text_of(message)
        assert product.number in text
        assert "Intelligence bulletin" in text
        assert product.title in text
        assert f"/products/{product.pk}/" in text
        for secret in ("Copper thieves", "Ford F-150", "suspects", "Report suspicious activity"):
            assert secret not in text, f"{secret!r} leaked into an email for {message['To']}"


def test_the_subject_carries_the_marking_the_number_and_the_title(analyst, county_eoc, reader, publish, mail_server):
    product = publish(analyst, audience_agencies=[county_eoc], tlp=TLP.AMBER, caveats=["LES"], tearline=TEARLINE)
    send_all_email(dispatch_of(product))

    (message,) = mail_server.to(reader.email)
    assert message["Subject"] == f"[TLP:AMBER LES] {product.number}: Copper theft at electrical substations"


def test_open_items_may_carry_their_summary(analyst, county_eoc, reader, publish, mail_server):
    product = publish(analyst, audience_agencies=[county_eoc], tlp=TLP.GREEN, summary=SUMMARY, body=BODY)
    send_all_email(dispatch_of(product))

    (message,) = mail_server.to(reader.email)
    assert message["Subject"].startswith(f"[TLP:GREEN] {product.number}: ")
    assert SUMMARY in text_of(message)
    assert "Ford F-150" not in text_of(message)


def test_an_email_is_sent_once_and_recorded_as_sent(analyst, county_eoc, reader, publish, mail_server):
    product = publish(analyst, audience_agencies=[county_eoc])
    ids = send_all_email(dispatch_of(product))
    assert sending.send_emails(delivery_ids=ids) == 0

    assert len(mail_server.to(reader.email)) == 1
    delivery = Delivery.objects.get(pk__in=ids, recipient=reader)
    assert delivery.state == Delivery.State.SENT
    assert delivery.sent_at is not None
    assert delivery.attempts == 1


def test_retraction_email_says_retracted_and_why(analyst, supervisor, county_eoc, reader, publish, mail_server):
    product = publish(analyst, audience_agencies=[county_eoc], tlp=TLP.GREEN, summary=SUMMARY)
    fan_out(dispatch_id=dispatch_of(product).pk)
    retracted = product_services.retract_product(product=product, by=supervisor, reason="The source withdrew it.")
    send_all_email(dispatch_of(retracted, Dispatch.Action.RETRACT))

    (message,) = mail_server.to(reader.email)
    assert message["Subject"] == f"[TLP:GREEN] Retracted {product.number}: {product.title}"
    assert "It has been retracted. Reason: The source withdrew it." in text_of(message)


def test_retraction_of_a_restricted_item_says_retracted_without_more(
    analyst, supervisor, county_eoc, reader, publish, mail_server
):
    product = publish(analyst, audience_agencies=[county_eoc], tlp=TLP.AMBER, summary=SUMMARY)
    fan_out(dispatch_id=dispatch_of(product).pk)
    retracted = product_services.retract_product(product=product, by=supervisor, reason="Informant 7 recanted.")
    send_all_email(dispatch_of(retracted, Dispatch.Action.RETRACT))

    (message,) = mail_server.to(reader.email)
    assert message["Subject"].startswith("[TLP:AMBER] Retracted ")
    assert "It has been retracted." in text_of(message)
    assert "Informant 7" not in text_of(message)
    assert "Copper thieves" not in text_of(message)


def test_a_failed_attempt_waits_with_back_off_and_the_last_one_fails(analyst, county_eoc, reader, publish, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", 9, 2  # nothing listens
    product = publish(analyst, audience_agencies=[county_eoc])
    fan_out(dispatch_id=dispatch_of(product).pk)
    delivery = Delivery.objects.get(channel="email", recipient=reader)

    before = timezone.now()
    assert not sending.send_email(delivery_id=delivery.pk)
    delivery.refresh_from_db()
    assert delivery.state == Delivery.State.PENDING
    assert delivery.attempts == 1
    assert "ConnectionRefusedError" in delivery.last_error
    first_wait = sending.EMAIL_RETRY_DELAYS[0]
    assert before + first_wait * 0.8 <= delivery.next_attempt_at <= timezone.now() + first_wait * 1.2

    Delivery.objects.filter(pk=delivery.pk).update(attempts=len(sending.EMAIL_RETRY_DELAYS))
    assert not sending.send_email(delivery_id=delivery.pk)
    delivery.refresh_from_db()
    assert delivery.state == Delivery.State.FAILED
    assert delivery.next_attempt_at is None
    assert "ConnectionRefusedError" in delivery.last_error


def test_nobody_is_emailed_after_losing_their_account(analyst, county_eoc, reader, publish, mail_server):
    product = publish(analyst, audience_agencies=[county_eoc])
    fan_out(dispatch_id=dispatch_of(product).pk)
    reader.is_active = False
    reader.save()
    sending.send_emails(delivery_ids=Delivery.objects.filter(channel="email").values_list("pk", flat=True))

    assert mail_server.to(reader.email) == []
    assert Delivery.objects.get(channel="email", recipient=reader).state == Delivery.State.FAILED


def test_digest_lists_the_past_day_once(analyst, county_eoc, reader, officer, publish, mail_server):
    NotificationPreference.objects.create(person=reader, email_mode="digest")
    old = publish(analyst, audience_agencies=[county_eoc], title="Last week's bulletin")
    fan_out(dispatch_id=dispatch_of(old).pk)
    Delivery.objects.filter(dispatch=dispatch_of(old)).update(created_at=timezone.now() - timedelta(days=2))
    amber = publish(analyst, audience_agencies=[county_eoc], tlp=TLP.AMBER, summary=SUMMARY)
    green = publish(analyst, audience_agencies=[county_eoc], tlp=TLP.GREEN, title="Open one", summary="Open words.")
    for product in (amber, green):
        fan_out(dispatch_id=dispatch_of(product).pk)

    assert sending.digest_recipient_ids() == [reader.pk]
    assert sending.send_digest(person_id=reader.pk) == 2
    assert sending.send_digest(person_id=reader.pk) == 0

    (digest,) = mail_server.to(reader.email)
    text = text_of(digest)
    assert "daily digest: 2 items" in digest["Subject"]
    assert f"[TLP:AMBER] Intelligence bulletin {amber.number}" in text
    assert f"[TLP:GREEN] Intelligence bulletin {green.number}" in text
    assert "Open words." in text
    assert "Copper thieves" not in text
    assert "Last week's bulletin" not in text
    emailed = Delivery.objects.filter(channel="email", recipient=reader, state="sent")
    assert set(emailed.values_list("dispatch", flat=True)) == {dispatch_of(amber).pk, dispatch_of(green).pk}


def test_no_digest_for_those_who_want_email_at_once_or_none(analyst, county_eoc, reader, officer, publish, mail_server):
    NotificationPreference.objects.create(person=reader, email_mode="off")
    fan_out(dispatch_id=dispatch_of(publish(analyst, audience_agencies=[county_eoc])).pk)

    assert sending.digest_recipient_ids() == []
    assert sending.send_digest(person_id=reader.pk) == 0
    assert sending.send_digest(person_id=officer.pk) == 0
    assert mail_server.received() == []


def test_an_agency_that_turned_email_off_gets_no_digest(county_eoc, reader):
    NotificationPreference.objects.create(person=reader, email_mode="digest")
    AgencyChannels.objects.create(agency=county_eoc, email_enabled=False)
    assert sending.digest_recipient_ids() == []


def queued_tasks(broker, queue: str) -> list[tuple[str, list]]:
    """(task name, positional arguments) of each message waiting in a queue of the broker."""
    raw = redis.Redis.from_url(broker.url).lrange(queue, 0, -1)
    messages = [json.loads(message) for message in raw]
    return [(m["headers"]["task"], json.loads(base64.b64decode(m["body"]))[0]) for m in messages]


def test_fan_out_queues_the_sending_on_the_sending_queue_after_commit(
    analyst, county_eoc, reader, officer, publish, django_capture_on_commit_callbacks
):
    dispatch = dispatch_of(publish(analyst, audience_agencies=[county_eoc]))
    with own_broker() as broker:
        with django_capture_on_commit_callbacks() as callbacks:
            fan_out(dispatch_id=dispatch.pk)
            assert queued_tasks(broker, "sending") == []
        for callback in callbacks:
            callback()
        queued = queued_tasks(broker, "sending")

    emails = Delivery.objects.filter(dispatch=dispatch, channel="email")
    assert queued == [("dissemination.send_email_batch", [sorted(emails.values_list("pk", flat=True))])]
    assert all(delivery.next_attempt_at > timezone.now() for delivery in emails)


def run_fan_out_task(dispatch, *, redelivered: bool):
    """The fan-out task as a worker runs it, its message delivered anew or for the first time."""
    tasks.fan_out_dispatch.push_request(delivery_info={"redelivered": redelivered})
    try:
        return tasks.fan_out_dispatch(dispatch.pk)
    finally:
        tasks.fan_out_dispatch.pop_request()


def test_a_fan_out_task_redelivered_after_its_worker_died_queues_the_email_it_left_behind(
    analyst, county_eoc, reader, officer, publish, django_capture_on_commit_callbacks
):
    dispatch = dispatch_of(publish(analyst, audience_agencies=[county_eoc]))
    with own_broker() as broker:
        # The worker recorded the fan-out and died before queueing its email (the callbacks never ran).
        with django_capture_on_commit_callbacks():
            assert run_fan_out_task(dispatch, redelivered=False) is True
        assert queued_tasks(broker, "sending") == []

        with django_capture_on_commit_callbacks(execute=True):
            assert run_fan_out_task(dispatch, redelivered=False) is False  # a second task, not a redelivery
        assert queued_tasks(broker, "sending") == []

        with django_capture_on_commit_callbacks(execute=True):
            assert run_fan_out_task(dispatch, redelivered=True) is False
        queued = queued_tasks(broker, "sending")

    emails = Delivery.objects.filter(dispatch=dispatch, channel="email")
    assert queued == [("dissemination.send_email_batch", [sorted(emails.values_list("pk", flat=True))])]


def test_the_sweep_queues_email_that_nothing_queued(analyst, county_eoc, reader, publish):
    dispatch = dispatch_of(publish(analyst, audience_agencies=[county_eoc]))
    fan_out(dispatch_id=dispatch.pk)
    email = Delivery.objects.get(dispatch=dispatch, channel="email")
    Delivery.objects.filter(pk=email.pk).update(next_attempt_at=None, created_at=timezone.now() - timedelta(minutes=5))

    assert sending.queue_due_deliveries() == 1
    assert sending.queue_due_deliveries() == 0  # queued: not again before its lease runs out
    email.refresh_from_db()
    assert email.next_attempt_at > timezone.now()
