"""The Celery application: Redis broker, queues per kind of work, beat schedule from settings."""

import os

from celery import Celery
from kombu.utils.scheduling import round_robin_cycle

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "fusionhub.settings")

# Queues of short tasks someone waits for: a domain event (a relay into an EOC's feed), a sweep.
FIRST_QUEUES = ("events", "default")


class FirstQueuesFirst(round_robin_cycle):
    """The order in which a worker asks Redis for its next task (kombu's `queue_order_strategy`):
    the events queue, then default, then the bulk queues (fan-out, sending) in turn. A worker takes
    one task at a time, so a relay waits at most for the task a worker is finishing, never behind a
    backlog of email batches or fan-outs."""

    def consume(self, n: int) -> list[str]:
        queues = super().consume(n)
        return sorted(queues, key=lambda q: FIRST_QUEUES.index(q) if q in FIRST_QUEUES else len(FIRST_QUEUES))


app = Celery("fusionhub")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
