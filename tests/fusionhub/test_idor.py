"""Attacks on object ids and marked text: the authorization matrix seen from the objects' side.

Items that some personas of the demo region may not read are planted with unique marker strings in
their text (a TLP:AMBER product for one police department, an LES product with a tearline, a TLP:RED
product naming one person, an attachment, an exercise's feed entry, another agency's RFI, inbox
delivery and webhook). Then:

- every operation of the OpenAPI schema has a line in API_OPERATIONS (a new operation fails here);
- every operation on an object id, aimed at an object the persona may not see, answers exactly what
  it answers for an id that does not exist (so nobody learns that it exists), never a success;
- every write operation answers the personas its table names, and refuses the others;
- every page and API route, its lists and its searches (`?q=`), fetched by every persona, never
  carries the marker of an item that persona may not read in full;
- every write of the liaison app, page or API, sent with a real body by every persona at items on
  each side of the agencies' lines (LIAISON_WRITES), is done for those its line names and changes
  nothing for the others, who get the status the line gives; a new liaison route fails until it has
  its lines;
- every page write of the eoc, sharing, dissemination and agencies apps (APP_WRITES, page_writes.py), the
  same way: at the persona's own agency's item, another agency's, and one outside what they may see; a
  new page route of those apps fails until it has its lines.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass

import pytest
from django.apps import apps
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import TestCase, override_settings
from django.urls import URLResolver, get_resolver, resolve, reverse
from drf_spectacular.generators import SchemaGenerator
from knox.models import AuthToken

from agencies.markings import TLP, Caveat
from dissemination.models import Delivery, Dispatch, DomainEvent, WebhookEndpoint
from eoc.models import FeedAcknowledgement, FeedEntry
from eoc.services.cap_import import import_cap_alert
from eoc.services.feed import EntryContent, post_entry
from liaison.models import AwarenessItem, DutyContact, LiaisonAssignment, Relay, RoutingRule
from sharing.models import RequestForInformation, ThreatProduct
from sharing.services.attachments import add_attachment
from sharing.services.products import ProductContent, approve_product, create_product, submit_for_review
from sharing.services.requests import submit_request
from tests.fusionhub.expectations import (
    ANONYMOUS,
    API_OPERATIONS,
    EXPECTATIONS,
    LIAISON_READS,
    LIAISON_WRITES,
    PERSONAS,
    SIGNED_IN,
    Expect,
    LiaisonTargets,
    build_liaison_targets,
    build_world,
)
from tests.fusionhub.page_writes import (
    APP_WRITES,
    DRILL_ALERT,
    READ_MARKS,
    UNTRACKED_FIELDS,
    PageTargets,
    build_page_targets,
    cap_document,
)
from tests.fusionhub.test_url_matrix import ROUTES, close, concrete_path
from tests.second_factor import VerifiedClient as Client

RUN = uuid.uuid4().hex[:10]


def marker(name: str) -> str:
    return f"SECRET-MARKER-{name}-{RUN}"


FUSION_CENTER = ("analyst", "supervisor", "liaison", "sysadmin")
FUSION_CENTER_LE = ("analyst", "supervisor", "liaison")
WAKE_EOC = ("coordinator", "wake.admin")


@dataclass(frozen=True)
class Secret:
    """A planted item: its kind (which routes take its id), who reads it in full, who sees it at all."""

    name: str
    kind: str
    readers: tuple[str, ...]  # read the marked text
    seers: tuple[str, ...] = ()  # see the item without its marked text (its tearline)
    has_text: bool = True  # False: the item shows another's text (a delivery, its product's)

    @property
    def marker(self) -> str:
        return marker(self.name)

    def hidden_from(self, persona: str) -> bool:
        return persona not in self.readers and persona not in self.seers


# Who may read each planted item, from the visibility policy (agencies/visibility.py) and each app's
# rules, written out by hand so that the test does not ask the policy what the policy says.
SECRETS = (
    # TLP:AMBER to the Raleigh police only; the fusion center sees what it wrote.
    Secret("amber-rpd", "product", readers=(*FUSION_CENTER, "rpd.partner")),
    # Its PDF: the same people.
    Secret("amber-rpd-pdf", "attachment", readers=(*FUSION_CENTER, "rpd.partner")),
    # LES with a tearline, to Wake County: people without law-enforcement status see the tearline only.
    Secret(
        "les-tearline",
        "product",
        readers=(*FUSION_CENTER_LE, "rpd.partner"),
        seers=("coordinator", "wake.admin", "sysadmin"),
    ),
    # TLP:RED naming one person of the Wake County EOC: not their colleagues, not the police.
    Secret("red-named", "product", readers=FUSION_CENTER),
    # An entry of Mecklenburg's exercise: its participants only (none of the personas).
    Secret("drill-entry", "feed_entry", readers=()),
    # A TLP:AMBER entry of the Wake flood for the Wake County EOC itself only.
    Secret("flood-amber-entry", "feed_entry", readers=("coordinator", "wake.admin")),
    # The Raleigh police's question to the fusion center: the two agencies only.
    Secret("rpd-rfi", "rfi", readers=(*FUSION_CENTER, "rpd.partner")),
    # The Raleigh detective's inbox delivery: theirs alone.
    Secret("rpd-delivery", "delivery", readers=("rpd.partner",), has_text=False),
    # The Raleigh police's webhook: its agency's admins (none here) and system admins.
    Secret("rpd-webhook", "webhook", readers=("sysadmin",)),
    # The liaison app's items (tests.fusionhub.expectations.build_liaison_targets): a relay proposed to
    # the Wake County EOC stays with the center until delivered; another fusion center's items are its
    # own (and the system admins'); people of an EOC read the rules that cover it and the assignments to
    # it (in the API); an entry relayed to a center's queue is read by its EOC and that center.
    Secret("relay-to-wake", "relay", readers=FUSION_CENTER),
    Secret("relay-other-center", "relay", readers=("sysadmin",)),
    Secret("rule-wake", "routing_rule", readers=(*FUSION_CENTER, *WAKE_EOC)),
    Secret("rule-meck", "routing_rule", readers=FUSION_CENTER),
    Secret("rule-other-center", "routing_rule", readers=("sysadmin",)),
    Secret("assignment-wake", "liaison_assignment", readers=(*FUSION_CENTER, *WAKE_EOC)),
    Secret("assignment-meck", "liaison_assignment", readers=FUSION_CENTER),
    Secret("assignment-other-center", "liaison_assignment", readers=("sysadmin",)),
    Secret("awareness-own", "awareness", readers=(*FUSION_CENTER, *WAKE_EOC)),
    Secret("awareness-other-center", "awareness", readers=(*WAKE_EOC, "sysadmin")),
)
SECRET_BY_NAME = {secret.name: secret for secret in SECRETS}


@dataclass
class Planted:
    world: object
    ids: dict[str, int]  # secret name -> object id
    attachment_product: int  # the product of the planted attachment
    liaison: LiaisonTargets
    pages: PageTargets


def plant(world) -> Planted:
    people, agencies = world.people, world.region.agencies
    ids: dict[str, int] = {}

    def product(name: str, **content) -> object:
        text = marker(name)
        spec = ProductContent(
            kind="intelligence_bulletin",
            title=content.pop("title", f"Planted product {name} {text}"),
            summary=content.pop("summary", f"Summary {text}"),
            body=f"Body {text}",
            release_reason="Planted by the attack tests.",
            **content,
        )
        draft = create_product(author=people["analyst"], content=spec)
        if name == "amber-rpd":
            attachment = add_attachment(
                product=draft,
                by=people["analyst"],
                uploaded_file=SimpleUploadedFile(
                    "plan.pdf", f"%PDF-1.4\n% {marker('amber-rpd-pdf')}\n%%EOF\n".encode(), "application/pdf"
                ),
            )
            ids["amber-rpd-pdf"] = attachment.pk
        submit_for_review(product=draft, by=people["analyst"])
        published = approve_product(product=draft, reviewer=people["supervisor"])
        ids[name] = published.pk
        return published

    amber = product("amber-rpd", tlp=TLP.AMBER, audience_agencies=[agencies["RPD"]])
    product(
        "les-tearline",
        title="Planted LES product with a tearline",
        summary="",
        tearline="Releasable: substations were broken into.",
        tlp=TLP.GREEN,
        caveats=[Caveat.LES],
        audience_jurisdictions=[world.wake_county],
    )
    product("red-named", tlp=TLP.RED, audience_people=[people["coordinator.le"]])
    drill_entry = post_entry(
        by=people["meck.coordinator"],
        incident=world.drill,
        content=EntryContent(kind="significant_event", title=f"Drill inject {marker('drill-entry')}"),
    )
    ids["drill-entry"] = drill_entry.pk
    # A CAP alert imported into the exercise: importing it again elsewhere must not name its entry.
    import_cap_alert(
        by=people["meck.coordinator"],
        data=cap_document(DRILL_ALERT, f"Drill alert {marker('drill-entry')}"),
        incident=world.drill,
    )
    flood_entry = post_entry(
        by=people["coordinator"],
        incident=world.flood,
        content=EntryContent(
            kind="decision",
            title=f"Internal decision {marker('flood-amber-entry')}",
            tlp=TLP.AMBER,
            audience_agencies=[world.wake_eoc],
        ),
    )
    ids["flood-amber-entry"] = flood_entry.pk
    rfi = submit_request(
        by=people["rpd.partner"],
        question=f"Who is behind the thefts? {marker('rpd-rfi')}",
        due_date=world.rfi.due_date,
    )
    ids["rpd-rfi"] = rfi.pk
    delivery = Delivery.objects.create(
        dispatch=Dispatch.objects.get(item_type="sharing.threatproduct", item_id=amber.pk),
        recipient=people["rpd.partner"],
        channel=Delivery.Channel.INBOX,
        state=Delivery.State.SENT,
    )
    ids["rpd-delivery"] = delivery.pk
    webhook = WebhookEndpoint.objects.create(
        agency=agencies["RPD"], url=f"https://hooks.rpd.example.gov/{marker('rpd-webhook')}", secret="whsec_rpd"
    )
    ids["rpd-webhook"] = webhook.pk
    liaison = build_liaison_targets(world, text=lambda name: f"Liaison item {marker(name)}")
    ids.update({name: obj.pk for name, obj in liaison.by_name().items() if name in SECRET_BY_NAME})
    marked = (ThreatProduct, "amber-rpd", "red-named"), (FeedEntry, "flood-amber-entry", "drill-entry")
    marked += (RequestForInformation, "rpd-rfi"), (Delivery, "rpd-delivery"), (WebhookEndpoint, "rpd-webhook")
    rows = {name: model.objects.get(pk=ids[name]) for model, *names in marked for name in names}
    pages = build_page_targets(world, liaison, rows)
    return Planted(world=world, ids=ids, attachment_product=amber.pk, liaison=liaison, pages=pages)


@pytest.fixture(scope="module")
def planted(django_db_setup, django_db_blocker, tmp_path_factory):
    with override_settings(MEDIA_ROOT=tmp_path_factory.mktemp("media")), django_db_blocker.unblock():
        atomics = TestCase._enter_atomics()
        try:
            yield plant(build_world())
        finally:
            TestCase._rollback_atomics(atomics)


@pytest.fixture(scope="module")
def browser():
    return Client()


def fetch(client: Client, method: str, path: str, persona: str, planted: Planted):
    client.cookies.clear()
    if persona != ANONYMOUS:
        client.force_login(planted.world.people[persona])
    if method == "GET":
        response = client.get(path)
    else:
        response = getattr(client, method.lower())(path, {}, content_type="application/json")
    try:
        if response.streaming:
            if response.get("Content-Type", "").startswith("text/event-stream"):
                body = ""  # a live stream: what it carries is tested with the feed
            else:
                body = b"".join(response.streaming_content).decode(errors="replace")
        else:
            body = response.content.decode(errors="replace")
    finally:
        close(response)
    return response.status_code, body


def leaked(body: str, persona: str) -> list[str]:
    return [secret.name for secret in SECRETS if persona not in secret.readers and secret.marker in body]


# --- the schema's operations ------------------------------------------------------------------------


def schema_operations() -> dict[str, dict]:
    schema = SchemaGenerator().get_schema(request=None, public=True)
    return {
        f"{method.upper()} {path}": operation
        for path, operations in schema["paths"].items()
        for method, operation in operations.items()
        if method in ("get", "post", "put", "patch", "delete")
    }


OPERATIONS = schema_operations()

# The kind of object each collection of the API holds, by the path's prefix.
KINDS = {
    "/api/v1/products/": "product",
    "/api/v1/rfis/": "rfi",
    "/api/v1/incidents/": "incident",
    "/api/v1/feed-entries/": "feed_entry",
    "/api/v1/sitreps/": "sitrep",
    "/api/v1/resource-requests/": "resource_request",
    "/api/v1/tasks/": "task",
    "/api/v1/inbox/": "delivery",
    "/api/v1/dispatches/": "dispatch",
    "/api/v1/webhooks/": "webhook",
    "/api/v1/users/": "user",
    "/api/v1/agencies/": "agency",
    "/api/v1/eocs/": "agency",
    "/api/v1/jurisdictions/": "jurisdiction",
    "/api/v1/liaison-assignments/": "liaison_assignment",
    "/api/v1/routing-rules/": "routing_rule",
    "/api/v1/relays/": "relay",
}


def kind_of(path: str) -> str:
    return next((kind for prefix, kind in KINDS.items() if path.startswith(prefix)), "")


def test_every_schema_operation_has_an_expectation():
    missing = sorted(set(OPERATIONS) - set(API_OPERATIONS))
    assert not missing, "Add these API operations to API_OPERATIONS in tests/fusionhub/expectations.py: " + ", ".join(
        missing
    )
    gone = sorted(set(API_OPERATIONS) - set(OPERATIONS))
    assert not gone, f"These operations are in API_OPERATIONS but not in the schema: {gone}"


def test_every_object_route_of_the_schema_has_a_kind():
    unknown = sorted(key for key in OPERATIONS if "{id}" in key and not kind_of(key.split(" ", 1)[1]))
    assert not unknown, f"Give these routes' collections a kind in KINDS (test_idor.py): {unknown}"


def test_every_get_of_the_schema_is_in_the_url_matrix():
    """A GET of the schema is a route of the resolver, so test_url_matrix gives each persona's status."""
    for key in OPERATIONS:
        method, path = key.split(" ", 1)
        if method == "GET":
            name = resolve(re.sub(r"\{\w+\}", "1", path)).url_name
            assert name in EXPECTATIONS, f"{key} ({name}) has no line in EXPECTATIONS"


