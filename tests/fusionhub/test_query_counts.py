"""Every page and endpoint costs the same number of queries however many rows it shows.

Every route of the URL matrix (tests/fusionhub/expectations.py) is fetched by every persona it
answers 200 (each sees other rows, and other buttons on them) in the demo world; the world then
grows through the real services (more products with attachments, feed entries with attachments
and acknowledgements, requests, tasks, sitreps, RFIs, inbox deliveries, webhook endpoints, relays
and awareness items, audit entries, assignments, rules, people and agencies), and each route is
fetched again: the count must not move. A route whose count grows with its rows is an N+1 to fix
in its selector or view, not a line in KNOWN_GROWTH (which stays empty unless a route truly
cannot be fixed yet, with the reason).

Lists are bounded too: an API list answers a page (`next`, at most the page size of `results`),
however many rows there are, and the pages that were one whole list are paged.
"""

from __future__ import annotations

import datetime
import json
import re
from collections import Counter
from dataclasses import dataclass

import pytest
from django.apps import apps
from django.contrib.contenttypes.models import ContentType
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import TestCase, override_settings
from django.test.utils import CaptureQueriesContext
from django.urls import resolve
from django.utils import timezone

from agencies.audit import record_audit
from agencies.markings import TLP
from agencies.models import AccountLockout, Agency, ArchivedAuditEntry, AuditAction, Jurisdiction, Role, User
from agencies.services import create_api_token, create_person
from dissemination.fanout import fan_out
from dissemination.models import Delivery, Dispatch, WebhookEndpoint
from eoc.models import EocStatus, FeedEntry, Incident
from eoc.services.feed import EntryContent, acknowledge_entry, post_entry
from eoc.services.incidents import IncidentDetails, change_activation, open_incident
from eoc.services.logistics import RequestDetails, TaskDetails, assign_task, request_resource, write_situation_report
from liaison.handlers import relay_product_by_rules
from liaison.models import Direction, RoutingRule
from liaison.services import (
    ENTRY,
    RuleDetails,
    Target,
    assign_liaison,
    create_rule,
    end_assignment,
    relay_by_rule,
    set_duty_contact,
)
from sharing.models import RetentionReview, ThreatProduct
from sharing.services.attachments import add_attachment
from sharing.services.products import ProductContent, approve_product, create_product, submit_for_review
from sharing.services.requests import assign_request, submit_request
from tests.fusionhub.expectations import ANONYMOUS, EXPECTATIONS, PERSONAS, Expect, World, build_world, wake_endpoint
from tests.fusionhub.test_url_matrix import ROUTES, close, concrete_path
from tests.second_factor import VerifiedClient as Client

GROWTH = 5  # more rows of every kind than the world had

# Routes whose cost is not a page's: the live feeds stream (their polling queries are counted by the
# feed fragments they share with the pages), and the health check asks the Celery worker.
NOT_PAGES = {
    "eoc:incident-feed-stream": "a server-sent event stream; its body is never read here",
    "eoc:eoc-feed-stream": "a server-sent event stream; its body is never read here",
    "healthz": "pings the Celery worker; no rows",
}

# Routes whose query count still grows with their rows, with the reason. Keep it empty.
KNOWN_GROWTH: dict[str, str] = {}


@dataclass(frozen=True)
class Case:
    key: str
    label: str
    expect: Expect
    persona: str

    @property
    def id(self) -> str:
        label = f"{self.key}[{self.label}]" if self.label else self.key
        return f"{label}-{self.persona}"


def personas_with_200(key: str, expect: Expect) -> list[str]:
    """Everyone who gets the route's page: each may see other rows and other buttons on them."""
    return [persona for persona in PERSONAS if expect.statuses(persona) == (200,)]


def cases() -> list[Case]:
    found = []
    for key, entry in EXPECTATIONS.items():
        if key in NOT_PAGES:
            continue
        for expect in entry if isinstance(entry, list) else [entry]:
            found.extend(Case(key, expect.label, expect, persona) for persona in personas_with_200(key, expect))
    return found


CASES = cases()


def pdf(name: str) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, f"%PDF-1.4\n% {name}\n%%EOF\n".encode(), "application/pdf")


