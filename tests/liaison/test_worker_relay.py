"""A crash between a publish and its relay delays the relay, never loses it: with real Celery
worker processes, the real PostgreSQL and a Redis broker of the test's own."""

import threading
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.utils import timezone

from agencies.markings import TLP
from dissemination import tasks
from dissemination.models import DomainEvent
from eoc.models import FeedEntry, Incident
from eoc.services.incidents import change_activation
from liaison.models import Relay
from tests.dissemination.peers import own_broker, wait_for
from tests.worker import run_worker

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def broker():
    with own_broker() as redis_server:
        yield redis_server


def handler_waits_on_a_lock() -> bool:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        return cursor.fetchone()[0] > 0


def sweep_events_until(condition, *, timeout: float = 45.0):
    """What beat does every minute, once the grace period has run out (the events are dated back)."""

    def check():
        if condition():
            return True
        DomainEvent.objects.filter(handled_at__isnull=True).update(occurred_at=timezone.now() - timedelta(hours=1))
        tasks.sweep_events()
        return False

    return wait_for(check, timeout=timeout, interval=1.0, message="the relay was never made")


def relayed_entries(product) -> list[FeedEntry]:
    return list(FeedEntry.objects.filter(source_type="sharing.threatproduct", source_id=product.pk))


def test_a_worker_killed_between_a_publish_and_its_relay_delays_the_relay_and_relays_once(
    analyst, coordinator, county, county_eoc, flood, automatic, publish, broker
):
    change_activation(eoc=county_eoc, by=coordinator, level=2, reason="River above flood stage", incident=flood)
    DomainEvent.objects.update(handled_at=timezone.now())  # the activation was handled long ago
    holding, release = threading.Event(), threading.Event()

    def hold_the_incident():
        """Lock the incident row, as a long transaction elsewhere would: posting the relayed entry waits on it."""
        try:
            with transaction.atomic():
                Incident.objects.select_for_update().get(pk=flood.pk)
                holding.set()
                release.wait(30)
        finally:
            connection.close()

    holder = threading.Thread(target=hold_the_incident)
    holder.start()
    holding.wait(10)
    try:
        with run_worker(concurrency=1) as first:
            product = publish(analyst, tlp=TLP.GREEN, audience_jurisdictions=[county])
            wait_for(handler_waits_on_a_lock, message=lambda: first.log[-3000:])
            first.kill()  # mid-relay: the handler's transaction dies with the worker
    finally:
        release.set()
        holder.join()

    event = DomainEvent.objects.get(kind="product_published", subject_id=product.pk)
    assert event.handled_at is None
    assert relayed_entries(product) == []
    assert not Relay.objects.exists()

    with run_worker(concurrency=1) as second:
        sweep_events_until(
            lambda: relayed_entries(product) and not DomainEvent.objects.filter(handled_at__isnull=True).exists()
        )
        assert second.is_running

    (relay,) = Relay.objects.filter(source_id=product.pk)
    assert relay.state == Relay.State.DELIVERED
    (entry,) = relayed_entries(product)
    assert entry.incident_id == flood.pk
    assert relay.delivered_id == entry.pk
