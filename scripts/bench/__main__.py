"""`make bench` (python -m scripts.bench): prepare the bench database (migrate, seed once at full size),
start the site as production runs it, run every scenario, print one table and the plans of the
heaviest queries, and save the run as JSON under bench-output/.

The bench has its own database and Redis database (BENCH_DATABASE_URL, BENCH_REDIS_URL), so it never
touches the tests' or `make run`'s; the outage scenario runs on a Redis server of its own.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import unquote, urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[2]
DATABASE_URL = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/fusionhub_bench_scale")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/10")
WEB_WORKERS = int(os.environ.get("BENCH_WEB_WORKERS", "2"))
SCENARIOS = ("feed", "search", "fanout", "live", "relay", "api", "scaleout", "outage")


def bench_environment() -> dict[str, str]:
    """Production settings (DEBUG off), on the bench's own stores, behind a TLS proxy as deployed."""
    return {
        **os.environ,
        "DATABASE_URL": DATABASE_URL,
        "REDIS_URL": REDIS_URL,
        "CELERY_BROKER_URL": REDIS_URL,
        "CELERY_RESULT_BACKEND": REDIS_URL,
        "DEBUG": "false",
        "SECRET_KEY": "bench-only-secret-key-never-used-for-a-real-site-0123456789",
        "BEHIND_TLS_PROXY": "true",
        "EMAIL_BACKEND": "django.core.mail.backends.dummy.EmailBackend",
        "LOG_LEVEL": "WARNING",
        "DJANGO_SETTINGS_MODULE": "scripts.bench.settings",
        "PYTHONPATH": str(ROOT),
    }


def step(message: str) -> None:
    print(f"==> {message}", flush=True)


def create_database(url: str) -> None:
    import psycopg2
    from psycopg2 import sql

    parts = urlsplit(url)
    name = unquote(parts.path.lstrip("/"))
    connection = psycopg2.connect(urlunsplit(parts._replace(scheme="postgresql", path="/postgres")))
    connection.autocommit = True
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
            if cursor.fetchone() is None:
                cursor.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    finally:
        connection.close()


def manage(env: dict[str, str], *arguments: str) -> None:
    subprocess.run([sys.executable, "manage.py", *arguments], cwd=ROOT, env=env, check=True)  # noqa: S603


def prepare(env: dict[str, str], scale: float) -> None:
    step(f"database: {DATABASE_URL}, Redis: {REDIS_URL}")
    create_database(DATABASE_URL)
    manage(env, "migrate", "--no-input", "-v0")
    step("region: seeding unless already seeded (seed_scale --if-missing)")
    manage(env, "seed_scale", "--if-missing", "--scale", str(scale))
    step("static files")
    manage(env, "collectstatic", "--no-input", "-v0", "--skip-checks")


def main() -> int:
    parser = argparse.ArgumentParser(prog="make bench", description=__doc__)
    parser.add_argument("--only", nargs="*", choices=SCENARIOS, help="Run only these scenarios.")
    parser.add_argument("--scale", type=float, default=float(os.environ.get("BENCH_SCALE", "1")))
    options = parser.parse_args()
    env = bench_environment()
    os.environ.update(env)
    started = time.monotonic()
    prepare(env, options.scale)

    import django

    django.setup()
    from . import explain, report, scenarios, stack

    chosen = options.only or list(SCENARIOS)
    step("cast: people, tokens and sessions of the scenarios")
    cast = scenarios.cast()
    rows: list[report.Row] = []
    port, wsgi_port = stack.spare_port(), stack.spare_port()
    base_url, wsgi_url = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{wsgi_port}"
    step(f"web: the site as production runs it, uvicorn ({WEB_WORKERS} workers: pages and API on each worker's pool "
         f"of threads, event streams on its event loop) at {base_url}; for comparison, gunicorn ({WEB_WORKERS} "
         f"threaded WSGI workers) at {wsgi_url}; DEBUG off")  # fmt: skip
    web = stack.web_server(env, port=port, workers=WEB_WORKERS, kind="asgi")
    wsgi = stack.web_server(env, port=wsgi_port, workers=WEB_WORKERS, kind="wsgi")
    runs = {
        "feed": lambda: scenarios.incident_feed(cast, base_url, wsgi_url),
        "search": lambda: scenarios.product_search(cast, base_url),
        "fanout": lambda: scenarios.fan_out(cast, env),
        "live": lambda: scenarios.live_feed(cast, port, port),
        "relay": lambda: scenarios.relay(cast, env),
        "api": lambda: scenarios.api_load(cast, base_url),
        "scaleout": lambda: scenarios.scale_out(cast, env),
    }
    try:
        for name in chosen:
            if name in runs:
                step(f"scenario: {name}")
                new = runs[name]()
                rows += new
                print(report.table(new), flush=True)
    finally:
        web.stop()
        wsgi.stop()
    if "outage" in chosen:
        step("scenario: outage (a Redis server of the bench's own, restarted; a worker killed)")
        rows += scenarios.outage(cast, env)
    step("plans of the heaviest queries at this size (EXPLAIN ANALYZE)")
    plans = explain.heaviest(cast, scenarios.search_terms()[0])
    for plan in plans:
        print(f"\n--- {plan.title}: {plan.verdict}\n{plan.text}")
    elapsed = time.monotonic() - started
    machine = report.machine() | {"postgresql": explain.server_version()}
    print()
    print(f"FusionHub bench, {machine['cpus']} cores, {machine['memory_gb']} GB, PostgreSQL "
          f"{machine['postgresql']}, Python {machine['python']}; uvicorn x{WEB_WORKERS}; "
          f"whole run {elapsed / 60:.1f} min")  # fmt: skip
    print(report.table(rows))
    path = report.write_json(
        rows, extra={"machine": machine, "web_workers": WEB_WORKERS, "seconds": round(elapsed),
                     "plans": [plan.as_dict() for plan in plans]},
    )  # fmt: skip
    print(f"\nSaved {path.relative_to(ROOT)} (and bench-output/latest.json).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
