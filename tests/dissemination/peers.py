"""Real peers on loopback for the sending tests: an SMTP server, a webhook receiver, a broker of our own.

`MailServer` is aiosmtpd on a spare port, keeping every message it accepted; `WebhookReceiver` is an
HTTP server in a thread answering each path with the statuses a test scripts; `own_broker()` runs a
private Redis and points this process's Celery app and the workers that `run_worker` starts at it,
so that no other test run's worker takes our tasks and a test may take the broker down.
"""

from __future__ import annotations

import asyncio
import contextlib
import email
import email.policy
import subprocess
import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import kombu.pools
import pytest
import redis
from aiosmtpd.controller import Controller
from django.test import override_settings

from dissemination import tasks
from fusionhub.celery import app as celery_app
from tests.worker import PrivateRedis, private_redis, spare_port

SMTP_BACKEND = "django.core.mail.backends.smtp.EmailBackend"


class _Handler:
    def __init__(self, server: MailServer) -> None:
        self.server = server

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
        with self.server.lock:
            self.server.messages.append(message)
        # Accepted, but the client hears so only after the delay: a client killed meanwhile has sent
        # a message it does not know went through.
        if self.server.delay:
            await asyncio.sleep(self.server.delay)
        return "250 Message accepted for delivery"


class MailServer:
    """aiosmtpd on 127.0.0.1, keeping each message it received."""

    def __init__(self, *, delay: float = 0.0) -> None:
        self.port = spare_port()
        self.delay = delay
        self.lock = threading.Lock()
        self.messages: list[EmailMessage] = []
        self.controller = Controller(_Handler(self), hostname="127.0.0.1", port=self.port)

    def start(self) -> None:
        self.controller.start()

    def stop(self) -> None:
        self.controller.stop()

    @property
    def settings(self) -> dict[str, object]:
        return {"EMAIL_BACKEND": SMTP_BACKEND, "EMAIL_HOST": "127.0.0.1", "EMAIL_PORT": self.port}

    @property
    def worker_env(self) -> dict[str, str]:
        """What a worker process needs to send here."""
        return {name: str(value) for name, value in self.settings.items()}

    def received(self) -> list[EmailMessage]:
        with self.lock:
            return list(self.messages)

    def to(self, address: str) -> list[EmailMessage]:
        return [message for message in self.received() if address in message["To"]]


@pytest.fixture
def mail_server(settings) -> Iterator[MailServer]:
    """An SMTP server on loopback that this process's email goes to."""
    server = MailServer()
    server.start()
    for name, value in server.settings.items():
        setattr(settings, name, value)
    try:
        yield server
    finally:
        server.stop()


@dataclass(frozen=True)
class Answer:
    """How the receiver answers one POST: a status, extra headers, and a wait before answering
    (the request is recorded on arrival, so a sender killed during the wait has delivered it)."""

    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


@dataclass
class Request:
    path: str
    headers: dict[str, str]
    body: bytes
    answered: int

    @property
    def webhook_id(self) -> str:
        return self.headers.get("webhook-id", "")


class WebhookReceiver:
    """An HTTP server on 127.0.0.1 that records every POST and answers with scripted statuses."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.requests: list[Request] = []
        self._answers: dict[str, deque[Answer]] = defaultdict(deque)
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                answer = receiver._next_answer(self.path)
                with receiver.lock:
                    headers = {name.lower(): value for name, value in self.headers.items()}
                    receiver.requests.append(Request(self.path, headers, body, answer.status))
                if answer.delay:
                    time.sleep(answer.delay)
                self.send_response(answer.status)
                for name, value in answer.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format, *args):
                """Quiet: the test reads `requests`."""

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def answer(self, path: str, *answers: int | Answer) -> None:
        """Answer the next POSTs to `path` with these in turn (a status or an `Answer`), then 200."""
        with self.lock:
            self._answers[path].extend(a if isinstance(a, Answer) else Answer(status=a) for a in answers)

    def _next_answer(self, path: str) -> Answer:
        with self.lock:
            queue = self._answers.get(path)
            return queue.popleft() if queue else Answer()

    def received(self, path: str | None = None) -> list[Request]:
        with self.lock:
            return [r for r in self.requests if path is None or r.path == path]

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def webhook_receiver() -> Iterator[WebhookReceiver]:
    receiver = WebhookReceiver()
    receiver.start()
    try:
        yield receiver
    finally:
        receiver.stop()


def _point_celery_at(broker_url: str, backend_url: str) -> None:
    """Make this process's Celery app publish to another broker (its connection pools are made
    for the first broker it used, so they are dropped)."""
    kombu.pools.reset()
    celery_app._pool = None
    celery_app.amqp._producer_pool = None
    celery_app.conf.broker_url = broker_url
    celery_app.conf.result_backend = backend_url
    celery_app._backend_cache = None
    celery_app._local.__dict__.pop("backend", None)


@contextlib.contextmanager
def own_broker() -> Iterator[PrivateRedis]:
    """A private Redis as the Celery broker of this process and of the workers started meanwhile."""
    saved = celery_app.conf.broker_url, celery_app.conf.result_backend
    with (
        private_redis() as redis_server,
        override_settings(CELERY_BROKER_URL=redis_server.url, CELERY_RESULT_BACKEND=redis_server.url),
    ):
        _point_celery_at(redis_server.url, redis_server.url)
        tasks.resume_queueing()
        try:
            yield redis_server
        finally:
            _point_celery_at(*saved)
            tasks.resume_queueing()


@contextlib.contextmanager
def restarted(redis_server: PrivateRedis) -> Iterator[None]:
    """Bring a private Redis that was shut down back on its port (empty, as after an outage)."""
    process = subprocess.Popen(
        ["redis-server", "--port", str(redis_server.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        client = redis.Redis(port=redis_server.port, socket_connect_timeout=0.5)
        wait_for(lambda: _answers(client), timeout=10, message="the restarted Redis did not answer")
        client.close()
        # The connections this process's Celery app had died with the old server.
        _point_celery_at(redis_server.url, redis_server.url)
        tasks.resume_queueing()
        yield
    finally:
        process.terminate()
        process.wait(timeout=10)


def _answers(client: redis.Redis) -> bool:
    try:
        return bool(client.ping())
    except redis.ConnectionError:
        return False


def wait_for(condition: Callable[[], object], *, timeout: float = 30.0, interval: float = 0.1, message=""):
    """Poll until `condition()` is true; return its value, or fail with `message` (or its result)."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"Timed out after {timeout:.0f} s: {message() if callable(message) else message}")
        time.sleep(interval)
