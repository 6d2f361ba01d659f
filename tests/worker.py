"""Real peers for the tests that need them: a Celery worker process and a private Redis server.

`run_worker()` starts `celery -A fusionhub worker` as a separate process against the pytest
database and the test Redis, waits until it answers a ping and stops it afterwards; the
`worker` fixture does the same for one test. A worker only sees committed rows, so tests
that use it need `transactional_db` (the fixture requests it). `private_redis()` runs a
throw-away redis-server on a spare port, for tests that take Redis down.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
import redis
from celery import shared_task
from django.conf import settings
from django.db import connection
from kombu import pidbox

from fusionhub.celery import app as celery_app

BASE_DIR = Path(__file__).resolve().parent.parent
START_TIMEOUT = 30.0
STOP_TIMEOUT = 15.0


@shared_task(name="tests.worker.current_database")
def current_database() -> str:
    """The name of the database the worker is connected to, asked of PostgreSQL itself."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_database()")
        return cursor.fetchone()[0]


def database_url_for_tests() -> str:
    """DATABASE_URL of the database this test process uses (pytest-django's `test_...` one)."""
    db = connection.settings_dict
    credentials = quote(db["USER"] or "", safe="")
    if db["PASSWORD"]:
        credentials += ":" + quote(db["PASSWORD"], safe="")
    host = db["HOST"] or "127.0.0.1"
    port = f":{db['PORT']}" if db["PORT"] else ""
    return f"postgres://{credentials}@{host}{port}/{quote(db['NAME'], safe='')}"


class WorkerProcess:
    """One `celery worker` process (and its pool children) in its own process group."""

    def __init__(self, *, queues: list[str], pool: str, concurrency: int, extra_env: dict[str, str]) -> None:
        self.hostname = f"test-{uuid.uuid4().hex[:12]}@fusionhub-tests"
        self.queues = queues
        self.broker_url = settings.CELERY_BROKER_URL
        # Read at start, not import, so that override_settings in a test reaches the worker too.
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "fusionhub.settings",
            "PYTHONPATH": str(BASE_DIR),
            "DATABASE_URL": database_url_for_tests(),
            "REDIS_URL": settings.REDIS_URL,
            "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
            "CELERY_RESULT_BACKEND": settings.CELERY_RESULT_BACKEND,
            **extra_env,
        }
        self.command = [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "fusionhub",
            "worker",
            f"--hostname={self.hostname}",
            f"--queues={','.join(queues)}",
            f"--pool={pool}",
            f"--concurrency={concurrency}",
            "--loglevel=INFO",
            "--without-gossip",
            "--without-mingle",
            "--include=tests.worker",
        ]
        self._log = tempfile.NamedTemporaryFile(prefix="celery-worker-", suffix=".log", delete=False)  # noqa: SIM115
        self.process: subprocess.Popen | None = None

    @property
    def log(self) -> str:
        """Everything the worker wrote so far, for assertion messages."""
        return Path(self._log.name).read_text(errors="replace")

    def start(self) -> None:
        self.process = subprocess.Popen(
            self.command,
            cwd=BASE_DIR,
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"Celery worker exited with {self.process.returncode}:\n{self.log[-4000:]}")
            if self.ping(timeout=0.5):
                return
        log = self.log
        self.kill()
        raise RuntimeError(f"Celery worker did not answer a ping in {START_TIMEOUT:.0f} s:\n{log[-4000:]}")

    def ping(self, timeout: float = 1.0) -> bool:
        """Whether this worker (and not some other one on the same broker) answers a ping."""
        # A mailbox of our own rather than celery_app.control, whose producer pool stays on the
        # broker it first connected to, whatever this worker's broker is.
        mailbox = pidbox.Mailbox(celery_app.conf.control_exchange, type="fanout", accept=["json"], serializer="json")
        with celery_app.connection_for_write(self.broker_url) as conn:
            replies = mailbox(conn).call([self.hostname], "ping", timeout=timeout)
        return any(self.hostname in reply for reply in replies)

    @property
    def is_running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self) -> None:
        """Warm shutdown (SIGTERM: finish the running task, then exit); SIGKILL if it hangs."""
        if self.is_running:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.kill()
        self._close()

    def kill(self) -> None:
        """Crash the worker: SIGKILL to it and its pool children at once, as an OOM kill would."""
        if self.process is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=STOP_TIMEOUT)
        self._close()

    def _close(self) -> None:
        self._log.close()
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self._log.name)


@contextlib.contextmanager
def run_worker(
    *,
    queues: list[str] | None = None,
    pool: str = "prefork",
    concurrency: int = 1,
    extra_env: dict[str, str] | None = None,
) -> Iterator[WorkerProcess]:
    """Run a real worker on `queues` (default: every queue the Procfile's worker consumes).

    The worker connects to the current test database and to the broker, result backend and
    cache that the settings name at the time of the call. (Tasks sent with `.delay()` still go
    to the broker the Celery app first connected to.) It is stopped on exit unless the test
    has killed it already (`worker.kill()`, for crash tests).
    """
    worker = WorkerProcess(
        queues=queues or settings.CELERY_WORKER_QUEUES.split(","),
        pool=pool,
        concurrency=concurrency,
        extra_env=extra_env or {},
    )
    try:
        worker.start()
        yield worker
    finally:
        worker.stop()


@pytest.fixture
def worker(transactional_db) -> Iterator[WorkerProcess]:
    """A real Celery worker on every queue, for this test only; rows must be committed to reach it."""
    with run_worker() as running:
        yield running


def spare_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class PrivateRedis:
    def __init__(self, port: int, process: subprocess.Popen) -> None:
        self.port = port
        self.process = process
        self.url = f"redis://127.0.0.1:{port}/0"

    def shutdown(self) -> None:
        """Take this Redis down the way an outage would: immediately, without saving."""
        subprocess.run(
            ["redis-cli", "-p", str(self.port), "shutdown", "nosave"], capture_output=True, check=False, timeout=10
        )
        self.process.wait(timeout=10)


@contextlib.contextmanager
def private_redis(port: int | None = None) -> Iterator[PrivateRedis]:
    """A redis-server of this test's own on a spare port (or on `port`, to bring one back where it
    was), which the test may shut down."""
    port = port or spare_port()
    process = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    server = PrivateRedis(port, process)
    try:
        client = redis.Redis(port=port, socket_connect_timeout=0.5)
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        client.close()
        yield server
    finally:
        if process.poll() is None:
            process.terminate()
            process.wait(timeout=10)
