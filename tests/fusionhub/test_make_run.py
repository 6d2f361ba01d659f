"""`make run` on a laptop without PostgreSQL or Redis: scripts/run.py starts embedded ones under the
data folder, the whole site comes up, Ctrl-C leaves nothing running, and a second run finds its data."""

import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.error import URLError
from urllib.request import urlopen

import pytest

ROOT = Path(__file__).resolve().parents[2]
STARTUP_SECONDS = 120
SHUTDOWN_SECONDS = 20

pytestmark = pytest.mark.skipif(not Path("/proc").is_dir(), reason="finds the site's processes through /proc")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def command_line(pid: int) -> str | None:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:  # gone
        return None


def processes_of(data_dir: Path) -> dict[int, str]:
    """Every live process started for this data folder: pid -> command line.

    They carry the folder in their environment, except where a server rewrote that memory for its
    process title (Redis does): those two servers are found by their pid files.
    """
    found = {}
    marker = f"\0FUSIONHUB_DATA_DIR={data_dir}\0".encode()
    for entry in Path("/proc").iterdir():
        with contextlib.suppress(OSError, ValueError):
            if marker in b"\0" + (entry / "environ").read_bytes():
                found[int(entry.name)] = command_line(int(entry.name)) or ""
    for pidfile in (data_dir / "postgres" / "postmaster.pid", data_dir / "redis" / "redis.pid"):
        with contextlib.suppress(OSError, ValueError):
            pid = int(pidfile.read_text().split()[0])
            if (command := command_line(pid)) and ("postgres" in command or "redis-server" in command):
                found[pid] = command
    return {pid: command for pid, command in found.items() if command}


def get(url: str) -> tuple[int, str, str]:
    with urlopen(url, timeout=5) as response:  # noqa: S310 (a loopback URL this test builds)
        return response.status, response.headers.get("Content-Type", ""), response.read().decode()


class Site:
    """scripts/run.py in its own process group, as a terminal would run `make run`."""

    def __init__(self, data_dir: Path, log_path: Path) -> None:
        self.data_dir = data_dir
        self.log_path = log_path
        self.port = free_port()
        environment = {
            name: value
            for name, value in os.environ.items()
            if name not in {"DATABASE_URL", "REDIS_URL", "DEBUG", "CELERY_BROKER_URL", "CELERY_RESULT_BACKEND"}
        }
        environment.update(
            FUSIONHUB_DATA_DIR=str(data_dir),
            # The usual PostgreSQL and Redis addresses, pointed where nothing answers, as on a bare laptop.
            FUSIONHUB_DEFAULT_PG=f"127.0.0.1:{free_port()}",
            FUSIONHUB_DEFAULT_REDIS=f"127.0.0.1:{free_port()}",
            PORT=str(self.port),
            WEB_WORKERS="1",
            CELERY_CONCURRENCY="1",
            PYTHONUNBUFFERED="1",
        )
        with log_path.open("wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, "scripts/run.py"],
                cwd=ROOT,
                env=environment,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_until_healthy(self) -> dict:
        deadline = time.monotonic() + STARTUP_SECONDS
        while time.monotonic() < deadline:
            assert self.process.poll() is None, f"run.py exited with {self.process.returncode}:\n{self.output}"
            try:
                status, _, body = get(f"{self.url}/healthz")
                if status == 200:
                    return json.loads(body)
            except (URLError, OSError):
                pass
            time.sleep(0.5)
        pytest.fail(f"/healthz did not answer 200 within {STARTUP_SECONDS} s:\n{self.output}")

    def press_ctrl_c(self) -> dict[int, str]:
        """SIGINT to the whole foreground group, as a terminal sends it; returns what is still running after."""
        os.killpg(self.process.pid, signal.SIGINT)
        deadline = time.monotonic() + SHUTDOWN_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None and not processes_of(self.data_dir):
                break
            time.sleep(0.2)
        return processes_of(self.data_dir)

    def kill_everything(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        for pid in processes_of(self.data_dir):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


def assert_site_answers(site: Site) -> None:
    status, _, page = get(f"{site.url}/sign-in/")
    assert status == 200
    assert "Sign in to FusionHub" in page
    stylesheets = re.findall(r'<link rel="stylesheet" href="([^"]+)"', page)
    assert any("uswds" in href for href in stylesheets)
    for href in stylesheets:
        status, content_type, css = get(f"{site.url}{href}")
        assert (status, content_type.split(";")[0]) == (200, "text/css")
        assert css.strip()


def test_make_run_on_a_bare_laptop_uses_embedded_postgres_and_redis_and_ctrl_c_stops_everything(tmp_path):
    data_dir = tmp_path / "data"
    site = Site(data_dir, tmp_path / "first-run.log")
    try:
        health = site.wait_until_healthy()
        assert health == {"status": "ok", "database": "up", "redis": "up", "celery": "up: 1 answered"}
        assert_site_answers(site)
        output = site.output
        assert f"using embedded PostgreSQL at {data_dir / 'postgres'} on port" in output
        assert f"using embedded Redis at {data_dir / 'redis'} on port" in output
        assert "creating database fusionhub" in output
        assert "Demo region ready" in output
        running = " | ".join(processes_of(data_dir).values())
        for program in ("pginstall/bin/postgres", "redis-server", "uvicorn", "celery -A fusionhub worker", "beat"):
            assert program in running

        assert site.press_ctrl_c() == {}
        assert (data_dir / "redis" / "dump.rdb").exists()  # Redis saved its data on the way out
    finally:
        site.kill_everything()

    second = Site(data_dir, tmp_path / "second-run.log")
    try:
        second.wait_until_healthy()
        output = second.output
        assert "using embedded PostgreSQL" in output
        assert "creating a PostgreSQL data folder" not in output
        assert "creating database" not in output
        assert "No migrations to apply." in output
        assert second.press_ctrl_c() == {}
    finally:
        second.kill_everything()