# --- IDOR: a hidden object is an absent object ------------------------------------------------------

ABSENT_ID = 2_147_483_000


def idor_cases():
    for key in sorted(OPERATIONS):
        method, path = key.split(" ", 1)
        if "{id}" not in path:
            continue
        for secret in SECRETS:
            if secret.kind != kind_of(path):
                continue
            for persona in SIGNED_IN:
                if secret.hidden_from(persona):
                    yield pytest.param(method, path, secret.name, persona, id=f"{key}-{secret.name}-{persona}")


@pytest.mark.parametrize(("method", "path", "secret_name", "persona"), list(idor_cases()))
def test_hidden_object_answers_as_an_absent_one(db, browser, planted, method, path, secret_name, persona):
    secret = SECRET_BY_NAME[secret_name]
    status, body = fetch(browser, method, path.replace("{id}", str(planted.ids[secret_name])), persona, planted)
    absent_status, absent_body = fetch(browser, method, path.replace("{id}", str(ABSENT_ID)), persona, planted)

    assert status == absent_status, f"{method} {path} on {secret_name} as {persona}: {status}, absent: {absent_status}"
    assert status in (403, 404), f"{method} {path} on {secret_name} as {persona}: {status}"
    assert body == absent_body
    assert secret.marker not in body


# --- roles on the writes ----------------------------------------------------------------------------


