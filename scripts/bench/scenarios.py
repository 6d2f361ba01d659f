"""The scenarios of `make bench`, each with the baseline it is compared with in the same run.

Runs in the bench process with Django set up against the bench database: it prepares people,
tokens and sessions the way the site would, drives the servers from outside over loopback, and
reads the outcome back from PostgreSQL.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import statistics
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from urllib.parse import urlencode

import psycopg2
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.db.models import Count
from django.utils import timezone
from knox.models import AuthToken

from agencies.models import Agency, Role, User
from dissemination.models import Delivery, Dispatch
from eoc.models import FeedEntry, Incident
from fusionhub import scale_text
from fusionhub.scale import FUSION_CENTER_ACRONYM
from sharing.models import ThreatProduct
from sharing.services import products as product_services

from . import live, load, stack
from .report import Row

PROXY = {"X-Forwarded-Proto": "https"}


@dataclass
class Cast:
    """The people the scenarios act as, and where they act."""

    coordinator: User
    coordinators: list[User]
    partner: User
    analyst: User
    supervisor: User
    eoc: Agency
    incident: Incident
    fan_out_agencies: list[Agency]
    tokens: dict[int, str] = field(default_factory=dict)

    def token(self, person: User) -> str:
        if person.pk not in self.tokens:
            AuthToken.objects.filter(user=person).delete()
            _, self.tokens[person.pk] = AuthToken.objects.create(user=person)
        return self.tokens[person.pk]

    def api_headers(self, person: User) -> dict[str, str]:
        return {"Authorization": f"Token {self.token(person)}", **PROXY}


def with_role(agency: Agency, role: Role) -> list[User]:
    return list(User.objects.filter(agency=agency, groups__name=role.label, is_active=True).order_by("pk"))


def cast() -> Cast:
    fusion_center = Agency.objects.get(acronym=FUSION_CENTER_ACRONYM)
    # The busiest open, real incident of a county EOC: a coordinator's everyday feed.
    incident = (
        Incident.objects.filter(is_exercise=False, lead_eoc__level=Agency.Level.LOCAL)
        .exclude(status=Incident.Status.CLOSED)
        .annotate(entries_count=Count("entries"))
        .order_by("-entries_count", "pk")
        .first()
    )
    eoc = incident.lead_eoc
    coordinators = with_role(eoc, Role.EOC_COORDINATOR)
    partner = (
        User.objects.filter(
            agency__level=Agency.Level.LOCAL,
            agency__discipline=Agency.Discipline.FIRE,
            groups__name=Role.PARTNER.label,
            is_law_enforcement=False,
        )
        .order_by("pk")
        .first()
    )
    supervisors = with_role(fusion_center, Role.SUPERVISOR)
    analysts = [p for p in with_role(fusion_center, Role.ANALYST) if p not in supervisors]
    # 500 agencies of 20 people each: the fan-out of one product to 10,000 people.
    sized = (
        Agency.objects.exclude(pk=fusion_center.pk)
        .annotate(people_count=Count("people"))
        .filter(people_count=20)
        .order_by("pk")[:500]
    )
    return Cast(
        coordinator=coordinators[0],
        coordinators=coordinators,
        partner=partner,
        analyst=analysts[0],
        supervisor=supervisors[0],
        eoc=eoc,
        incident=incident,
        fan_out_agencies=list(sized),
    )


def session_for(person: User) -> str:
    """A signed-in session of the person, as the sign-in page would leave it after both factors (the
    person's authenticator enrolled first if they have none); returns its key."""
    from django.contrib.sessions.backends.cached_db import SessionStore
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    device = TOTPDevice.objects.filter(user=person, confirmed=True).order_by("pk").first()
    if device is None:
        device = TOTPDevice.objects.create(user=person, name="Bench authenticator", confirmed=True)
    session = SessionStore()
    session[SESSION_KEY] = str(person.pk)
    session[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[0]
    session[HASH_SESSION_KEY] = person.get_session_auth_hash()
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.create()
    return session.session_key


def publish(cast: Cast, *, title: str, agencies: list[Agency], tlp: str = "amber") -> ThreatProduct:
    """A product through the fusion center's real workflow: draft, review, approval (which commits its dispatch)."""
    import random

    rng = random.Random(title)
    content = product_services.ProductContent(
        kind=ThreatProduct.Kind.SITUATIONAL_AWARENESS,
        title=title,
        summary=scale_text.paragraph(rng, 1),
        body=scale_text.product_body(rng),
        tlp=tlp,
        audience_agencies=agencies,
        tags=["bench"],
        release_reason="Partners in the audience protect the facilities named.",
    )
    product = product_services.create_product(author=cast.analyst, content=content)
    product = product_services.submit_for_review(product=product, by=cast.analyst)
    return product_services.approve_product(product=product, reviewer=cast.supervisor)


def dispatch_of(product: ThreatProduct) -> Dispatch:
    return Dispatch.objects.filter(item_type="sharing.threatproduct", item_id=product.pk).latest("pk")


def wait_fanned_out(dispatch_ids: list[int], *, timeout: float) -> float | None:
    """Seconds until every dispatch is fanned out (polled every 20 ms), or None on timeout."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        done = Dispatch.objects.filter(pk__in=dispatch_ids, state=Dispatch.State.FANNED_OUT).count()
        if done == len(dispatch_ids):
            return time.monotonic() - started
        time.sleep(0.02)
    return None


class PeakMemory:
    """Samples the largest resident set of a worker's processes, and reads their kernel high-water marks."""

    def __init__(self, processes: list[stack.Process]) -> None:
        self.processes = processes
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            for process in self.processes:
                for child in process.tree():
                    with contextlib.suppress(Exception):
                        self.peak = max(self.peak, child.memory_info().rss)
            time.sleep(0.02)

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    @property
    def megabytes(self) -> float:
        return self.peak / 2**20


# --- 1. Incident feed page -----------------------------------------------------------------------

LATENCY_CONNECTIONS = 4
LATENCY_SECONDS = 15


def incident_feed(cast: Cast, base_url: str, wsgi_url: str) -> list[Row]:
    path = f"/api/v1/incidents/{cast.incident.pk}/feed/?page_size=50"
    page = load.run_wrk(base_url, [path], cast.api_headers(cast.coordinator),
                        connections=LATENCY_CONNECTIONS, seconds=LATENCY_SECONDS)  # fmt: skip
    baseline = load.run_wrk(base_url, [f"/bench/baseline/feed/{cast.incident.pk}/"], PROXY,
                            connections=LATENCY_CONNECTIONS, seconds=LATENCY_SECONDS)  # fmt: skip
    on_wsgi = load.run_wrk(wsgi_url, [f"/bench/baseline/feed/{cast.incident.pk}/"], PROXY,
                           connections=LATENCY_CONNECTIONS, seconds=LATENCY_SECONDS)  # fmt: skip
    ratio = page.p95 / baseline.p95 if baseline.p95 else None
    return [
        Row(key="1-incident-feed", scenario="1. Incident feed page, 50 entries (EOC coordinator, API)",
            median_ms=page.median, p95_ms=page.p95, p99_ms=page.p99, throughput=page.throughput, errors=page.errors,
            ratio=ratio, ratio_of="p95", target="p95 < 50 ms and < 3x baseline",
            met=page.p95 < 50 and ratio is not None and ratio < 3 and page.errors == 0,
            details={"path": path, "connections": LATENCY_CONNECTIONS, **page.as_dict()}),
        Row(key="1-incident-feed-baseline", scenario="baseline: minimal view, one indexed query of 50 rows",
            median_ms=baseline.median, p95_ms=baseline.p95, p99_ms=baseline.p99, throughput=baseline.throughput,
            errors=baseline.errors, details=baseline.as_dict()),
        Row(key="1-wsgi-baseline", scenario="the same minimal view on gunicorn (WSGI), for comparison",
            median_ms=on_wsgi.median, p95_ms=on_wsgi.p95, p99_ms=on_wsgi.p99, throughput=on_wsgi.throughput,
            errors=on_wsgi.errors, ratio=on_wsgi.p95 / baseline.p95 if baseline.p95 else None,
            ratio_of="p95 vs uvicorn", note="production serves pages on uvicorn's worker threads, which keep their "
            "database connections (fusionhub/asgi.py); gunicorn's threaded workers do the same",
            details=on_wsgi.as_dict()),
    ]  # fmt: skip


# --- 2. Product search ----------------------------------------------------------------------------

SEARCH_SQL = """
    SELECT id, title FROM sharing_threatproduct
    WHERE search_vector @@ websearch_to_tsquery('english', %(q)s)
    ORDER BY ts_rank(search_vector, websearch_to_tsquery('english', %(q)s)) DESC LIMIT 50
"""


def search_terms(count: int = 40) -> list[str]:
    import random

    return scale_text.search_terms(random.Random(7), count)


def product_search(cast: Cast, base_url: str) -> list[Row]:
    terms = search_terms()
    paths = [f"/api/v1/products/?{urlencode({'q': term})}" for term in terms]
    search = load.run_wrk(base_url, paths, cast.api_headers(cast.partner),
                          connections=LATENCY_CONNECTIONS, seconds=LATENCY_SECONDS)  # fmt: skip
    connections = [psycopg2.connect(database_dsn()) for _ in range(LATENCY_CONNECTIONS)]

    def query(n: int) -> None:
        with connections[n % LATENCY_CONNECTIONS].cursor() as cursor:
            cursor.execute(SEARCH_SQL, {"q": terms[n % len(terms)]})
            cursor.fetchall()

    try:
        baseline = load.run_loop(query, threads=LATENCY_CONNECTIONS, seconds=LATENCY_SECONDS)
    finally:
        for conn in connections:
            conn.close()
    ratio = search.p95 / baseline.p95 if baseline.p95 else None
    count = ThreatProduct.objects.filter(state=ThreatProduct.State.PUBLISHED).count()
    return [
        Row(key="2-product-search", scenario=f"2. Product search, two words, at {count:,} products (local partner)",
            median_ms=search.median, p95_ms=search.p95, p99_ms=search.p99, throughput=search.throughput,
            errors=search.errors, ratio=ratio, ratio_of="p95", target="p95 < 150 ms",
            met=search.p95 < 150 and search.errors == 0,
            details={"terms": terms[:5], "connections": LATENCY_CONNECTIONS, **search.as_dict()}),
        Row(key="2-product-search-baseline", scenario="baseline: the same tsquery run directly in PostgreSQL",
            median_ms=baseline.median, p95_ms=baseline.p95, p99_ms=baseline.p99, throughput=baseline.throughput,
            unit="q", errors=baseline.errors, details=baseline.as_dict()),
    ]  # fmt: skip


def database_dsn() -> str:
    db = settings.DATABASES["default"]
    return f"dbname={db['NAME']} user={db['USER']} host={db['HOST'] or '127.0.0.1'} port={db['PORT'] or 5432}"


# --- 3. Fan-out -----------------------------------------------------------------------------------


def copy_baseline(dispatch: Dispatch, cast: Cast) -> tuple[float, int]:
    """COPY the very rows the fan-out wrote, under a dispatch of their own, into the same table."""
    rows = list(
        Delivery.objects.filter(dispatch=dispatch).values_list("channel", "recipient_id", "is_full_text", "state")
    )
    twin = Dispatch.objects.create(
        item_type=dispatch.item_type,
        item_id=dispatch.item_id,
        action=dispatch.action,
        state=Dispatch.State.FANNED_OUT,
        originating_agency_id=dispatch.originating_agency_id,
        created_by_id=dispatch.created_by_id,
    )
    now = timezone.now().isoformat()
    buffer = io.StringIO()
    for channel, recipient, full, state in rows:
        sent = now if state == Delivery.State.SENT else "\\N"
        buffer.write(f"{twin.pk},{channel},{recipient},{'t' if full else 'f'},{state},{now},{sent},0,\n")
    data = buffer.getvalue()
    conn = psycopg2.connect(database_dsn())
    try:
        started = time.monotonic()
        with conn.cursor() as cursor:
            cursor.copy_expert(
                "COPY dissemination_delivery (dispatch_id, channel, recipient_id, is_full_text, state, created_at,"
                " sent_at, attempts, last_error) FROM STDIN WITH (FORMAT csv, NULL '\\N')",
                io.StringIO(data),
            )
        conn.commit()
        seconds = time.monotonic() - started
        with conn.cursor() as cursor:
            cursor.execute("DELETE FROM dissemination_delivery WHERE dispatch_id = %s", [twin.pk])
            cursor.execute("DELETE FROM dissemination_dispatch WHERE id = %s", [twin.pk])
        conn.commit()
    finally:
        conn.close()
    return seconds, len(rows)


def fan_out(cast: Cast, env: dict[str, str]) -> list[Row]:
    with stack.workers(env, 1, prefix="fanout") as running, PeakMemory(running) as memory:
        product = publish(cast, title=f"Bench fan-out {timezone.now():%H%M%S}", agencies=cast.fan_out_agencies)
        committed = time.monotonic()
        dispatch = dispatch_of(product)
        seconds = wait_fanned_out([dispatch.pk], timeout=300)
        # The last inbox delivery: the newest inbox row's commit is what the poll saw.
        dispatch.refresh_from_db()
    inbox = Delivery.objects.filter(dispatch=dispatch, channel=Delivery.Channel.INBOX).count()
    total = Delivery.objects.filter(dispatch=dispatch).count()
    copy_seconds, copied = copy_baseline(dispatch, cast)
    del committed
    ratio = seconds / copy_seconds if seconds and copy_seconds else None
    met = seconds is not None and seconds < 5 and ratio is not None and ratio < 4 and memory.megabytes < 300
    return [
        Row(key="3-fan-out", scenario=f"3. Fan-out of one product to {inbox:,} people ({total:,} delivery rows)",
            median_ms=seconds * 1000 if seconds else None, throughput=total / seconds if seconds else None,
            unit="rows", errors=0 if seconds else 1, ratio=ratio, ratio_of="time",
            target="< 5 s commit→last inbox, < 4x COPY, worker < 300 MB", met=met,
            note=f"worker peak memory {memory.megabytes:.0f} MB; one worker process",
            details={"seconds": seconds, "inbox": inbox, "rows": total, "peak_rss_mb": round(memory.megabytes, 1)}),
        Row(key="3-fan-out-baseline", scenario="baseline: COPY of the same delivery rows",
            median_ms=copy_seconds * 1000, throughput=copied / copy_seconds, unit="rows", errors=0,
            details={"seconds": copy_seconds, "rows": copied}),
    ]  # fmt: skip


# --- 4. Live feed ---------------------------------------------------------------------------------

LIVE_CLIENTS = 200
LIVE_POSTS = 10


async def _live(
    cast: Cast, port: int, api_port: int, cookies: list[str], headers: dict
) -> tuple[list[float], dict, int]:
    """Seconds from each POST to its entry's arrival in each open stream. An arrival that never came
    is missing (an error) and counts in the percentiles at the time waited for it, a lower bound."""
    arrivals = live.Arrivals()
    path = f"/incidents/{cast.incident.pk}/feed/stream/?after=999999999999"
    clients = await live.open_streams(port, path, cookies, LIVE_CLIENTS, arrivals)
    listening = [c.number for c in clients if not c.failed]
    refusals = sorted({c.failed for c in clients if c.failed})
    sent: dict[int, float] = {}
    refused_posts: list[str] = []
    import json

    for n in range(LIVE_POSTS):
        body = json.dumps({"kind": "situation_update", "title": f"Bench live update {n}", "body": "Levee holding."})
        started = time.monotonic()
        status, payload = await live.request(api_port, "POST", f"/api/v1/incidents/{cast.incident.pk}/feed/", headers,
                                             body.encode())  # fmt: skip
        if status == 201:
            sent[json.loads(payload)["id"]] = started
        else:
            refused_posts.append(f"{status}: {payload[:200].decode(errors='replace')}")
        await asyncio.sleep(1.0)
    await asyncio.sleep(3.0)
    stopped = time.monotonic()
    await live.close_streams(clients)
    delays, missing, per_entry = [], 0, []
    for entry_id, at in sent.items():
        got = arrivals.by_entry.get(entry_id, {})
        mine = []
        for number in listening:
            arrived = got.get(number)
            if arrived is None:
                missing += 1
            mine.append(((stopped if arrived is None else arrived) - at) * 1000)
        delays += mine
        per_entry.append([round(min(mine)), round(statistics.median(mine)), round(max(mine))] if mine else [])
    failures = {"streams_refused": LIVE_CLIENTS - len(listening), "stream_refusals": refusals,
                "posts_refused": refused_posts, "duplicate_arrivals": arrivals.duplicates,
                "per_entry_min_median_max_ms": per_entry}  # fmt: skip
    return delays, failures, missing


def live_feed(cast: Cast, port: int, api_port: int) -> list[Row]:
    """Open streams on the ASGI server; entries POSTed to the API on the WSGI server, as deployed."""
    cookies = [session_for(person) for person in cast.coordinators]
    started = time.monotonic()
    headers = {**cast.api_headers(cast.coordinator), "Content-Type": "application/json"}
    delays, failures, missing = asyncio.run(_live(cast, port, api_port, cookies, headers))
    refused = failures["streams_refused"] + len(failures["posts_refused"])
    measured = load.from_samples(delays, time.monotonic() - started, refused + missing)
    baseline_delays = asyncio.run(live.redis_baseline(settings.REDIS_URL, LIVE_CLIENTS, LIVE_POSTS))
    baseline = load.from_samples([d * 1000 for d in baseline_delays], 0)
    ratio = measured.p99 / baseline.p99 if baseline.p99 else None
    return [
        Row(key="4-live-feed", scenario=f"4. Live feed: POST → arrival in {LIVE_CLIENTS} open streams",
            median_ms=measured.median, p95_ms=measured.p95, p99_ms=measured.p99, errors=measured.errors,
            ratio=ratio, ratio_of="p99", target="p99 < 2 s", met=measured.p99 < 2000 and measured.errors == 0,
            note=f"{LIVE_POSTS} entries x {LIVE_CLIENTS} streams; errors = streams or posts refused + arrivals "
                 f"missing ({refused} + {missing}; a missing arrival counts in the percentiles at the time waited)",
            details={**failures, "missing_arrivals": missing, **measured.as_dict()}),
        Row(key="4-live-feed-baseline", scenario=f"baseline: bare Redis PUBLISH to {LIVE_CLIENTS} subscribers",
            median_ms=baseline.median, p95_ms=baseline.p95, p99_ms=baseline.p99, errors=0,
            details=baseline.as_dict()),
    ]  # fmt: skip


# --- 5. Publish → relay → EOC feed ----------------------------------------------------------------


def liaison_available() -> bool:
    try:
        from liaison import models
    except ImportError:
        return False
    return hasattr(models, "RoutingRule")


def relay_rule(cast: Cast):
    from liaison.models import RoutingRule

    fusion_center = cast.analyst.agency
    rule = RoutingRule.objects.filter(fusion_center=fusion_center, target_eoc=cast.eoc, name="Bench relay").first()
    if rule is None:
        rule = RoutingRule(name="Bench relay", fusion_center=fusion_center, target_eoc=cast.eoc,
                           created_by=cast.supervisor)  # fmt: skip
    for name, value in {"mode": "automatic", "when": "always", "direction": "to_eoc", "is_active": True}.items():
        if hasattr(rule, name):
            setattr(rule, name, value)
    rule.save()
    return rule


def relay(cast: Cast, env: dict[str, str], rounds: int = 5) -> list[Row]:
    name = "5. Publish → relay → EOC feed (liaison rule)"
    if not liaison_available():
        return [Row(key="5-relay", scenario=name, target="< 3 s", note="not available: liaison has no RoutingRule yet")]
    relay_rule(cast)
    delays, errors = [], 0
    with stack.workers(env, 2, prefix="relay"):
        for n in range(rounds):
            product = publish(cast, title=f"Bench relay {n} {timezone.now():%H%M%S}", agencies=[cast.eoc])
            started = time.monotonic()
            while time.monotonic() - started < 30:
                if FeedEntry.objects.filter(source_type="sharing.threatproduct", source_id=product.pk).exists():
                    delays.append((time.monotonic() - started) * 1000)
                    break
                time.sleep(0.02)
            else:
                errors += 1
    measured = load.from_samples(delays, 0, errors)
    return [
        Row(key="5-relay", scenario=name, median_ms=measured.median, p95_ms=measured.p95, p99_ms=measured.p99,
            errors=errors, target="< 3 s", met=bool(delays) and measured.p99 < 3000 and errors == 0,
            note=f"{rounds} products, each timed from approval commit to the relayed feed entry",
            details=measured.as_dict()),
    ]  # fmt: skip


# --- 6. API list endpoints under load -------------------------------------------------------------

API_CONNECTIONS = 50
API_SECONDS = 60


def api_paths(cast: Cast) -> list[str]:
    return [
        "/api/v1/incidents/",
        f"/api/v1/incidents/{cast.incident.pk}/feed/",
        "/api/v1/products/",
        "/api/v1/inbox/",
        "/api/v1/agencies/",
        "/api/v1/tasks/",
        "/api/v1/rfis/",
    ]


def api_load(cast: Cast, base_url: str, seconds: int = API_SECONDS) -> list[Row]:
    measured = load.run_wrk(base_url, api_paths(cast), cast.api_headers(cast.coordinator),
                            connections=API_CONNECTIONS, seconds=seconds)  # fmt: skip
    return [
        Row(key="6-api-load", scenario=f"6. API list endpoints, {API_CONNECTIONS} clients for {seconds} s",
            median_ms=measured.median, p95_ms=measured.p95, p99_ms=measured.p99, throughput=measured.throughput,
            errors=measured.errors, target="zero errors", met=measured.errors == 0,
            details={"paths": api_paths(cast), **measured.as_dict()}),
    ]  # fmt: skip


# --- 7. Scale-out of fan-out ----------------------------------------------------------------------

SCALE_OUT_DISPATCHES = 4


def scale_out(cast: Cast, env: dict[str, str]) -> list[Row]:
    rows, single = [], None
    for count in (1, 2, 4):
        with stack.workers(env, count, prefix=f"scale{count}-"):
            products = []
            started = time.monotonic()
            for n in range(SCALE_OUT_DISPATCHES):
                products.append(publish(cast, title=f"Bench scale-out {count}/{n} {timezone.now():%H%M%S}",
                                        agencies=cast.fan_out_agencies))  # fmt: skip
            ids = [dispatch_of(p).pk for p in products]
            waited = wait_fanned_out(ids, timeout=600)
            seconds = time.monotonic() - started if waited is not None else None
        delivered = Delivery.objects.filter(dispatch_id__in=ids).count()
        rate = delivered / seconds if seconds else None
        single = single or rate
        rows.append(Row(
            key=f"7-scale-out-{count}", scenario=f"7. Fan-out scale-out: {count} worker process{'es' * (count > 1)}",
            median_ms=seconds * 1000 if seconds else None, throughput=rate, unit="deliveries",
            errors=0 if seconds else 1, ratio=rate / single if rate and single else None, ratio_of="vs 1 worker",
            details={"dispatches": SCALE_OUT_DISPATCHES, "rows": delivered, "seconds": seconds},
            note="on 2 cores the gain stops near 2 workers: PostgreSQL and the workers share the same two cores"
            if count == 4 else "",
        ))  # fmt: skip
    return rows


# --- 8. Outage: Redis restarted and a worker killed under API load --------------------------------


def healthy(base_url: str) -> bool:
    request = urllib.request.Request(f"{base_url}/healthz", headers=PROXY)  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=2) as response:  # noqa: S310  # nosec B310 - our server on loopback
            return response.status == 200
    except OSError:
        return False


def outage(cast: Cast, env: dict[str, str], seconds: int = 40) -> list[Row]:
    """The site on a Redis of its own, restarted once (queues lost) while a worker is killed once."""
    import subprocess
    import sys

    redis = stack.PrivateRedis()
    redis.start()
    outage_env = {**env, "REDIS_URL": redis.url, "CELERY_BROKER_URL": redis.url, "CELERY_RESULT_BACKEND": redis.url}
    port = stack.spare_port()
    base_url = f"http://127.0.0.1:{port}"
    web = stack.web_server(outage_env, port=port, workers=2, kind="asgi")
    worker_a = stack.celery_worker(outage_env, name="outage-a")
    worker_b = stack.celery_worker(outage_env, name="outage-b")
    publisher_command = [sys.executable, "-m", "scripts.bench.publisher", "--analyst", str(cast.analyst.pk),
                         "--supervisor", str(cast.supervisor.pk),
                         "--agencies", *[str(a.pk) for a in cast.fan_out_agencies]]  # fmt: skip
    events: dict[str, float] = {}
    result: dict = {}
    dispatch_ids: list[int] = []

    def load_thread() -> None:
        result["load"] = load.run_wrk(base_url, api_paths(cast), cast.api_headers(cast.coordinator),
                                      connections=API_CONNECTIONS, seconds=seconds)  # fmt: skip

    cast.token(cast.coordinator)
    loader = threading.Thread(target=load_thread)
    publisher = subprocess.Popen(  # noqa: S603
        [*publisher_command, "--seconds", str(seconds - 8)], cwd=stack.ROOT, env=outage_env,
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )  # fmt: skip
    started = time.monotonic()
    try:
        loader.start()
        time.sleep(seconds * 0.25)
        events["redis_down_s"] = redis.restart()
        back = time.monotonic()
        while not healthy(base_url) and time.monotonic() - back < 60:
            time.sleep(0.1)
        events["recovered_s"] = time.monotonic() - back
        time.sleep(max(0.0, seconds * 0.5 - (time.monotonic() - started)))
        worker_a.kill()
        events["worker_killed_at_s"] = time.monotonic() - started
        worker_a = stack.celery_worker(outage_env, name="outage-a2")
        output, _ = publisher.communicate(timeout=seconds + 120)
        loader.join()
        dispatch_ids = [int(line.split()[1]) for line in output.splitlines() if line.startswith("dispatch ")]
        events["publish_errors"] = sum(1 for line in output.splitlines() if line.startswith("error "))
        # What the outage lost (queued tasks, the killed worker's task) the sweep finds; run here at
        # once rather than after its grace period.
        subprocess.run([*publisher_command, "--sweep", *map(str, dispatch_ids)], cwd=stack.ROOT,  # noqa: S603
                       env=outage_env, check=False, timeout=240)  # fmt: skip
    finally:
        if publisher.poll() is None:
            publisher.kill()
        if loader.is_alive():
            loader.join()
        for process in (worker_a, worker_b, web):
            process.stop()
        redis.stop()
    return [_outage_row(result.get("load"), events, dispatch_ids)]


def _outage_row(measured, events: dict, dispatch_ids: list[int]) -> Row:
    from agencies.visibility import recipients_of

    exact, problems = 0, []
    for dispatch in Dispatch.objects.filter(pk__in=dispatch_ids):
        item = ThreatProduct.objects.get(pk=dispatch.item_id)
        expected = recipients_of(item).count()
        inbox = Delivery.objects.filter(dispatch=dispatch, channel=Delivery.Channel.INBOX)
        got, distinct = inbox.count(), inbox.values("recipient_id").distinct().count()
        if dispatch.state == Dispatch.State.FANNED_OUT and got == expected == distinct:
            exact += 1
        else:
            problems.append(f"dispatch {dispatch.pk}: {got} of {expected} ({distinct} distinct), {dispatch.state}")
    recovered = events.get("recovered_s")
    errors = measured.errors if measured else None
    met = measured is not None and recovered is not None and recovered <= 5 and exact == len(dispatch_ids)
    note = (f"Redis restarted (down {events.get('redis_down_s', 0):.1f} s), site healthy again {recovered:.1f} s "
            f"later; a worker killed at {events.get('worker_killed_at_s', 0):.0f} s; {exact}/{len(dispatch_ids)} "
            f"dispatches delivered exactly once; {events.get('publish_errors', 0)} publishes refused"
            if recovered is not None else "Redis was not restarted")  # fmt: skip
    if measured is not None and measured.errors:
        kinds = ", ".join(f"{count} {kind}" for kind, count in measured.error_kinds.items())
        note += f"; errors: {kinds} (wrk gives up on a request after 10 s)"
    if problems:
        note += "; " + "; ".join(problems[:3])
    return Row(
        key="8-outage", scenario="8. API load while Redis restarts and a worker is killed",
        median_ms=measured.median if measured else None, p95_ms=measured.p95 if measured else None,
        p99_ms=measured.p99 if measured else None, throughput=measured.throughput if measured else None,
        errors=errors, target="answers go on, healthy < 5 s, every dispatch exactly once", met=met, note=note,
        details={"events": events, "dispatches": len(dispatch_ids), "exactly_once": exact, "problems": problems,
                 **(measured.as_dict() if measured else {})},
    )  # fmt: skip
