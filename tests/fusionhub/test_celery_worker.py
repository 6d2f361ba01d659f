"""A real Celery worker process runs tasks sent through the real Redis broker, against the test database."""

import uuid

import pytest
from django.core.cache import cache
from django.db import connection

from fusionhub.tasks import record_worker_heartbeat
from tests.worker import current_database, run_worker

pytestmark = pytest.mark.worker

RESULT_TIMEOUT = 30


@pytest.fixture
def own_queue_worker(transactional_db):
    """A worker on a queue of this test's own, so no other worker on the broker takes its tasks."""
    queue = f"test-{uuid.uuid4().hex[:12]}"
    with run_worker(queues=[queue]) as worker:
        yield worker, queue


def test_worker_runs_the_heartbeat_task_and_writes_the_cache(own_queue_worker):
    worker, queue = own_queue_worker
    token = uuid.uuid4().hex
    assert cache.get(f"worker-heartbeat:{token}") is None

    result = record_worker_heartbeat.apply_async(kwargs={"token": token}, queue=queue)

    assert result.get(timeout=RESULT_TIMEOUT) == token, worker.log[-2000:]
    assert result.successful()
    assert cache.get(f"worker-heartbeat:{token}") is not None
    assert f"Task fusionhub.record_worker_heartbeat[{result.id}] received" in worker.log


def test_worker_is_connected_to_the_test_database(own_queue_worker):
    worker, queue = own_queue_worker

    result = current_database.apply_async(queue=queue)

    assert connection.settings_dict["NAME"].startswith("test_")
    assert result.get(timeout=RESULT_TIMEOUT) == connection.settings_dict["NAME"], worker.log[-2000:]


def test_killed_worker_no_longer_answers_a_ping(own_queue_worker):
    worker, _ = own_queue_worker
    assert worker.ping()

    worker.kill()

    assert not worker.is_running
    assert not worker.ping(timeout=0.5)
