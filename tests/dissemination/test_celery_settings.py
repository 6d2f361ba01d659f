"""The Celery settings delivery rests on: at least once, one task at a time per process, separate
queues for fan-out and sending, a visibility timeout above every task's time limit, the beat entries."""

from celery.schedules import crontab
from django.conf import settings

from dissemination import sending, tasks
from fusionhub.celery import FirstQueuesFirst, app


def queue_of(task_name: str) -> str:
    return app.amqp.router.route({}, task_name)["queue"].name


def test_tasks_are_acknowledged_after_they_ran_and_requeued_if_their_worker_dies():
    assert app.conf.task_acks_late is True
    assert app.conf.task_reject_on_worker_lost is True
    assert app.conf.worker_prefetch_multiplier == 1


def test_sending_has_its_own_queue_apart_from_fan_out():
    assert queue_of("dissemination.fan_out_dispatch") == "fanout"
    for name in ("send_email_batch", "send_webhook", "send_digest", "send_digests"):
        assert queue_of(f"dissemination.{name}") == "sending"
    assert queue_of("dissemination.handle_event") == "events"
    assert queue_of("dissemination.sweep_deliveries") == "default"
    assert set(settings.CELERY_WORKER_QUEUES.split(",")) >= {"default", "fanout", "sending", "events"}


def test_redis_gives_no_running_task_to_a_second_worker():
    limits = [
        task.time_limit
        for task in (tasks.send_email_batch, tasks.send_webhook, tasks.send_digest)
        if task.time_limit is not None
    ]
    assert len(limits) == 3
    assert app.conf.broker_transport_options["visibility_timeout"] > max(limits)


def test_beat_sweeps_deliveries_every_minute_and_sends_digests_once_a_day():
    schedule = settings.CELERY_BEAT_SCHEDULE
    assert schedule["sweep-deliveries"]["task"] == "dissemination.sweep_deliveries"
    assert schedule["sweep-deliveries"]["schedule"] == 60.0
    digests = schedule["send-digests"]
    assert digests["task"] == "dissemination.send_digests"
    assert digests["schedule"] == crontab(hour=settings.DIGEST_HOUR, minute=0)


def test_no_dissemination_task_stores_a_result():
    """Queueing then needs the broker only: a result store that is down cannot delay a publish."""
    names = [name for name in app.tasks if name.startswith("dissemination.")]
    assert len(names) >= 9
    assert all(app.tasks[name].ignore_result for name in names)


def test_a_worker_asks_for_domain_events_before_the_bulk_queues():
    assert app.conf.broker_transport_options["queue_order_strategy"] == "fusionhub.celery:FirstQueuesFirst"
    cycle = FirstQueuesFirst()
    cycle.update(["default", "fanout", "sending", "events"])
    assert cycle.consume(4) == ["events", "default", "fanout", "sending"]
    cycle.rotate("fanout")  # the bulk queues take turns
    assert cycle.consume(4) == ["events", "default", "sending", "fanout"]


def test_an_email_batch_is_short_enough_not_to_hold_up_a_relay():
    assert sending.EMAIL_BATCH_SIZE <= 25