def write_cases():
    for key, expect in API_OPERATIONS.items():
        if expect.is_read or expect.elsewhere:
            continue
        for persona in SIGNED_IN:
            yield pytest.param(key, persona, id=f"{key}-{persona}")


@pytest.mark.parametrize(("key", "persona"), list(write_cases()))
def test_write_answers_its_roles(db, browser, planted, key, persona):
    """With an empty body, on an object the persona may see: those the table names get past the checks of
    who they are (a 2xx, or a 400 for the missing input); everyone else is refused (403, or 404)."""
    expect = API_OPERATIONS[key]
    method, path = key.split(" ", 1)
    if "{id}" in path:
        path = path.replace("{id}", str(expect.target(planted.world)))
    assert "{" not in path, f"{key}: the table gives no object for {path}"
    status, body = fetch(browser, method, path, persona, planted)
    allowed = expect.statuses(persona)
    assert status in allowed, f"{key} as {persona}: {status}, expected {allowed}: {body[:300]}"
    assert not leaked(body, persona)


# --- no marked text where it should not be -----------------------------------------------------------

# Page routes that take the id of a planted item's kind, and the argument that holds it.
PAGE_OBJECT_ROUTES = {
    "sharing:product-detail": "product",
    "sharing:product-print": "product",
    "sharing:product-edit": "product",
    "sharing:product-submit": "product",
    "sharing:product-approve": "product",
    "sharing:product-return": "product",
    "sharing:product-update": "product",
    "sharing:product-retract": "product",
    "sharing:request-detail": "rfi",
    "eoc:entry-correct": "feed_entry",
    "dissemination:inbox-open": "delivery",
    "dissemination:webhook-detail": "webhook",
    "liaison:relay-detail": "relay",
    "liaison:relay-reject": "relay",
    "liaison:rule-edit": "routing_rule",
    "liaison:awareness-detail": "awareness",
}


