"""A region of realistic size for `make bench`, written straight into the tables with COPY.

Seeding is a tool, not a domain write: it streams generated CSV into PostgreSQL (COPY ... FROM
STDIN) with explicit ids, so that millions of rows take minutes, and leaves every table, index
and constraint as the migrations made them. `manage.py seed_scale` runs it.
"""

from __future__ import annotations

import csv
import io
import random
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, fields, replace
from datetime import datetime, timedelta

from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group
from django.db import connection, transaction
from django.utils import timezone

from agencies.models import Agency, Jurisdiction, Role, User
from dissemination.models import Delivery, Dispatch
from eoc.models import FeedEntry, Incident
from sharing.models import ProductNumberSequence, ThreatProduct

from . import scale_text as text

# The fusion center of the seeded region: its presence says the region is there.
FUSION_CENTER_ACRONYM = "BENCH-FC"
STATE_FIPS = "99"  # not a real state, so a seeded region never collides with real FIPS codes
SEED = 20260
# COPY reads this as NULL; an empty field is an empty string.
NULL = "\\N"


@dataclass(frozen=True)
class Sizes:
    agencies: int = 1_000
    people: int = 20_000
    products: int = 200_000
    incidents: int = 2_000
    feed_entries: int = 2_000_000
    deliveries: int = 2_000_000

    def scaled(self, factor: float) -> Sizes:
        """Every size times `factor`, keeping enough agencies and people for every role."""
        values = {f.name: max(1, round(getattr(self, f.name) * factor)) for f in fields(self)}
        values["agencies"] = max(values["agencies"], 12)
        values["people"] = max(values["people"], values["agencies"] * 4)
        return replace(self, **values)


class Progress:
    """A one-line progress bar on stderr (a plain line per step when not on a terminal)."""

    def __init__(self, label: str, total: int, stream=None) -> None:
        self.label, self.total, self.done = label, max(total, 1), 0
        self.stream = stream or sys.stderr
        self.started = self.shown_at = time.monotonic()
        self.is_tty = hasattr(self.stream, "isatty") and self.stream.isatty()

    def advance(self, count: int = 1) -> None:
        self.done += count
        now = time.monotonic()
        if self.is_tty and (now - self.shown_at > 0.2 or self.done >= self.total):
            self.shown_at = now
            self._draw(end="")

    def _draw(self, end: str) -> None:
        share = min(self.done / self.total, 1.0)
        bar = "#" * int(share * 30)
        elapsed = time.monotonic() - self.started
        rate = self.done / elapsed if elapsed else 0
        line = f"\r  {self.label:<24} [{bar:<30}] {share:4.0%} {self.done:>10,}/{self.total:,} {rate:>9,.0f}/s"
        self.stream.write(line + end)
        self.stream.flush()

    def close(self) -> float:
        elapsed = time.monotonic() - self.started
        if self.is_tty:
            self._draw(end="\n")
        else:
            self.stream.write(f"  {self.label}: {self.done:,} rows in {elapsed:.1f} s\n")
            self.stream.flush()
        return elapsed


class CsvStream(io.RawIOBase):
    """A file whose read() yields CSV of the rows of an iterator: what COPY FROM STDIN reads."""

    def __init__(self, rows: Iterable[tuple], progress: Progress | None = None) -> None:
        self.rows = iter(rows)
        self.progress = progress
        self.buffer = b""
        self.text = io.StringIO()
        self.writer = csv.writer(self.text, lineterminator="\n")

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        want = size if size and size > 0 else 1 << 20
        while len(self.buffer) < want:
            chunk = []
            for _ in range(1000):
                row = next(self.rows, None)
                if row is None:
                    break
                chunk.append(row)
            if not chunk:
                break
            self.text.seek(0)
            self.text.truncate()
            self.writer.writerows(chunk)
            self.buffer += self.text.getvalue().encode()
            if self.progress:
                self.progress.advance(len(chunk))
        data, self.buffer = self.buffer[:want], self.buffer[want:]
        return data


