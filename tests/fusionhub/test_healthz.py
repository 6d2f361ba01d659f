"""/healthz: the state of PostgreSQL, Redis and the Celery workers, 200 only when all are up, never hanging."""

import signal
import time

import pytest
from django.test import override_settings

from tests.worker import private_redis

pytestmark = pytest.mark.worker

# A load balancer's probe gives up after a few seconds; a dead Redis must not make us slower than that.
PROMPT = 5.0


def redis_settings(url: str):
    """Point every Redis user the health check knows of (cache, broker, plain client) at `url`."""
    return override_settings(
        REDIS_URL=url,
        CELERY_BROKER_URL=url,
        CACHES={
            "default": {
                "BACKEND": "django.core.cache.backends.redis.RedisCache",
                "LOCATION": url,
                "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
            }
        },
    )


def timed_get(client, path="/healthz"):
    started = time.monotonic()
    response = client.get(path)
    return response, time.monotonic() - started


def test_healthz_is_200_when_database_redis_and_a_worker_are_up(client, worker):
    response = client.get("/healthz")

    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["status"] == "ok"
    assert body["database"] == "up"
    assert body["redis"] == "up"
    assert body["celery"].startswith("up")
    assert response["Cache-Control"].startswith("max-age=0")


def test_healthz_is_503_without_a_worker(client, db):
    # A Redis of our own, which no worker of anyone else's listens to.
    with private_redis() as redis_server, redis_settings(redis_server.url):
        response, elapsed = timed_get(client)

    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["database"] == "up"
    assert body["redis"] == "up"
    assert body["celery"] == "down: no worker answered"
    assert elapsed < PROMPT


def test_healthz_reports_redis_down_promptly_when_redis_goes_away(client, db):
    with private_redis() as redis_server, redis_settings(redis_server.url):
        before = client.get("/healthz").json()
        assert before["redis"] == "up"

        redis_server.shutdown()
        response, elapsed = timed_get(client)

    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["database"] == "up"
    assert body["redis"].startswith("down")
    assert body["celery"].startswith("down")
    assert elapsed < PROMPT


def test_healthz_reports_redis_down_promptly_when_redis_hangs(client, db):
    # A frozen Redis still accepts connections but never answers: the check must time out.
    with private_redis() as redis_server, redis_settings(redis_server.url):
        redis_server.process.send_signal(signal.SIGSTOP)
        try:
            response, elapsed = timed_get(client)
        finally:
            redis_server.process.send_signal(signal.SIGCONT)

    assert response.status_code == 503
    body = response.json()
    assert body["redis"] == "down: TimeoutError"
    assert body["celery"].startswith("down")
    assert elapsed < PROMPT
