"""Delivery with real Celery worker processes, the real PostgreSQL and a Redis broker of the test's own:
everyone once in the inbox, email at a real SMTP server, signed webhooks at a real receiver; a worker
killed mid-fan-out or mid-send, and a broker outage, delay delivery but lose nothing.

`beat()` does what Celery beat does every minute, once the grace periods and leases have run out
(the rows are dated back instead of the test waiting minutes).
"""

import re
import signal
import threading
import time
import uuid
from collections import Counter
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.utils import timezone
from standardwebhooks import Webhook

from agencies.models import Agency, Role, User
from dissemination import services, tasks
from dissemination.models import AgencyChannels, Delivery, Dispatch, NotificationPreference
from sharing.services import products as product_services
from tests.dissemination.peers import Answer, MailServer, WebhookReceiver, own_broker, restarted, wait_for
from tests.factories import AgencyFactory, UserFactory
from tests.worker import run_worker

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

CONCURRENCY = 2
PREFETCH = 1  # CELERY_WORKER_PREFETCH_MULTIPLIER
# Never more sends in flight at a kill than the worker runs at once.
MAX_DUPLICATES = CONCURRENCY * PREFETCH


@pytest.fixture
def broker():
    with own_broker() as redis_server:
        yield redis_server


@pytest.fixture
def smtp():
    server = MailServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def receiver():
    server = WebhookReceiver()
    server.start()
    yield server
    server.stop()


def agencies_in(county, count: int, **fields) -> list[Agency]:
    return [AgencyFactory(jurisdiction=county, kind=Agency.Kind.EOC, **fields) for _ in range(count)]


def people_of(agencies, per_agency: int, **fields) -> list[User]:
    """People made in bulk: a fan-out test needs hundreds, not their passwords."""
    batch = uuid.uuid4().hex[:6]
    return User.objects.bulk_create(
        User(
            username=f"p{batch}-{agency.pk}-{n}",
            email=f"p{batch}-{agency.pk}-{n}@example.gov",
            agency=agency,
            password="!",
            **fields,
        )
        for agency in agencies
        for n in range(per_agency)
    )


def dispatch_of(product) -> Dispatch:
    return Dispatch.objects.get(item_type="sharing.threatproduct", item_id=product.pk)


def beat() -> None:
    long_ago = timezone.now() - timedelta(hours=1)
    Dispatch.objects.exclude(state=Dispatch.State.FANNED_OUT).update(created_at=long_ago)
    Delivery.objects.filter(state=Delivery.State.PENDING).exclude(channel=Delivery.Channel.INBOX).update(
        next_attempt_at=long_ago
    )
    tasks.sweep_dispatches()
    tasks.sweep_deliveries()


def beating_until(condition, *, timeout: float = 45.0, every: float = 1.5, message=""):
    """Run `beat()` every `every` seconds until `condition()` holds."""
    last = [0.0]

    def check():
        if condition():
            return True
        if time.monotonic() - last[0] >= every:
            beat()
            last[0] = time.monotonic()
        return False

    return wait_for(check, timeout=timeout, message=message)


def all_sent(dispatch) -> bool:
    return not dispatch.deliveries.exclude(state=Delivery.State.SENT).exists() and dispatch.deliveries.exists()


def test_500_people_in_50_agencies_each_get_one_inbox_delivery_and_one_email(
    analyst, publish, county, other_county, broker, smtp
):
    agencies = agencies_in(county, 50)
    people = people_of(agencies, 10)
    # Outside the audience: another county's agency, people no longer active, an agency switched off.
    outsiders = people_of(agencies_in(other_county, 2), 10)
    people_of(agencies[:5], 1, is_active=False)
    closed = agencies_in(county, 1, is_active=False)
    people_of(closed, 5)
    # In the audience, but no email at once: a digest, no email, no address, an agency without email.
    NotificationPreference.objects.bulk_create(
        [NotificationPreference(person=p, email_mode="digest") for p in people[0:20]]
        + [NotificationPreference(person=p, email_mode="off") for p in people[20:40]]
    )
    User.objects.filter(pk__in=[p.pk for p in people[40:50]]).update(email="")
    AgencyChannels.objects.create(agency=agencies[-1], email_enabled=False)
    emailed_now = [p for p in people[50:] if p.agency_id != agencies[-1].pk]
    assert len(emailed_now) == 440

    with run_worker(concurrency=CONCURRENCY, extra_env=smtp.worker_env) as worker:
        product = publish(analyst, audience_agencies=[*agencies, *closed])
        dispatch = dispatch_of(product)
        wait_for(
            lambda: len(smtp.received()) >= len(emailed_now) and all_sent(dispatch),
            timeout=45,
            message=lambda: f"{len(smtp.received())} emails arrived\n{worker.log[-3000:]}",
        )
        time.sleep(0.5)  # anything extra would arrive now

    inbox = Counter(dispatch.deliveries.filter(channel="inbox").values_list("recipient_id", flat=True))
    assert inbox == Counter({person.pk: 1 for person in people})
    assert not Delivery.objects.filter(recipient__in=outsiders).exists()
    assert not Delivery.objects.filter(recipient__is_active=False).exists()
    assert not Delivery.objects.filter(recipient__agency__in=closed).exists()
    assert Counter(message["To"] for message in smtp.received()) == Counter({p.email: 1 for p in emailed_now})
    dispatch.refresh_from_db()
    assert (dispatch.state, dispatch.recipients_total, dispatch.recipients_done) == ("fanned_out", 500, 500)