def pg_array(values: Iterable[str]) -> str:
    return "{" + ",".join(values) + "}"


def copy_rows(table: str, columns: list[str], rows: Iterable[tuple], *, label: str, total: int) -> float:
    """COPY the rows into the table; returns the seconds it took."""
    progress = Progress(label, total)
    sql = f"COPY {table} ({', '.join(columns)}) FROM STDIN WITH (FORMAT csv, NULL '\\N')"
    with connection.cursor() as cursor:
        cursor.cursor.copy_expert(sql, CsvStream(rows, progress), size=1 << 18)
    return progress.close()


def next_ids(model) -> int:
    """The first free id of a model's table (rows are written with explicit ids)."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT COALESCE(MAX(id), 0) + 1 FROM {model._meta.db_table}")  # noqa: S608  # nosec B608 - our own tables
        return cursor.fetchone()[0]


def reset_sequences(*models) -> None:
    with connection.cursor() as cursor:
        for model in models:
            table = model._meta.db_table
            cursor.execute(
                f"SELECT setval(pg_get_serial_sequence(%s, 'id'), COALESCE((SELECT MAX(id) FROM {table}), 1))",  # noqa: S608  # nosec B608 - our own tables
                [table],
            )


def ts(value: datetime) -> str:
    return value.isoformat()


@dataclass
class Region:
    """Ids of what was seeded, for the steps that follow."""

    fusion_center: int
    state: int
    counties: list[int]
    agencies: list[tuple[int, str, str, str, int]]  # id, kind, level, discipline, jurisdiction id
    eocs: list[int]
    people_by_agency: dict[int, list[int]]
    analysts: list[int]
    supervisors: list[int]


AGENCY_MIX = [
    # (kind, discipline, share)
    (Agency.Kind.LAW_ENFORCEMENT, Agency.Discipline.LAW_ENFORCEMENT, 0.32),
    (Agency.Kind.FIRE, Agency.Discipline.FIRE, 0.18),
    (Agency.Kind.EMS, Agency.Discipline.EMS, 0.10),
    (Agency.Kind.PUBLIC_HEALTH, Agency.Discipline.PUBLIC_HEALTH, 0.06),
    (Agency.Kind.PUBLIC_WORKS, Agency.Discipline.PUBLIC_WORKS, 0.08),
    (Agency.Kind.CRITICAL_INFRASTRUCTURE, Agency.Discipline.CRITICAL_INFRASTRUCTURE, 0.08),
    (Agency.Kind.OTHER, Agency.Discipline.EDUCATION, 0.04),
    (Agency.Kind.OTHER, Agency.Discipline.TRANSPORTATION, 0.04),
]


def seed_jurisdictions(rng: random.Random, counties: int) -> tuple[int, list[int], list[int]]:
    first = next_ids(Jurisdiction)
    state = first
    rows = [(state, "Bench State", Jurisdiction.Kind.STATE, STATE_FIPS, f"/{state}/", NULL)]
    county_ids, city_ids = [], []
    for n in range(counties):
        county = first + 1 + n
        county_ids.append(county)
        name = f"{text.PLACE_NAMES[n % len(text.PLACE_NAMES)]} County" + (f" {n // 70 + 1}" if n >= 70 else "")
        rows.append(
            (county, name, Jurisdiction.Kind.COUNTY, f"{STATE_FIPS}{n * 2 + 1:03d}", f"/{state}/{county}/", state)
        )
    for n, county in enumerate(county_ids):
        city = first + 1 + counties + n
        city_ids.append(city)
        rows.append((city, f"City of {text.PLACE_NAMES[(n + 7) % len(text.PLACE_NAMES)]} {n + 1}",
                     Jurisdiction.Kind.CITY, "", f"/{state}/{county}/{city}/", county))  # fmt: skip
    columns = ["id", "name", "kind", "fips_code", "path", "parent_id"]
    copy_rows(Jurisdiction._meta.db_table, columns, rows, label="jurisdictions", total=len(rows))
    return state, county_ids, city_ids


def seed_agencies(rng: random.Random, sizes: Sizes, state: int, counties: list[int], cities: list[int]) -> list:
    first = next_ids(Agency)
    agencies = [(first, Agency.Kind.FUSION_CENTER, Agency.Level.STATE, Agency.Discipline.HOMELAND_SECURITY, state)]
    eoc_count = max(2, round(sizes.agencies * 0.12))
    agencies.append((first + 1, Agency.Kind.EOC, Agency.Level.STATE, Agency.Discipline.EMERGENCY_MANAGEMENT, state))
    for n in range(eoc_count - 1):
        place = counties[n % len(counties)] if n < len(counties) else cities[n % len(cities)]
        agencies.append((first + len(agencies), Agency.Kind.EOC, Agency.Level.LOCAL,
                         Agency.Discipline.EMERGENCY_MANAGEMENT, place))  # fmt: skip
    kinds, disciplines, weights = zip(*AGENCY_MIX, strict=True)
    while len(agencies) < sizes.agencies:
        index = rng.choices(range(len(kinds)), weights=weights)[0]
        level = rng.choices(
            [Agency.Level.LOCAL, Agency.Level.STATE, Agency.Level.FEDERAL, Agency.Level.TRIBAL,
             Agency.Level.PRIVATE_SECTOR], weights=[70, 12, 6, 2, 10])[0]  # fmt: skip
        place = state if level != Agency.Level.LOCAL else rng.choice(counties + cities)
        agencies.append((first + len(agencies), kinds[index], level, disciplines[index], place))

    def rows() -> Iterator[tuple]:
        for number, (pk, kind, level, discipline, jurisdiction) in enumerate(agencies):
            if number == 0:
                acronym, name = FUSION_CENTER_ACRONYM, "Bench State Fusion Center"
            else:
                acronym = f"BA-{number:04d}"
                name = f"{text.PLACE_NAMES[number % len(text.PLACE_NAMES)]} {Agency.Kind(kind).label} {number}"
            yield (pk, name, acronym, level, kind, discipline, f"watch@{acronym.lower()}.example.gov", "", True,
                   jurisdiction, True)  # fmt: skip

    columns = ["id", "name", "acronym", "level", "kind", "discipline", "email", "phone", "is_active", "jurisdiction_id",
               "accepts_recovery_codes"]  # fmt: skip
    copy_rows(Agency._meta.db_table, columns, rows(), label="agencies", total=len(agencies))
    return agencies


def roles_for(kind: str, position: int) -> list[Role]:
    """The roles of an agency's n-th person, as a real agency would have them."""
    if kind == Agency.Kind.FUSION_CENTER:
        return [Role.SUPERVISOR, Role.ANALYST] if position % 4 == 3 else [Role.ANALYST]
    if kind == Agency.Kind.EOC:
        return {0: [Role.AGENCY_ADMIN], 1: [Role.LIAISON_OFFICER]}.get(position, [Role.EOC_COORDINATOR])
    return [Role.AGENCY_ADMIN] if position == 0 else [Role.PARTNER]