def grow_world(world: World, rows: int = GROWTH, first: int = 0) -> None:
    """`rows` more rows of every kind the lists show, through the services (numbered from `first`,
    so that the world grows twice without two rows of one name)."""
    people, agencies, places = world.people, world.region.agencies, world.region.jurisdictions
    analyst, supervisor, liaison = people["analyst"], people["supervisor"], people["liaison"]
    coordinator, wake, flood = people["coordinator"], world.wake_eoc, world.flood
    sysadmin = people["sysadmin"]

    # Agencies, people (at the center and at the EOC), and an extra jurisdiction.
    for n in range(first, first + rows):
        county = Jurisdiction.objects.create(
            name=f"Test County {n}", kind=Jurisdiction.Kind.COUNTY, fips_code=f"379{n:02d}", parent=places["nc"]
        )
        Agency.objects.create(
            acronym=f"TPD{n}",
            name=f"Test Police Department {n}",
            level=Agency.Level.LOCAL,
            kind=Agency.Kind.LAW_ENFORCEMENT,
            discipline=Agency.Discipline.LAW_ENFORCEMENT,
            jurisdiction=county,
            email=f"desk@tpd{n}.example.gov",
        )
        eoc = Agency.objects.create(
            acronym=f"TEOC{n}",
            name=f"Test County {n} Emergency Operations Center",
            level=Agency.Level.LOCAL,
            kind=Agency.Kind.EOC,
            discipline=Agency.Discipline.EMERGENCY_MANAGEMENT,
            jurisdiction=county,
            email=f"eoc@county{n}.example.gov",
        )
        EocStatus.objects.create(eoc=eoc)
        create_person(by=sysadmin, username=f"wake.coordinator{n}", roles={Role.EOC_COORDINATOR}, agency=wake)
        create_person(
            by=sysadmin,
            username=f"analyst.extra{n}",
            roles={Role.ANALYST},
            agency=analyst.agency,
            is_law_enforcement=True,
        )

    # Inbox deliveries of the published product to the new people (its dispatch was fanned out when
    # the world first grew, before they joined), so its record grows too.
    dispatch = Dispatch.objects.get(item_type="sharing.threatproduct", item_id=world.published_product.pk)
    for person in User.objects.filter(username__startswith="wake.coordinator").exclude(deliveries__dispatch=dispatch):
        Delivery.objects.create(
            dispatch=dispatch, recipient=person, channel=Delivery.Channel.INBOX, state=Delivery.State.SENT
        )

    # Routing rules to the Wake County EOC (proposed), before the products they relay.
    for n in range(first, first + rows):
        create_rule(by=liaison, details=RuleDetails(name=f"Flood products {n}", target_eoc=wake))

    # Products published to the whole state, each with an attachment; their dispatches fanned out.
    for n in range(first, first + rows):
        product = create_product(
            author=analyst,
            content=ProductContent(
                kind=ThreatProduct.Kind.SITUATIONAL_AWARENESS,
                title=f"River gauge update {n}",
                summary="The river keeps rising.",
                body="Gauges along the Neuse.",
                tlp=TLP.GREEN,
                audience_jurisdictions=[places["nc"]],
                tags=["flood", f"gauge-{n}"],
                release_reason="Partners across the state prepare for flooding.",
            ),
        )
        add_attachment(product=product, by=analyst, uploaded_file=pdf(f"gauges-{n}.pdf"))
        submit_for_review(product=product, by=analyst)
        product = approve_product(product=product, reviewer=supervisor)
        relay_product_by_rules(product)
        # Its retention review, open in the supervisor's queue (as the daily task opens them).
        RetentionReview.objects.create(
            number=product.number, agency=product.originating_agency, product=product, due_date=timezone.localdate()
        )
        # A delivery to the Wake County EOC's webhook that failed for good, on its endpoint's page.
        Delivery.objects.create(
            dispatch=Dispatch.objects.get(item_type="sharing.threatproduct", item_id=product.pk),
            channel=Delivery.Channel.WEBHOOK,
            endpoint=wake_endpoint(world),
            state=Delivery.State.FAILED,
            attempts=8,
            last_error="HTTP 503",
        )

    # Products waiting for review, incidents of the Wake County EOC, and changes of its activation.
    for n in range(first, first + rows):
        product = create_product(
            author=analyst,
            content=ProductContent(
                kind=ThreatProduct.Kind.SITUATIONAL_AWARENESS,
                title=f"Draft gauge outlook {n}",
                summary="The river may crest tomorrow.",
                body="Draft.",
                tlp=TLP.GREEN,
                audience_jurisdictions=[places["nc"]],
                release_reason="Partners across the state prepare for flooding.",
            ),
        )
        submit_for_review(product=product, by=analyst)
        open_incident(
            by=coordinator,
            details=IncidentDetails(
                name=f"Water main break {n}",
                incident_type=Incident.Type.FLOOD,
                affected_jurisdictions=[places["wake"]],
                supporting_agencies=[agencies["WCSO"]],
            ),
        )
        for level in (3, 2):  # up and back: it stays at level 2 for the flood, as the demo has it
            change_activation(eoc=wake, by=coordinator, level=level, reason=f"River forecast {n}", incident=flood)

    # Feed entries with attachments and acknowledgements, in the flood and in the EOC-wide feed;
    # each relayed to the fusion center (delivered, with its awareness item).
    from_wake = RoutingRule.objects.get(name="Wake County's entries")
    acknowledgers = [coordinator, people["wake.admin"], liaison, analyst]
    for n in range(first, first + rows):
        for incident, eoc in ((flood, None), (None, wake)):
            entry = post_entry(
                by=coordinator,
                incident=incident,
                eoc=eoc,
                content=EntryContent(kind=FeedEntry.Kind.SITUATION_UPDATE, title=f"Gauge reading {n}"),
                attachments=[pdf(f"reading-{n}.pdf"), pdf(f"map-{n}.pdf")],
            )
            for person in acknowledgers:
                if person.pk != coordinator.pk:
                    acknowledge_entry(entry=entry, by=person)
            if incident is not None:
                relay_by_rule(
                    source=entry,
                    source_type=ENTRY,
                    direction=Direction.TO_FUSION_CENTER,
                    rule=from_wake,
                    target=Target(wake, incident),
                )

    # Resource requests, tasks, situation reports and RFIs.
    period = flood.operational_periods.order_by("-number").first()
    for n in range(first, first + rows):
        request_resource(
            incident=flood,
            by=coordinator,
            details=RequestDetails(
                resource_kind=f"Pumps {n}",
                quantity=n + 1,
                needed_by=timezone.now() + datetime.timedelta(hours=4),
                deliver_to="Staging: Knightdale Station Park",
            ),
        )
        assign_task(
            incident=flood,
            by=coordinator,
            details=TaskDetails(
                title=f"Sandbag station {n}", due_at=timezone.now() + datetime.timedelta(hours=3), assigned_agency=wake
            ),
        )
        write_situation_report(incident=flood, period=period, by=coordinator, sections={})
        submit_request(
            by=coordinator,
            question=f"Any threats to shelter {n}?",
            due_date=timezone.localdate() + datetime.timedelta(days=2),
        )
        # The RFI's history: handed to the other analyst and back (it ends with the analyst, as it began).
        for assignee in ("analyst2", "analyst"):
            assign_request(rfi=world.rfi, by=supervisor, assignee=people[assignee])

    # Webhook endpoints (made directly: the service resolves the receiver's name, which needs DNS).
    for n in range(first, first + rows):
        WebhookEndpoint.objects.create(agency=wake, url=f"https://hooks{n}.wake.example.gov/in", secret=f"whsec_{n}")

    # Liaison assignments, current and past, to each EOC.
    for n in range(first, first + rows):
        officer = create_person(
            by=sysadmin, username=f"liaison.extra{n}", roles={Role.LIAISON_OFFICER}, agency=liaison.agency
        )
        for eoc in (wake, agencies["NCEM-SEOC"], agencies["MECK-EOC"]):
            assignment = assign_liaison(by=liaison, officer=officer, eoc=eoc, phone="919-555-0100")
            if eoc.pk != wake.pk:
                end_assignment(assignment=assignment, by=liaison)

    # Audit entries the trail shows (and archived ones), API tokens, lockouts and contacts of the day.
    for n in range(first, first + rows):
        record_audit(action=AuditAction.SIGN_IN, person=people["coordinator"], detail={"n": n})
        ArchivedAuditEntry.objects.create(
            id=-1 - n, at=timezone.now() - datetime.timedelta(days=400 + n), action="sign_in", username="coordinator"
        )
        create_api_token(person=people[("analyst", "coordinator", "sysadmin")[n % 3]])
        AccountLockout.objects.create(
            username=f"wake.coordinator{n}",
            failure_count=5,
            first_failure_at=timezone.now(),
            last_failure_at=timezone.now(),
            locked_at=timezone.now(),
        )
        set_duty_contact(by=liaison, person=liaison, on_date=timezone.localdate() + datetime.timedelta(days=n + 1))

    # Every dispatch fanned out (products, incidents, awareness items): the inboxes of all the personas.
    for dispatch in Dispatch.objects.all():
        fan_out(dispatch_id=dispatch.pk)