def test_a_worker_killed_mid_fan_out_is_replaced_and_everyone_gets_one_delivery(analyst, publish, county, broker, smtp):
    agencies = agencies_in(county, 3)
    people = people_of(agencies, 20)
    holding, release = threading.Event(), threading.Event()

    def hold_a_recipient():
        """Lock one recipient's row, as a long transaction elsewhere would: the fan-out waits on it."""
        try:
            with transaction.atomic():
                User.objects.select_for_update().get(pk=people[-1].pk)
                holding.set()
                release.wait(30)
        finally:
            connection.close()

    holder = threading.Thread(target=hold_a_recipient)
    holder.start()
    holding.wait(10)
    try:
        with run_worker(concurrency=CONCURRENCY, extra_env=smtp.worker_env) as first:
            product = publish(analyst, audience_agencies=agencies)
            dispatch = dispatch_of(product)
            wait_for(
                lambda: dispatch_state(dispatch) == Dispatch.State.FANNING_OUT and fan_out_waits_on_a_lock(),
                message=lambda: first.log[-3000:],
            )
            first.kill()
    finally:
        release.set()
        holder.join()
    assert smtp.received() == []

    with run_worker(concurrency=CONCURRENCY, extra_env=smtp.worker_env) as second:
        beating_until(
            lambda: dispatch_state(dispatch) == Dispatch.State.FANNED_OUT and all_sent(dispatch),
            message=lambda: second.log[-3000:],
        )

    inbox = Counter(dispatch.deliveries.filter(channel="inbox").values_list("recipient_id", flat=True))
    assert inbox == Counter({person.pk: 1 for person in people})
    received = Counter(message["To"] for message in smtp.received())
    assert set(received) == {person.email for person in people}
    assert sum(received.values()) - len(people) <= MAX_DUPLICATES


def dispatch_state(dispatch) -> str:
    return Dispatch.objects.values_list("state", flat=True).get(pk=dispatch.pk)


def fan_out_waits_on_a_lock() -> bool:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        return cursor.fetchone()[0] > 0


def test_a_worker_killed_mid_send_is_replaced_each_recipient_gets_email_and_a_webhook_keeps_its_id(
    analyst, agency_admin, publish, county, county_eoc, broker, receiver
):
    smtp = MailServer(delay=0.1)  # slow enough to kill the worker halfway
    smtp.start()
    try:
        people = people_of([county_eoc], 60)
        _, secret = services.create_webhook_endpoint(agency=county_eoc, url=receiver.url(), by=agency_admin)
        receiver.answer("/hook", Answer(delay=15))  # the first POST is still waiting for its answer at the kill
        with run_worker(concurrency=CONCURRENCY, extra_env=smtp.worker_env) as first:
            dispatch = dispatch_of(publish(analyst, audience_agencies=[county_eoc]))
            wait_for(
                lambda: len(smtp.received()) >= 10 and receiver.received(),
                message=lambda: first.log[-3000:],
            )
            first.kill()
        emailed_before_the_kill = len(smtp.received())

        with run_worker(concurrency=CONCURRENCY, extra_env=smtp.worker_env) as second:
            beating_until(lambda: all_sent(dispatch), message=lambda: second.log[-3000:])
            time.sleep(0.5)
        received = Counter(message["To"] for message in smtp.received())
    finally:
        smtp.stop()

    recipients = set(dispatch.deliveries.filter(channel="email").values_list("recipient__email", flat=True))
    assert recipients >= {person.email for person in people}
    assert emailed_before_the_kill < len(recipients)  # the kill came mid-send
    assert set(received) == recipients
    assert sum(received.values()) - len(recipients) <= MAX_DUPLICATES
    inbox = Counter(dispatch.deliveries.filter(channel="inbox").values_list("recipient_id", flat=True))
    assert set(inbox.values()) == {1}

    first_post, second_post = receiver.received("/hook")
    assert first_post.webhook_id == second_post.webhook_id
    assert Webhook(secret).verify(first_post.body, first_post.headers) == Webhook(secret).verify(
        second_post.body, second_post.headers
    )


def test_a_broker_outage_at_publish_delays_delivery_and_loses_nothing(
    analyst, agency_admin, publish, county, county_eoc, broker, smtp, receiver
):
    people = people_of([county_eoc], 10)
    _, secret = services.create_webhook_endpoint(agency=county_eoc, url=receiver.url(), by=agency_admin)
    broker.shutdown()

    started = time.monotonic()
    product = publish(analyst, audience_agencies=[county_eoc])
    assert time.monotonic() - started < 10

    dispatch = dispatch_of(product)
    assert dispatch.state == Dispatch.State.PENDING
    assert not dispatch.deliveries.exists()

    with restarted(broker), run_worker(concurrency=CONCURRENCY, extra_env=smtp.worker_env) as worker:
        beating_until(lambda: all_sent(dispatch), message=lambda: worker.log[-3000:])

    assert {p.pk for p in people} <= set(
        dispatch.deliveries.filter(channel="inbox").values_list("recipient", flat=True)
    )
    assert {p.email for p in people} <= {message["To"] for message in smtp.received()}
    (request,) = receiver.received()
    assert Webhook(secret).verify(request.body, request.headers)["number"] == product.number