def seed_people(rng: random.Random, sizes: Sizes, agencies: list, now: datetime) -> tuple[dict, list, list]:
    first = next_ids(User)
    groups = {Role.from_group_name(g.name): g.pk for g in Group.objects.all()}
    password = make_password("bench-password-not-for-sign-in")
    people_by_agency: dict[int, list[int]] = {}
    analysts, supervisors = [], []
    per_agency, extra = divmod(sizes.people, len(agencies))
    memberships: list[tuple[int, int]] = []

    def rows() -> Iterator[tuple]:
        pk = first
        for number, (agency_id, kind, _level, discipline, _place) in enumerate(agencies):
            acronym = FUSION_CENTER_ACRONYM if number == 0 else f"BA-{number:04d}"
            for position in range(per_agency + (1 if number < extra else 0)):
                roles = roles_for(kind, position)
                people_by_agency.setdefault(agency_id, []).append(pk)
                for role in roles:
                    memberships.append((pk, groups[role]))
                if Role.ANALYST in roles:
                    analysts.append(pk)
                if Role.SUPERVISOR in roles:
                    supervisors.append(pk)
                first_name, last_name = rng.choice(text.FIRST_NAMES), rng.choice(text.LAST_NAMES)
                username = f"{acronym.lower()}.{position:03d}"
                is_law_enforcement = (
                    discipline == Agency.Discipline.LAW_ENFORCEMENT or kind == Agency.Kind.FUSION_CENTER
                )
                yield (pk, password, NULL, False, username, first_name, last_name,
                       f"{username}@{acronym.lower()}.example.gov", Role.AGENCY_ADMIN in roles, True, ts(now),
                       roles[0].label, "", is_law_enforcement, agency_id)  # fmt: skip
                pk += 1

    columns = ["id", "password", "last_login", "is_superuser", "username", "first_name", "last_name", "email",
               "is_staff", "is_active", "date_joined", "title", "phone", "is_law_enforcement", "agency_id"]  # fmt: skip
    copy_rows(User._meta.db_table, columns, rows(), label="people", total=sizes.people)
    first_membership = next_ids(User.groups.through)
    copy_rows(User.groups.through._meta.db_table, ["id", "user_id", "group_id"],
              ((first_membership + n, user, group) for n, (user, group) in enumerate(memberships)),
              label="roles", total=len(memberships))  # fmt: skip
    return people_by_agency, analysts, supervisors