# --- the module's world, measured before and after it grows ------------------------------------


@dataclass
class Measure:
    status: int
    count: int
    queries: list[str]
    body: bytes
    content_type: str


def fetch(client: Client, world: World, case: Case, query: str = "") -> Measure:
    """GET the case's path as its persona, from a cold cache (the same cost each time), counting queries."""
    route = ROUTES[case.key]
    path = concrete_path(route, case.expect, world)
    assert resolve(path).route == route.pattern, f"{path} does not reach {route.pattern}"
    cache.clear()
    client.cookies.clear()
    if case.persona != ANONYMOUS:
        client.force_login(world.people[case.persona])
    with CaptureQueriesContext(connection) as captured:
        response = client.get(path + query)
        body = b"".join(response.streaming_content) if response.streaming else response.content
    queries = page_queries([query["sql"] for query in captured.captured_queries])
    try:
        return Measure(
            response.status_code,
            len(queries),
            queries,
            body,
            response.get("Content-Type", ""),
        )
    finally:
        close(response)


def page_queries(statements: list[str]) -> list[str]:
    """The statements of a page but those that prepare a frequent read in PostgreSQL (agencies.prepared),
    once per connection and read: a PREPARE, and the savepoint around it inside a transaction."""
    kept = list(statements)
    for i in [i for i, sql in enumerate(statements) if sql.startswith("PREPARE ")]:
        kept[i] = None
        savepoint = i > 0 and statements[i - 1].startswith("SAVEPOINT ")
        if savepoint and i + 1 < len(statements) and statements[i + 1].startswith("RELEASE SAVEPOINT "):
            kept[i - 1] = kept[i + 1] = None
    return [sql for sql in kept if sql is not None]