def paths_to_scan(planted: Planted) -> list[str]:
    world = planted.world
    paths = []
    for key, entry in EXPECTATIONS.items():
        if key.startswith("admin"):
            continue
        for expect in entry if isinstance(entry, list) else [entry]:
            paths.append(concrete_path(ROUTES[key], expect, world))
        kind = PAGE_OBJECT_ROUTES.get(key)
        for secret in SECRETS:
            if secret.kind == kind:
                args = Expect(200, 200, args=lambda _world, secret=secret: {"pk": planted.ids[secret.name]})
                paths.append(concrete_path(ROUTES[key], args, world))
    # The planted attachment: through its own product, and through a product the persona may see.
    for product_pk in (planted.attachment_product, world.published_product.pk):
        paths.append(f"/products/{product_pk}/attachments/{planted.ids['amber-rpd-pdf']}/")
    # Comparing a visible product with a hidden one.
    paths.append(f"/products/{world.published_product.pk}/compare/{planted.ids['amber-rpd']}/")
    paths.append(f"/products/{planted.ids['amber-rpd']}/compare/{world.published_product.pk}/")
    # Every API object route, on every planted item of its kind.
    for key in OPERATIONS:
        method, path = key.split(" ", 1)
        if method == "GET" and "{id}" in path:
            paths += [path.replace("{id}", str(planted.ids[s.name])) for s in SECRETS if s.kind == kind_of(path)]
    # Searches and lists, for the markers themselves.
    searches = ["/products/", "/api/v1/products/", "/requests/", "/api/v1/rfis/", "/api/v1/inbox/", "/inbox/"]
    paths += [f"{path}?q={RUN}" for path in searches] + [f"{path}?q=SECRET-MARKER" for path in searches]
    paths += [f"/api/v1/incidents/{world.flood.pk}/feed/", f"/api/v1/incidents/{world.drill.pk}/feed/"]
    paths += ["/api/v1/products/?include_expired=true&page_size=200", "/api/v1/sitreps/", "/api/v1/webhooks/"]
    return sorted(set(paths))