ALL_LEVELS = [level.value for level in Agency.Level]
DISCIPLINE_GROUPS = [
    [Agency.Discipline.LAW_ENFORCEMENT, Agency.Discipline.HOMELAND_SECURITY, Agency.Discipline.CORRECTIONS],
    [Agency.Discipline.EMERGENCY_MANAGEMENT, Agency.Discipline.FIRE, Agency.Discipline.EMS],
    [Agency.Discipline.CRITICAL_INFRASTRUCTURE, Agency.Discipline.PUBLIC_WORKS, Agency.Discipline.TRANSPORTATION],
    [Agency.Discipline.PUBLIC_HEALTH, Agency.Discipline.EMS],
]


def product_markings(rng: random.Random, agency_ids: list[int]) -> tuple[str, list, list, list, list[int], bool]:
    """(tlp, caveats, levels, disciplines, named agencies, has tearline) in a realistic mix."""
    draw = rng.random()
    if draw < 0.35:
        return "green", [], ALL_LEVELS, [], [], False
    if draw < 0.45:
        return "clear", [], ALL_LEVELS, [], [], False
    if draw < 0.72:
        disciplines = rng.choice(DISCIPLINE_GROUPS)
        les = disciplines[0] == Agency.Discipline.LAW_ENFORCEMENT and rng.random() < 0.5
        return "amber", ["LES"] if les else [], [], [str(d) for d in disciplines], [], les
    if draw < 0.87:
        return "amber", [], [rng.choice(["local", "state"])], [], [], False
    if draw < 0.96:
        return "amber", ["FOUO"], [], [], rng.sample(agency_ids, min(3, len(agency_ids))), False
    return "amber_strict", [], [], [], rng.sample(agency_ids, min(2, len(agency_ids))), False