def test_a_broker_that_hangs_at_publish_holds_the_publish_seconds_not_forever(analyst, county_eoc, broker, smtp):
    """Redis accepts connections and never answers: queueing gives up, the publish commits, and the
    sweep delivers once Redis answers again."""
    people = people_of([county_eoc], 5)
    broker.process.send_signal(signal.SIGSTOP)
    try:
        started = time.monotonic()
        product = publish_in_thread(analyst, county_eoc, timeout=30)
        elapsed = time.monotonic() - started
    finally:
        broker.process.send_signal(signal.SIGCONT)
    assert elapsed < 10
    dispatch = dispatch_of(product)
    assert dispatch.state == Dispatch.State.PENDING

    tasks.resume_queueing()
    with run_worker(concurrency=CONCURRENCY, extra_env=smtp.worker_env) as worker:
        beating_until(lambda: all_sent(dispatch), message=lambda: worker.log[-3000:])
    assert {p.pk for p in people} <= set(
        dispatch.deliveries.filter(channel="inbox").values_list("recipient", flat=True)
    )


def publish_in_thread(analyst, county_eoc, *, timeout: float):
    """Publish from another thread, so that a publish that hangs fails the test instead of hanging it."""
    from tests.sharing.conftest import content

    done = {}

    def run():
        try:
            product = product_services.create_product(author=analyst, content=content(audience_agencies=[county_eoc]))
            product_services.submit_for_review(product=product, by=analyst)
            supervisor = UserFactory(agency=analyst.agency, roles=[Role.SUPERVISOR])
            done["product"] = product_services.approve_product(product=product, reviewer=supervisor)
        finally:
            connection.close()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(timeout)
    assert "product" in done, f"the publish did not finish in {timeout:.0f} s"
    return done["product"]


def test_a_receiver_answering_500_then_200_accepts_each_delivery_once(
    analyst, agency_admin, publish, county, county_eoc, broker, smtp, receiver
):
    other_eoc = agencies_in(county, 1)[0]
    people_of([county_eoc, other_eoc], 1)
    _, flaky_secret = services.create_webhook_endpoint(agency=county_eoc, url=receiver.url("/flaky"), by=agency_admin)
    other_admin = UserFactory(agency=other_eoc, roles=[Role.AGENCY_ADMIN])
    _, steady_secret = services.create_webhook_endpoint(agency=other_eoc, url=receiver.url("/steady"), by=other_admin)
    receiver.answer("/flaky", 500)

    with run_worker(concurrency=CONCURRENCY, extra_env=smtp.worker_env) as worker:
        dispatch = dispatch_of(publish(analyst, audience_agencies=[county_eoc, other_eoc]))
        flaky = wait_for(
            lambda: Delivery.objects.filter(dispatch=dispatch, endpoint__url__endswith="/flaky", attempts=1).first(),
            message=lambda: worker.log[-3000:],
        )
        assert flaky.state == Delivery.State.PENDING
        assert flaky.last_error.startswith("HTTP 500")
        beating_until(lambda: all_sent(dispatch), message=lambda: worker.log[-3000:])
        beat()
        time.sleep(1)  # a sweep after the success sends nothing more

    accepted = Counter(r.webhook_id for r in receiver.received() if r.answered == 200)
    assert sorted(accepted.values()) == [1, 1]
    flaky_posts = receiver.received("/flaky")
    assert [r.answered for r in flaky_posts] == [500, 200]
    assert flaky_posts[0].webhook_id == flaky_posts[1].webhook_id
    for request in flaky_posts:
        Webhook(flaky_secret).verify(request.body, request.headers)
    (steady,) = receiver.received("/steady")
    Webhook(steady_secret).verify(steady.body, steady.headers)


def test_a_domain_event_is_taken_before_a_backlog_of_fan_outs_and_email(broker):
    """A relay waits for the task a worker is finishing, never behind the bulk queues' backlog."""
    for n in range(5):
        tasks.fan_out_dispatch.delay(-1 - n)
        tasks.send_email_batch.delay([])
    tasks.handle_event.delay(-1)

    with run_worker(concurrency=1) as worker:
        wait_for(lambda: worker.log.count(" succeeded in ") == 11, timeout=45, message=lambda: worker.log[-3000:])
        received = re.findall(r"Task (dissemination\.\w+)\[[-\w]+\] received", worker.log)

    assert received[0] == "dissemination.handle_event", received
    # The bulk queues take turns.
    assert received[1:5] in (
        ["dissemination.fan_out_dispatch", "dissemination.send_email_batch"] * 2,
        ["dissemination.send_email_batch", "dissemination.fan_out_dispatch"] * 2,
    ), received
