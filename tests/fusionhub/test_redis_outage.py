"""While Redis is down or hangs, pages, sign-in and the API go on from PostgreSQL, promptly; signing
out, which must be exact, refuses rather than leave a way back in; after a restart the cache answers
again at the first call."""

import signal
import time
from contextlib import contextmanager

import pytest
from django.contrib.sessions.models import Session
from django.core.cache import cache
from django.test import Client, override_settings
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError

from fusionhub import cache as prompt_cache
from tests.factories import PASSWORD
from tests.second_factor import authenticator, current_code
from tests.worker import private_redis

pytestmark = pytest.mark.worker

# A page while Redis hangs pays one cache timeout at most (fusionhub/cache.py), never one per call.
PROMPT = prompt_cache.READ_TIMEOUT + 1.5
PAGES = ["/", "/inbox/", "/products/"]


@contextmanager
def redis_of_our_own():
    """The cache (and with it the sessions' copies) on a Redis of this test's own, which it may stop."""
    with private_redis() as server:
        caches = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": server.url,
                              "KEY_PREFIX": "fusionhub", "OPTIONS": prompt_cache.options()}}  # fmt: skip
        with override_settings(REDIS_URL=server.url, CACHES=caches):
            prompt_cache.resume()
            yield server
    prompt_cache.resume()


@contextmanager
def hung(server):
    """Redis still accepts connections but never answers."""
    server.process.send_signal(signal.SIGSTOP)
    try:
        yield
    finally:
        server.process.send_signal(signal.SIGCONT)


def timed_get(client, path):
    started = time.monotonic()
    response = client.get(path)
    return response, time.monotonic() - started


def test_pages_of_a_signed_in_person_answer_while_redis_is_down(client, analyst, db):
    with redis_of_our_own() as server:
        client.force_login(analyst)
        assert client.get("/").status_code == 200  # the session's copy is in Redis now
        server.shutdown()

        for path in PAGES:
            response, elapsed = timed_get(client, path)
            assert response.status_code == 200, path
            assert analyst.get_full_name() in response.content.decode()
            assert elapsed < 1.0, path


def test_pages_answer_promptly_while_redis_hangs(client, analyst, db):
    with redis_of_our_own() as server:
        client.force_login(analyst)
        assert client.get("/").status_code == 200
        with hung(server):
            for path in PAGES * 2:
                response, elapsed = timed_get(client, path)
                assert response.status_code == 200, path
                assert elapsed < PROMPT, f"{path} took {elapsed:.1f} s"


def test_a_person_signs_in_with_both_factors_while_redis_is_down(analyst, db):
    client = Client()
    code = current_code(authenticator(analyst))
    with redis_of_our_own() as server:
        server.shutdown()
        response = client.post("/sign-in/", {"username": "analyst", "password": PASSWORD})
        assert response.status_code == 302
        assert response.url == "/sign-in/verify/?next=%2F"
        response = client.post(response.url, {"code": code})
        assert response.status_code == 302
        assert response.url == "/"
        assert analyst.get_full_name() in client.get("/").content.decode()


def test_signing_out_while_redis_is_down_fails_and_leaves_no_way_back_in(client, analyst, db):
    """Removing the session from PostgreSQL alone would let its copy in Redis sign the person in
    again once Redis answers (a hang, a partition): signing out waits for Redis instead."""
    with redis_of_our_own() as server:
        client.force_login(analyst)
        assert client.get("/").status_code == 200
        key = client.session.session_key
        with hung(server), pytest.raises(RedisError):
            client.post("/sign-out/")
        prompt_cache.resume()

        # Still signed in, as the error said: in PostgreSQL too, not only by the copy left in Redis.
        assert Session.objects.filter(session_key=key).exists()
        assert client.get("/").status_code == 200
        assert client.post("/sign-out/").status_code == 302
        assert client.get("/").status_code == 302  # signed out for good


def test_an_api_call_that_cannot_go_on_without_redis_is_told_to_come_back(client, coordinator, monkeypatch):
    """Where Redis is needed and did not answer, the API answers 503 with Retry-After, in its error shape."""

    def no_answer(**kwargs):
        raise RedisConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr("dissemination.api.selectors.inbox", no_answer)
    client.force_login(coordinator)
    response = client.get("/api/v1/inbox/")

    assert response.status_code == 503
    assert response.json() == {
        "errors": {"non_field_errors": ["The service is unavailable for a moment. Try again shortly."]}
    }
    assert response["Retry-After"] == "5"


def test_the_cache_answers_at_the_first_call_after_redis_restarts(db):
    with redis_of_our_own() as server:
        cache.set("before", 1)
        server.process.kill()
        server.process.wait()
        with private_redis(server.port):
            cache.set("after", 2)  # the pooled connection died with the old server: opened again, at once
            assert cache.get("after") == 2