def seed_products(rng: random.Random, sizes: Sizes, region: Region, now: datetime) -> None:
    """Published products of the fusion center over five years; search vectors computed in PostgreSQL
    exactly as the publishing service computes them."""
    first = next_ids(ThreatProduct)
    kinds = [kind.value for kind in ThreatProduct.Kind]
    agency_ids = [a[0] for a in region.agencies[1:]]
    named: list[tuple[int, int]] = []
    per_year: dict[int, int] = {}
    span = timedelta(days=5 * 365)

    def rows() -> Iterator[tuple]:
        for n in range(sizes.products):
            pk = first + n
            # Oldest first, so that ids and publication times grow together as in real life.
            published = now - span + span * (n + 1) / (sizes.products + 1)
            per_year[published.year] = per_year.get(published.year, 0) + 1
            number = f"{FUSION_CENTER_ACRONYM}-{published.year}-{per_year[published.year]:04d}"
            kind = rng.choice(kinds)
            tlp, caveats, levels, disciplines, agencies, tearline = product_markings(rng, agency_ids)
            named.extend((pk, agency) for agency in agencies)
            title = text.product_title(rng, kind)
            expires = published + timedelta(days=rng.choice([30, 90, 365])) if rng.random() < 0.6 else None
            tags = [rng.choice(text.THREATS), rng.choice(text.TARGETS).split()[0]]
            yield (pk, tlp, pg_array(caveats), pg_array(levels), pg_array(disciplines),
                   text.paragraph(rng, 2) if tearline else "", kind, number, 1, "published", title,
                   text.paragraph(rng, 1), text.product_body(rng), pg_array(tags),
                   "Partners in the audience need this to protect the facilities named.", False, "", NULL,
                   ts(published), ts(expires) if expires else NULL, ts(published), ts(published), ts(published),
                   NULL, "", rng.choice(region.analysts), region.fusion_center, NULL,
                   rng.choice(region.supervisors))  # fmt: skip

    columns = ["id", "tlp", "caveats", "audience_levels", "audience_disciplines", "tearline", "kind", "number",
               "version", "state", "title", "summary", "body", "tags", "release_reason", "is_criminal_intelligence",
               "criminal_predicate", "review_by", "effective_at", "expires_at", "created_at", "updated_at",
               "published_at", "retracted_at", "retraction_reason", "author_id", "originating_agency_id",
               "previous_version_id", "reviewer_id"]  # fmt: skip
    table = ThreatProduct._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE TEMPORARY TABLE scale_products (LIKE {table}) ON COMMIT DROP")
    copy_rows("scale_products", columns, rows(), label="products (text)", total=sizes.products)
    # The vectors of sharing.services.products._refresh_search, computed where the text is.
    title = "setweight(to_tsvector('english'::regconfig, COALESCE(title, '')), 'A')"
    vectors = (
        f"{title} || setweight(to_tsvector('english'::regconfig, COALESCE(summary, '')), 'B')"
        " || setweight(to_tsvector('english'::regconfig, COALESCE(body, '')), 'C')"
        " || setweight(to_tsvector('english'::regconfig, array_to_string(tags, ' ')), 'B')",
        f"{title} || setweight(to_tsvector('english'::regconfig, COALESCE(tearline, '')), 'B')",
    )
    listed = ", ".join(columns)
    step = 10_000
    progress = Progress("products (search)", sizes.products)
    with connection.cursor() as cursor:
        for low in range(first, first + sizes.products, step):
            cursor.execute(
                f"INSERT INTO {table} ({listed}, search_vector, tearline_search_vector) "  # noqa: S608  # nosec B608 - our own tables
                f"SELECT {listed}, {vectors[0]}, {vectors[1]} FROM scale_products WHERE id >= %s AND id < %s",
                [low, low + step],
            )
            progress.advance(cursor.rowcount)
    progress.close()
    through = ThreatProduct.audience_agencies.through
    start = next_ids(through)
    copy_rows(through._meta.db_table, ["id", "threatproduct_id", "agency_id"],
              ((start + n, product, agency) for n, (product, agency) in enumerate(named)),
              label="product audiences", total=len(named))  # fmt: skip
    for year, count in per_year.items():
        ProductNumberSequence.objects.update_or_create(
            agency_id=region.fusion_center, year=year, defaults={"last_value": count}
        )