def test_every_page_route_with_a_planted_kind_is_scanned_with_it():
    prefixes = ("sharing:product-", "sharing:request-", "eoc:entry-", "dissemination:inbox-", "dissemination:webhook-")
    prefixes += ("liaison:relay-", "liaison:rule-", "liaison:awareness-")
    takes_pk = {key for key, route in ROUTES.items() if key.startswith(prefixes) and "<int:pk>" in route.pattern}
    # Actions that take a POST only answer 405 to a GET before they look at the object.
    post_only = {
        key for key in takes_pk if not isinstance(EXPECTATIONS[key], list) and EXPECTATIONS[key].default == 405
    }
    # Two products: paths_to_scan pairs a hidden one with a visible one. A feed entry's attachment: no
    # planted entry has one yet.
    by_hand = {"sharing:product-compare", "eoc:entry-attachment-download"}
    missing = sorted(takes_pk - post_only - by_hand - set(PAGE_OBJECT_ROUTES))
    assert not missing, f"Add these routes to PAGE_OBJECT_ROUTES: {missing}"


@pytest.mark.parametrize("persona", PERSONAS)
def test_no_marked_text_reaches_a_persona_who_may_not_read_it(db, browser, planted, persona):
    leaks = []
    for path in paths_to_scan(planted):
        status, body = fetch(browser, "GET", path, persona, planted)
        # /healthz answers 503 where no Celery worker runs; nothing else may fail.
        assert status < 500 or path == "/healthz", f"GET {path} as {persona}: {status}"
        found = leaked(body, persona)
        if found:
            leaks.append(f"GET {path} ({status}): {found}")
    assert not leaks, f"{persona} received marked text: " + "; ".join(leaks)


