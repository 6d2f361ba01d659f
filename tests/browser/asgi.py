"""The site served by uvicorn, as in production, for browser tests that need the live feed.

pytest-django's live server is a threaded WSGI server. Under WSGI, Django reads an asynchronous
streaming response to its end before sending a byte, so the feed's event stream (an async view
that never ends by itself) would never reach the browser there. A test module that imports
`live_server` from here gets the whole site from a uvicorn process instead: on a free port of the
loopback, on the test database and Redis, with DEBUG on so that it serves the static files. It
sees what the test commits (the `page` fixture's transactional database).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import modify_settings

ROOT = Path(__file__).resolve().parents[2]
LOG = ROOT / "test-output" / "browser" / "uvicorn.log"
START_TIMEOUT_S = 30


@dataclass
class AsgiServer:
    """What the `page` fixture and pytest-django's helper ask of a live server."""

    url: str
    process: subprocess.Popen
    _live_server_modified_settings: modify_settings = field(
        default_factory=lambda: modify_settings(ALLOWED_HOSTS={"append": "127.0.0.1"})
    )


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _database_url() -> str:
    db = connection.settings_dict
    credentials = quote(db["USER"] or "postgres") + (f":{quote(db['PASSWORD'])}" if db["PASSWORD"] else "")
    return f"postgres://{credentials}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def _wait_until_listening(process: subprocess.Popen, port: int) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"uvicorn stopped at start (exit {process.returncode}); see {LOG}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    process.kill()
    pytest.fail(f"uvicorn did not listen on port {port} within {START_TIMEOUT_S} s; see {LOG}")


@pytest.fixture(name="live_server", scope="module")
def asgi_live_server(django_db_setup) -> Iterator[AsgiServer]:
    port = _free_port()
    environment = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.browser.asgi_settings",
        "DEBUG": "true",
        "DATABASE_URL": _database_url(),
        # A connection per request, closed after it, so that nothing holds the test database open.
        "DATABASE_CONN_MAX_AGE": "0",
        "REDIS_URL": settings.REDIS_URL,
        "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
    }
    command = [sys.executable, "-m", "uvicorn", "fusionhub.asgi:application", "--host", "127.0.0.1"]
    command += ["--port", str(port), "--lifespan", "off", "--timeout-graceful-shutdown", "1", "--log-level", "warning"]
    LOG.parent.mkdir(parents=True, exist_ok=True)
    with LOG.open("w", encoding="utf-8") as log:
        process = subprocess.Popen(command, cwd=ROOT, env=environment, stdout=log, stderr=subprocess.STDOUT)
    try:
        _wait_until_listening(process, port)
        yield AsgiServer(url=f"http://127.0.0.1:{port}", process=process)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