def seed_incidents(rng: random.Random, sizes: Sizes, region: Region, now: datetime) -> list[tuple[int, int, datetime]]:
    first = next_ids(Incident)
    incidents = []
    types = [t.value for t in Incident.Type]

    def rows() -> Iterator[tuple]:
        for n in range(sizes.incidents):
            pk = first + n
            eoc = region.eocs[n % len(region.eocs)]
            started = now - timedelta(days=rng.uniform(0.5, 700))
            closed = rng.random() < 0.35
            incidents.append((pk, eoc, started))
            incident_type = rng.choice(types)
            place = rng.choice(text.PLACE_NAMES)
            yield (pk, f"BENCH-{started.year}-{n + 1:05d}",
                   f"{place} {Incident.Type(incident_type).label.lower()}", incident_type,
                   "closed" if closed else rng.choice(["monitoring", "active", "recovery"]),
                   rng.choice(["low", "moderate", "high", "critical"]), rng.random() < 0.05,
                   text.paragraph(rng, 2), f"{rng.randint(1, 9999)} {place} Road", NULL, NULL, ts(started),
                   ts(started + timedelta(days=3)) if closed else NULL, ts(started),
                   region.people_by_agency[eoc][-1], eoc)  # fmt: skip

    columns = ["id", "number", "name", "incident_type", "status", "priority", "is_exercise", "description", "address",
               "latitude", "longitude", "started_at", "closed_at", "created_at", "created_by_id",
               "lead_eoc_id"]  # fmt: skip
    copy_rows(Incident._meta.db_table, columns, rows(), label="incidents", total=sizes.incidents)
    return incidents


def seed_feed(rng: random.Random, sizes: Sizes, region: Region, incidents: list, now: datetime) -> None:
    """Feed entries spread over the incidents, each named for its EOC as posting does by default."""
    first = next_ids(FeedEntry)
    titles = [text.entry_title(rng) for _ in range(5000)]
    bodies = [text.entry_body(rng) for _ in range(5000)]
    kinds = [k.value for k in FeedEntry.Kind if k != FeedEntry.Kind.RELAYED_ITEM]
    per_incident, extra = divmod(sizes.feed_entries, len(incidents))

    def rows() -> Iterator[tuple]:
        pk = first
        for number, (incident, eoc, started) in enumerate(incidents):
            count = per_incident + (1 if number < extra else 0)
            authors = region.people_by_agency[eoc][2:] or region.people_by_agency[eoc]
            span = max((now - started).total_seconds(), 60.0)
            for n in range(count):
                posted = ts(started + timedelta(seconds=span * (n + 1) / (count + 1)))
                draw = rng.random()
                priority = "flash" if draw < 0.02 else "priority" if draw < 0.2 else "routine"
                yield (pk, "amber" if draw > 0.85 else "green", "{}", "{}", "{}", "", rng.choice(kinds), priority,
                       rng.choice(titles), rng.choice(bodies), posted, posted, NULL, NULL, "", NULL, "", "", NULL,
                       "", "", "", "", "[]", rng.choice(authors), eoc, NULL, eoc, eoc, incident)  # fmt: skip
                pk += 1

    columns = ["id", "tlp", "caveats", "audience_levels", "audience_disciplines", "tearline", "kind", "priority",
               "title", "body", "occurred_at", "posted_at", "latitude", "longitude", "source_type", "source_id",
               "cap_identifier", "cap_sender", "cap_sent", "cap_msg_type", "cap_severity", "cap_urgency",
               "cap_certainty", "cap_area", "author_id", "author_agency_id", "corrects_id", "eoc_id",
               "originating_agency_id", "incident_id"]  # fmt: skip
    copy_rows(FeedEntry._meta.db_table, columns, rows(), label="feed entries", total=sizes.feed_entries)
    through = FeedEntry.audience_agencies.through
    start = next_ids(through)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {through._meta.db_table} (id, feedentry_id, agency_id) "  # noqa: S608  # nosec B608 - our own tables
            f"SELECT %s - %s + id, id, eoc_id FROM {FeedEntry._meta.db_table} WHERE id >= %s",
            [start, first, first],
        )