def test_readers_do_read_the_marked_text(db, browser, planted):
    """The markers are where the test looks: each reader finds them on the item's API detail."""
    details = {
        "product": "/api/v1/products/{id}/",
        "feed_entry": "/api/v1/feed-entries/{id}/cap/",
        "rfi": "/api/v1/rfis/{id}/",
        "delivery": "/api/v1/inbox/{id}/",
        "webhook": "/api/v1/webhooks/{id}/",
        "attachment": "/products/" + str(planted.attachment_product) + "/attachments/{id}/",
        "relay": "/api/v1/relays/{id}/",
        "routing_rule": "/api/v1/routing-rules/{id}/",
        "liaison_assignment": "/api/v1/liaison-assignments/{id}/",
    }
    # An item of a center's queue is read there by the center, and through the relay that brought it
    # (its label names the entry) by the EOC that sent it.
    items = planted.liaison.by_name()
    relays_of_items = {secret.name: items[secret.name].relay_id for secret in SECRETS if secret.kind == "awareness"}
    for secret in SECRETS:
        for persona in secret.readers:
            if secret.kind == "awareness":
                path = f"/api/v1/relays/{relays_of_items[secret.name]}/"
            else:
                path = details[secret.kind].replace("{id}", str(planted.ids[secret.name]))
            status, body = fetch(browser, "GET", path, persona, planted)
            assert status == 200, f"GET {path} as {persona}: {status}"
            assert secret.marker in body or not secret.has_text, f"{secret.name} not in GET {path} as {persona}"
        for persona in secret.seers:
            path = details[secret.kind].replace("{id}", str(planted.ids[secret.name]))
            status, body = fetch(browser, "GET", path, persona, planted)
            assert status == 200, f"GET {path} as {persona}: {status}"
            assert secret.marker not in body


# --- the liaison app's writes: every role on each side of the agencies' lines ------------------------


def liaison_state() -> tuple:
    """What the liaison writes change, and what they make elsewhere (entries, requests, products)."""
    return (
        sorted(Relay.objects.values_list("pk", "state", "note", "rejection_reason", "acknowledged_by_id")),
        sorted(RoutingRule.objects.values_list("pk", "name", "target_eoc_id", "is_active")),
        sorted(LiaisonAssignment.objects.values_list("pk", "officer_id", "eoc_id", "ends_at", "note")),
        sorted(DutyContact.objects.values_list("pk", "person_id", "on_date", "phone")),
        sorted(AwarenessItem.objects.values_list("pk", "state", "product_id")),
        RequestForInformation.objects.count(),
        ThreatProduct.objects.count(),
        FeedEntry.objects.count(),
        FeedAcknowledgement.objects.count(),
    )


def send_as(client: Client, method: str, path: str, persona: str, planted: Planted, body: dict) -> tuple[int, str]:
    """Send a write as the persona: to the API as JSON, to a page as a form. For a redirect, the page it
    leads to is read too (its messages say what happened)."""
    client.cookies.clear()
    client.force_login(planted.world.people[persona])
    options = {"content_type": "application/json"} if path.startswith("/api/") else {}
    response = getattr(client, method.lower())(path, body, **options)
    # A live stream (the feeds' server-sent events) is read with the feed's own tests.
    text = "" if response.streaming else response.content.decode(errors="replace")
    status = response.status_code
    close(response)
    if status == 302 and response["Location"].startswith("/"):
        followed = client.get(response["Location"])
        text += followed.content.decode(errors="replace")
        close(followed)
    return status, text


def view_module(key: str) -> str:
    """The module of the view that answers an API operation."""
    match = resolve(re.sub(r"\{\w+\}", "1", key.split(" ", 1)[1]))
    return getattr(match.func, "cls", match.func).__module__


def liaison_routes() -> set[str]:
    """Every route of the liaison app: its pages (liaison/urls.py), and its API's writes (liaison/api.py)."""
    pages = {key for key in ROUTES if key.startswith("liaison:")}
    api = {key for key in OPERATIONS if not key.startswith("GET ") and view_module(key).startswith("liaison.")}
    return pages | api


