"""Property-based tests of the whole API from its own OpenAPI schema (schemathesis).

Every operation in /api/v1/schema/ is called with generated input by a persona of the demo region who
may act on it, against real objects of the region as well as ids that do not exist: no answer is a
server error, and every answer has a status, a content type and a body that the schema documents.
Each example runs in a savepoint rolled back after it, so every example starts from the demo region.
"""

from __future__ import annotations

import os
from io import StringIO

import pytest
import schemathesis
from django.core import signals
from django.core.management import call_command
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections, transaction
from django.test import TestCase, override_settings
from hypothesis import HealthCheck, settings
from knox.models import AuthToken
from schemathesis import checks
from schemathesis.config import SchemathesisConfig

from agencies.models import Agency, Jurisdiction, User
from dissemination.models import Delivery, Dispatch, WebhookEndpoint
from eoc.models import FeedEntry, Incident, ResourceRequest, SituationReport, Task
from sharing.models import RequestForInformation, ThreatProduct

CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_headers_conformance,
    checks.response_schema_conformance,
]

# Who calls each part of the API: the person whose role acts on it, so writes reach the services.
CALLERS = {
    "/api/v1/products/": "analyst",
    "/api/v1/rfis/": "analyst",
    "/api/v1/dispatches/": "analyst",
    "/api/v1/incidents/": "coordinator",
    "/api/v1/feed-entries/": "coordinator",
    "/api/v1/sitreps/": "coordinator",
    "/api/v1/resource-requests/": "coordinator",
    "/api/v1/tasks/": "coordinator",
    "/api/v1/eocs/": "coordinator",
    "/api/v1/cap/": "coordinator",
    "/api/v1/inbox/": "coordinator",
    "/api/v1/users/": "wake.admin",
    "/api/v1/webhooks/": "wake.admin",
}
DEFAULT_CALLER = "supervisor"


def caller_of(path: str) -> str:
    return next((person for prefix, person in CALLERS.items() if path.startswith(prefix)), DEFAULT_CALLER)


def real_ids() -> dict[str, list[int]]:
    """For each collection, ids of demo objects its caller may act on (the fuzzer's own ids mostly miss)."""
    coordinator = User.objects.get(username="coordinator")
    delivery = Delivery.objects.filter(recipient=coordinator, channel=Delivery.Channel.INBOX).first()
    if delivery is None:
        delivery = Delivery.objects.create(
            dispatch=Dispatch.objects.filter(item_type="sharing.threatproduct").first(),
            recipient=coordinator,
            channel=Delivery.Channel.INBOX,
            state=Delivery.State.SENT,
        )
    webhook = WebhookEndpoint.objects.get_or_create(
        agency=coordinator.agency, url="https://hooks.wake.example.gov/fusionhub", defaults={"secret": "whsec_test"}
    )[0]
    return {
        "/api/v1/products/": list(ThreatProduct.objects.values_list("pk", flat=True)),
        "/api/v1/rfis/": list(RequestForInformation.objects.values_list("pk", flat=True)),
        "/api/v1/dispatches/": list(Dispatch.objects.values_list("pk", flat=True)[:3]),
        "/api/v1/incidents/": list(Incident.objects.values_list("pk", flat=True)),
        "/api/v1/feed-entries/": list(FeedEntry.objects.values_list("pk", flat=True)[:5]),
        "/api/v1/sitreps/": list(SituationReport.objects.values_list("pk", flat=True)),
        "/api/v1/resource-requests/": list(ResourceRequest.objects.values_list("pk", flat=True)),
        "/api/v1/tasks/": list(Task.objects.values_list("pk", flat=True)),
        "/api/v1/eocs/": list(Agency.objects.filter(kind=Agency.Kind.EOC).values_list("pk", flat=True)),
        "/api/v1/inbox/": [delivery.pk],
        "/api/v1/users/": list(User.objects.filter(agency=coordinator.agency).values_list("pk", flat=True)),
        "/api/v1/webhooks/": [webhook.pk],
        "/api/v1/agencies/": list(Agency.objects.values_list("pk", flat=True)[:5]),
        "/api/v1/jurisdictions/": list(Jurisdiction.objects.values_list("pk", flat=True)[:5]),
    }


@pytest.fixture(scope="module")
def region(django_db_setup, django_db_blocker):
    """The demo region, seeded once for the module and rolled back after it; each caller's token."""
    with django_db_blocker.unblock():
        atomics = TestCase._enter_atomics()
        try:
            with override_settings(DEBUG=True):  # seed_demo runs only with DEBUG on; pytest-django turns it off
                call_command("seed_demo", stdout=StringIO())
            people = {person.username: person for person in User.objects.all()}
            tokens = {
                name: AuthToken.objects.create(user=people[name])[1] for name in {*CALLERS.values(), DEFAULT_CALLER}
            }
            yield {"tokens": tokens, "ids": real_ids()}
        finally:
            TestCase._rollback_atomics(atomics)


# The schema as a partner reads it, from the running application (an anonymous GET, no database).
# Bounded so that the whole API takes about two minutes: the schema's examples, the coverage phase's
# boundary values of valid input (not its invalid variants, nor methods the route does not take), and
# a few generated requests of either kind per operation.
CONFIG = SchemathesisConfig.from_dict(
    {"phases": {"coverage": {"generation": {"mode": "positive"}, "unexpected-methods": []}}}
)
schema = schemathesis.openapi.from_wsgi("/api/v1/schema/", get_wsgi_application(), config=CONFIG)


@pytest.fixture
def requests_in_test_transaction(db):
    """The requests run through the WSGI handler in the test's own transaction: keep the end of each
    request from closing that connection, as Django's test client does."""
    for signal in (signals.request_started, signals.request_finished):
        signal.disconnect(close_old_connections)
    try:
        yield
    finally:
        for signal in (signals.request_started, signals.request_finished):
            signal.connect(close_old_connections)


@schema.parametrize()
@settings(
    max_examples=10,
    # The same examples on every run, so that CI is repeatable; FUZZ_RANDOM=1 explores new ones.
    derandomize=os.environ.get("FUZZ_RANDOM") != "1",
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_api_answers_every_generated_request_within_its_schema(case, region, requests_in_test_transaction):
    path = case.operation.path
    if "id" in (case.path_parameters or {}):
        # Half the examples aim at a real object of the region, the other half at whatever id came out.
        ids = region["ids"].get(next((p for p in region["ids"] if path.startswith(p)), ""), [])
        generated = case.path_parameters["id"]
        if ids and isinstance(generated, int) and generated % 2 == 0:
            case.path_parameters["id"] = ids[generated // 2 % len(ids)]
    token = region["tokens"][caller_of(path)]
    savepoint = transaction.savepoint()
    try:
        response = case.call_and_validate(headers={"Authorization": f"Token {token}"}, checks=CHECKS)
        import time

        with open("/tmp/attack-stats.txt", "a") as f:
            f.write(f"{time.time():.2f} {case.method} {path} {response.status_code}\n")
    finally:
        transaction.savepoint_rollback(savepoint)