def seed_deliveries(rng: random.Random, sizes: Sizes, region: Region, now: datetime) -> None:
    """Dispatches of the newest products, each to a block of people, as fan-out records them."""
    people = [pk for agency, ids in region.people_by_agency.items() if agency != region.fusion_center for pk in ids]
    per_dispatch = min(1000, len(people))
    dispatch_count = -(-sizes.deliveries // per_dispatch)  # rounded up
    newest = list(
        ThreatProduct.objects.filter(originating_agency_id=region.fusion_center)
        .order_by("-id")
        .values_list("id", "published_at")[:dispatch_count]
    )
    first_dispatch = next_ids(Dispatch)
    dispatches = [(first_dispatch + n, product, published) for n, (product, published) in enumerate(newest)]
    author = region.supervisors[0]
    copy_rows(Dispatch._meta.db_table,
              ["id", "item_type", "item_id", "action", "state", "reason", "created_at", "started_at", "finished_at",
               "recipients_total", "created_by_id", "originating_agency_id", "recipients_done"],
              ((pk, "sharing.threatproduct", product, "publish", "fanned_out", "", ts(at), ts(at), ts(at),
                per_dispatch, author, region.fusion_center, per_dispatch) for pk, product, at in dispatches),
              label="dispatches", total=len(dispatches))  # fmt: skip
    first = next_ids(Delivery)
    total = min(sizes.deliveries, len(dispatches) * per_dispatch)

    def rows() -> Iterator[tuple]:
        pk = first
        for number, (dispatch, _product, at) in enumerate(dispatches):
            offset = (number * 7919) % len(people)
            when = ts(at)
            for n in range(per_dispatch):
                if pk - first >= total:
                    return
                recipient = people[(offset + n) % len(people)]
                draw = rng.random()
                state = "acknowledged" if draw < 0.1 else "read" if draw < 0.35 else "sent"
                yield (pk, "inbox", True, state, when, when, when if state != "sent" else NULL,
                       when if state == "acknowledged" else NULL, 0, NULL, "", dispatch, recipient,
                       NULL, NULL)  # fmt: skip
                pk += 1

    columns = ["id", "channel", "is_full_text", "state", "created_at", "sent_at", "read_at", "acknowledged_at",
               "attempts", "next_attempt_at", "last_error", "dispatch_id", "recipient_id", "endpoint_id",
               "message_id"]  # fmt: skip
    copy_rows(Delivery._meta.db_table, columns, rows(), label="deliveries", total=total)


def is_seeded() -> bool:
    return Agency.objects.filter(acronym=FUSION_CENTER_ACRONYM).exists()


def seed_region(sizes: Sizes, *, seed: int = SEED, say: Callable[[str], None] = print) -> float:
    """Seed the whole region in one transaction; returns the seconds it took."""
    started = time.monotonic()
    rng = random.Random(seed)
    now = timezone.now()
    with transaction.atomic():
        counties = max(1, min(200, sizes.agencies // 10))
        state, county_ids, city_ids = seed_jurisdictions(rng, counties)
        agencies = seed_agencies(rng, sizes, state, county_ids, city_ids)
        people_by_agency, analysts, supervisors = seed_people(rng, sizes, agencies, now)
        region = Region(
            fusion_center=agencies[0][0],
            state=state,
            counties=county_ids,
            agencies=agencies,
            eocs=[a[0] for a in agencies if a[1] == Agency.Kind.EOC],
            people_by_agency=people_by_agency,
            analysts=analysts,
            supervisors=supervisors,
        )
        seed_products(rng, sizes, region, now)
        incidents = seed_incidents(rng, sizes, region, now)
        seed_feed(rng, sizes, region, incidents, now)
        seed_deliveries(rng, sizes, region, now)
        reset_sequences(Jurisdiction, Agency, User, User.groups.through, ThreatProduct,
                        ThreatProduct.audience_agencies.through, Incident, FeedEntry,
                        FeedEntry.audience_agencies.through, Dispatch, Delivery)  # fmt: skip
    say("  analysing tables")
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return time.monotonic() - started