def test_every_liaison_route_has_its_lines():
    """A new page or API write of the liaison app fails here until LIAISON_WRITES (or LIAISON_READS) says
    what each persona gets from it, on each side."""
    routes = liaison_routes()
    missing = sorted(routes - set(LIAISON_WRITES) - LIAISON_READS)
    assert not missing, f"Add these liaison routes to LIAISON_WRITES or LIAISON_READS (expectations.py): {missing}"
    gone = sorted((set(LIAISON_WRITES) | LIAISON_READS) - routes)
    assert not gone, f"These are in LIAISON_WRITES or LIAISON_READS but are not liaison routes: {gone}"
    api = sorted(key for key in routes if not key.startswith("liaison:"))
    assert api, "the liaison API's writes were not found"
    assert all(API_OPERATIONS[key].elsewhere for key in api), (
        "API_OPERATIONS leaves the liaison writes to LIAISON_WRITES"
    )


def test_every_write_of_the_api_aims_at_an_object_that_exists(db, planted):
    """A write line aimed at an id no object has answers 404 to everyone and tests no role at all (as the
    liaison writes' lines once did)."""
    for key, expect in API_OPERATIONS.items():
        if "{id}" in key and not expect.is_read and not expect.elsewhere:
            assert expect.target(planted.world) != ABSENT_ID, key


def liaison_write_cases():
    for key, writes in LIAISON_WRITES.items():
        for index, write in enumerate(writes):
            for persona in SIGNED_IN:
                yield pytest.param(key, index, persona, id=f"{key}[{write.target}]-{persona}")


@pytest.mark.parametrize(("key", "index", "persona"), list(liaison_write_cases()))
def test_liaison_write_answers_each_persona_on_each_side(db, browser, planted, key, index, persona):
    """Done (with its status) for the personas its line names; for everyone else the status the line gives,
    and nothing changed; and no marked text the persona may not read in what comes back."""
    write = LIAISON_WRITES[key][index]
    world, targets = planted.world, planted.liaison
    target = write.obj(world, targets) if write.obj else None
    if key.startswith("liaison:"):
        path = reverse(key, args=[target.pk] if target is not None else [])
    else:
        path = key.split(" ", 1)[1].replace("{id}", str(target.pk if target is not None else ""))
    method = "POST" if key.startswith("liaison:") else key.split(" ", 1)[0]
    body = write.body(world, targets)
    before = liaison_state()

    status, text = send_as(browser, method, path, persona, planted, body)

    expected = write.statuses(persona)
    said = " ".join(re.findall(r'class="usa-(?:error-message|alert__text)"[^>]*>([^<]*)<', text)) or text[:300]
    assert status in expected, f"{key} on {write.target} as {persona}: {status}, expected {expected}: {said}"
    if persona in write.allowed:
        assert write.done(world, targets, body), f"{key} on {write.target} as {persona}: answered {status}, not done"
    else:
        assert liaison_state() == before, f"{key} on {write.target} as {persona}: refused ({status}) but changed"
    assert not leaked(text, persona), f"{key} on {write.target} as {persona} received {leaked(text, persona)}"


@pytest.mark.parametrize("persona", SIGNED_IN)
@pytest.mark.parametrize("key", sorted(LIAISON_READS))
def test_a_post_to_a_liaison_page_that_reads_changes_nothing(db, browser, planted, key, persona):
    entry = EXPECTATIONS[key]
    path = concrete_path(ROUTES[key], entry[0] if isinstance(entry, list) else entry, planted.world)
    before = liaison_state()

    status, text = send_as(browser, "POST", path, persona, planted, {})

    assert status < 500, f"POST {path} as {persona}: {status}"
    assert liaison_state() == before, f"POST {path} as {persona} changed the liaison records"
    assert not leaked(text, persona)


# --- the page writes of the other apps: every role on each side of the agencies' lines ----------------


def app_state(app: str) -> tuple:
    """Every row of the app's tables but what reading records, the events its services record for the other
    apps, and the API tokens."""
    models = [model for model in apps.get_app_config(app).get_models() if model not in READ_MARKS]
    state = []
    for model in [*models, DomainEvent, AuthToken]:
        skipped = UNTRACKED_FIELDS.get(model, ())
        fields = [field.attname for field in model._meta.concrete_fields if field.name not in skipped]
        state.append(tuple(model.objects.order_by("pk").values_list(*fields)))
    return tuple(state)


