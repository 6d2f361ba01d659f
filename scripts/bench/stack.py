"""The processes a bench runs, each started as production starts it: uvicorn with several workers and
DEBUG off, separate Celery worker processes, and (for the outage scenario) a Redis of its own."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def spare_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


class Process:
    """A child process in its own process group, with its output in a log file."""

    def __init__(self, name: str, command: list[str], env: dict[str, str]) -> None:
        self.name, self.command, self.env = name, command, env
        self.log = tempfile.NamedTemporaryFile(prefix=f"bench-{name}-", suffix=".log", delete=False)  # noqa: SIM115
        self.popen: subprocess.Popen | None = None

    def start(self) -> Process:
        self.popen = subprocess.Popen(  # noqa: S603
            self.command, cwd=ROOT, env=self.env, stdin=subprocess.DEVNULL, stdout=self.log,
            stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        return self

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def output(self) -> str:
        return Path(self.log.name).read_text(errors="replace")

    def stop(self, timeout: float = 20) -> None:
        if self.alive():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.popen.pid, signal.SIGTERM)
            try:
                self.popen.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.kill()

    def kill(self) -> None:
        """SIGKILL to the process and its children at once, as an out-of-memory kill would."""
        if self.popen is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.popen.pid, signal.SIGKILL)
            self.popen.wait(timeout=20)

    def tree(self) -> list[psutil.Process]:
        try:
            parent = psutil.Process(self.pid)
            return [parent, *parent.children(recursive=True)]
        except psutil.NoSuchProcess:
            return []


def wait_for(check, *, seconds: float, what: str, process: Process | None = None) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return
        if process is not None and not process.alive():
            raise RuntimeError(f"{what}: the process exited:\n{process.output()[-3000:]}")
        time.sleep(0.1)
    tail = process.output()[-3000:] if process is not None else ""
    raise RuntimeError(f"{what}: not ready after {seconds:.0f} s\n{tail}")


def web_server(env: dict[str, str], *, port: int, workers: int, kind: str = "wsgi") -> Process:
    """The site with DEBUG off and the bench URLconf (its baseline views): on uvicorn as production runs it
    (`asgi`: pages and API on each worker's pool of threads, event streams on its event loop), or on
    gunicorn's threaded WSGI workers (`wsgi`), for comparison."""
    if kind == "wsgi":
        command = [str(BIN / "gunicorn"), "fusionhub.wsgi:application", "--bind", f"127.0.0.1:{port}",
                   "--workers", str(workers), "--worker-class", "gthread", "--threads", "4",
                   "--graceful-timeout", "3"]  # fmt: skip
    else:
        command = [str(BIN / "uvicorn"), "fusionhub.asgi:application", "--host", "127.0.0.1", "--port", str(port),
                   "--workers", str(workers), "--no-access-log", "--timeout-graceful-shutdown", "3"]  # fmt: skip
    process = Process(f"web-{kind}", command, {**env, "DJANGO_SETTINGS_MODULE": "scripts.bench.settings"}).start()

    def ready() -> bool:
        try:
            request = urllib.request.Request(
                f"http://127.0.0.1:{port}/bench/baseline/feed/0/", headers={"X-Forwarded-Proto": "https"}
            )
            with urllib.request.urlopen(request, timeout=2) as response:  # noqa: S310  # nosec B310 - our server on loopback
                return response.status == 200
        except OSError:
            return False

    wait_for(ready, seconds=60, what="web server", process=process)
    # Every worker process answers before the measuring starts (each imports Django on its first request).
    for _ in range(workers * 10):
        ready()
    return process


def celery_worker(env: dict[str, str], *, name: str, queues: str = "default,fanout,sending,events") -> Process:
    """One Celery worker process (prefork pool of one), as the Procfile runs it."""
    command = [str(BIN / "celery"), "-A", "fusionhub", "worker", f"--hostname={name}@bench", f"--queues={queues}",
               "--pool=prefork", "--concurrency=1", "--loglevel=INFO", "--without-gossip",
               "--without-mingle"]  # fmt: skip
    process = Process(f"worker-{name}", command, env).start()
    wait_for(lambda: "ready." in process.output(), seconds=60, what=f"Celery worker {name}", process=process)
    return process


@contextlib.contextmanager
def workers(env: dict[str, str], count: int, *, prefix: str = "w") -> Iterator[list[Process]]:
    started = []
    try:
        for n in range(count):
            started.append(celery_worker(env, name=f"{prefix}{n + 1}"))
        yield started
    finally:
        for process in started:
            process.stop()


class PrivateRedis:
    """A redis-server of the bench's own, which the outage scenario may restart."""

    def __init__(self) -> None:
        self.port = spare_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: Process | None = None

    def start(self) -> None:
        command = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        self.process = Process("redis", command, dict(os.environ)).start()
        wait_for(lambda: answers(self.port), seconds=20, what="private Redis", process=self.process)

    def restart(self) -> float:
        """Stop it the way an outage would (its queues are lost) and start it again; returns the seconds down."""
        started = time.monotonic()
        self.process.kill()
        self.start()
        return time.monotonic() - started

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop()