@pytest.fixture(scope="module")
def measured(django_db_setup, django_db_blocker, tmp_path_factory):
    """The world built once for the module, every case fetched, the world grown: (world, counts before).

    The blocks are the test case's own (so the services' durable transactions run inside them) and are
    rolled back after the module; each test runs in a savepoint of its own.
    """
    with override_settings(MEDIA_ROOT=tmp_path_factory.mktemp("media")), django_db_blocker.unblock():
        atomics = TestCase._enter_atomics()
        try:
            world = build_world()
            # Fill the per-process caches (content types) so the first fetch pays nothing the second doesn't.
            ContentType.objects.get_for_models(*apps.get_models())
            client = Client()
            # One row of each kind first: a list that shows none skips the queries of its rows' details.
            grow_world(world, rows=1)
            before = {case.id: fetch(client, world, case) for case in CASES}
            grow_world(world, first=1)
            yield world, before, client
        finally:
            TestCase._rollback_atomics(atomics)


def growth(before: list[str], after: list[str]) -> str:
    """The statements run more often after the growth, numbers blanked, with how many more times."""

    def shape(sql: str) -> str:
        return re.sub(r"\b\d+\b", "N", sql)

    more = Counter(map(shape, after)) - Counter(map(shape, before))
    return "\n".join(f"  +{times}: {sql[:400]}" for sql, times in more.most_common(8))


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_query_count_does_not_grow_with_rows(db, measured, case):
    world, before, client = measured
    first = before[case.id]
    assert first.status == 200, f"{case.id} as {case.persona}: {first.status} before the growth"

    after = fetch(client, world, case)

    assert after.status == 200, f"{case.id} as {case.persona}: {after.status} after the growth"
    if case.key in KNOWN_GROWTH:
        pytest.xfail(KNOWN_GROWTH[case.key])
    assert after.count == first.count, (
        f"GET {case.id} as {case.persona}: {first.count} queries, {after.count} with {GROWTH} more rows of each kind\n"
        + growth(first.queries, after.queries)
    )


API_LISTS = [case for case in CASES if case.expect.is_json and case.key.endswith(("-list", "-deliveries", "-feed"))]
SMALL_PAGE = 2


@pytest.mark.parametrize("case", API_LISTS, ids=[case.id for case in API_LISTS])
def test_api_lists_answer_a_bounded_page(db, measured, case):
    world, _before, client = measured

    data = json.loads(fetch(client, world, case, query=f"?page_size={SMALL_PAGE}").body)

    assert isinstance(data, dict), f"{case.id} answers a bare list, not a page"
    assert {"next", "results"} <= set(data), f"{case.id} answers {sorted(data)}, not a page"
    assert len(data["results"]) <= SMALL_PAGE, f"{case.id}: {len(data['results'])} rows on a page of {SMALL_PAGE}"


@pytest.mark.parametrize(
    ("case_id", "setting"),
    [
        ("locked-accounts-sysadmin", "agencies.views.LOCKED_PAGE_SIZE"),
        ("liaison:rule-list-liaison", "liaison.views.rules.RULE_PAGE_SIZE"),
    ],
)
def test_pages_that_were_whole_lists_are_paged(db, measured, monkeypatch, case_id, setting):
    world, _before, client = measured
    monkeypatch.setattr(setting, SMALL_PAGE)
    case = next(case for case in CASES if case.id == case_id)

    body = fetch(client, world, case).body.decode()

    assert "Page 1 of" in body, f"{case_id} shows every row on one page"