def page_views() -> dict[str, str]:
    """Each route's key (as ROUTES has it) and the dotted path of its view."""

    def walk(patterns, namespace: str = ""):
        for entry in patterns:
            if isinstance(entry, URLResolver):
                yield from walk(entry.url_patterns, ":".join(part for part in (namespace, entry.namespace) if part))
            else:
                name = f"{namespace}:{entry.name}" if namespace and entry.name else entry.name
                yield name or "", entry.lookup_str

    return dict(walk(get_resolver().url_patterns))


def app_page_routes(app: str) -> set[str]:
    """The app's page routes: those its views answer, but the API's and the Django admin's."""
    return {
        key
        for key, view in page_views().items()
        if view.startswith(f"{app}.")
        and key in ROUTES
        and not ROUTES[key].pattern.startswith(("api/", "admin/"))
        and not key.startswith("admin:")
    }


@pytest.mark.parametrize("app", sorted(APP_WRITES))
def test_every_page_route_of_the_app_has_its_lines(app):
    """A new page of these apps fails here until its app's writes (or reads) in page_writes.py say what each
    persona gets from a POST to it, on each side."""
    writes, reads = APP_WRITES[app]
    routes = app_page_routes(app)
    missing = sorted(routes - set(writes) - reads)
    assert not missing, f"Add these {app} routes to its writes or reads (tests/fusionhub/page_writes.py): {missing}"
    gone = sorted((set(writes) | reads) - routes)
    assert not gone, f"These are in the {app} writes or reads but are not routes of the app: {gone}"


def app_write_cases():
    for app, (writes, _reads) in APP_WRITES.items():
        for key, lines in writes.items():
            for index, write in enumerate(lines):
                for persona in SIGNED_IN:
                    yield pytest.param(app, key, index, persona, id=f"{key}[{write.target}]-{persona}")


@pytest.mark.parametrize(("app", "key", "index", "persona"), list(app_write_cases()))
def test_page_write_answers_each_persona_on_each_side(db, browser, planted, app, key, index, persona):
    """Done (with its status) for the personas its line names; for everyone else the status the line gives,
    and nothing of the app changed; and no marked text the persona may not read in what comes back (nor on
    the page a redirect leads to)."""
    write = APP_WRITES[app][0][key][index]
    world, targets = planted.world, planted.pages
    target = write.obj(world, targets) if write.obj else ()
    # An object, the objects of a path that names two (a product and its attachment), or a key.
    items = target if isinstance(target, tuple) else (target,)
    path = reverse(key, args=[item if isinstance(item, str) else item.pk for item in items])
    body = write.body(world, targets)
    before = None if persona in write.allowed else app_state(app)

    status, text = send_as(browser, "POST", path, persona, planted, body)

    expected = write.statuses(persona)
    said = " ".join(re.findall(r'class="usa-(?:error-message|alert__text)"[^>]*>([^<]*)<', text)) or text[:300]
    assert status in expected, f"{key} on {write.target} as {persona}: {status}, expected {expected}: {said}"
    if persona in write.allowed:
        done = write.done(world, targets, {**body, "by": persona})
        assert done, f"{key} on {write.target} as {persona}: answered {status}, not done"
    else:
        assert app_state(app) == before, f"{key} on {write.target} as {persona}: refused ({status}) but changed"
    assert not leaked(text, persona), f"{key} on {write.target} as {persona} received {leaked(text, persona)}"


def app_read_cases():
    for app, (_writes, reads) in APP_WRITES.items():
        for key in sorted(reads):
            for persona in SIGNED_IN:
                yield pytest.param(app, key, persona, id=f"{key}-{persona}")


@pytest.mark.parametrize(("app", "key", "persona"), list(app_read_cases()))
def test_a_post_to_a_page_that_reads_changes_nothing(db, browser, planted, app, key, persona):
    entry = EXPECTATIONS[key]
    path = concrete_path(ROUTES[key], entry[0] if isinstance(entry, list) else entry, planted.world)
    before = app_state(app)

    status, text = send_as(browser, "POST", path, persona, planted, {})

    assert status < 500, f"POST {path} as {persona}: {status}"
    assert app_state(app) == before, f"POST {path} as {persona} changed the {app} records"
    assert not leaked(text, persona)
