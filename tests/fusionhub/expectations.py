"""The URL-by-role matrix's table: for every URL pattern, what each persona gets on a GET.

A new route is added here the day it appears (test_url_matrix fails until it is). An entry is
keyed by the URL name (with its namespace, "sharing:product-list"), or by the pattern itself for
a pattern without a name. It gives a default status for signed-in people, the status for the
anonymous visitor, exceptions per persona, and how to fill the path's converters from the world
(the demo region plus a few objects every route can point at). A route that deserves several
objects (one each persona may see, one they may not) takes a list of labelled entries.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from django.contrib import admin
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from knox.models import AuthToken

from agencies.demo import DemoRegion, seed_region
from agencies.markings import TLP
from agencies.models import AccountLockout, Agency, ArchivedAuditEntry, AuditEntry, Jurisdiction, Role, User
from agencies.services import create_person
from dissemination.models import Delivery, Dispatch, WebhookEndpoint
from eoc.demo import seed_incidents
from eoc.models import FeedEntry, FeedEntryAttachment, Incident, ResourceRequest, SituationReport, Task
from eoc.services.feed import EntryContent, post_entry
from eoc.services.incidents import IncidentDetails, open_incident
from eoc.services.logistics import write_situation_report
from liaison.handlers import relay_product_by_rules
from liaison.models import AwarenessItem, Direction, DutyContact, LiaisonAssignment, Relay, RoutingRule
from liaison.services import (
    ENTRY,
    PRODUCT,
    RuleDetails,
    Target,
    assign_liaison,
    create_rule,
    relay_by_rule,
    set_duty_contact,
)
from sharing.demo import seed_products
from sharing.models import ProductAttachment, RequestForInformation, RetentionReview, ThreatProduct
from sharing.services.attachments import add_attachment
from sharing.services.products import (
    ProductContent,
    approve_product,
    create_product,
    start_update,
    submit_for_review,
)
from sharing.services.requests import submit_request

ANONYMOUS = "anonymous"
# The demo region's people, one per role (agencies/demo.py).
PERSONAS = (ANONYMOUS, "analyst", "supervisor", "liaison", "coordinator", "wake.admin", "rpd.partner", "sysadmin")
SIGNED_IN = PERSONAS[1:]
WAKE_EOC = ("coordinator", "wake.admin")
STAFF = ("wake.admin", "sysadmin")

Status = int | tuple[int, ...]


@dataclass
class LiaisonWorld:
    """The liaison app's objects: NCISAAC's rules, a proposed relay of the published product to the
    Wake County EOC, a flood entry relayed back (with its situational-awareness item), the liaison
    officer's assignment to Wake County and today's contact of the day."""

    rule: RoutingRule
    proposed_relay: Relay
    delivered_relay: Relay  # a feed entry of the flood, to NCISAAC
    awareness_item: AwarenessItem
    assignment: LiaisonAssignment
    duty_contact: DutyContact


def build_liaison_world(region: DemoRegion, published: ThreatProduct, entry: FeedEntry) -> LiaisonWorld:
    liaison, wake = region.people["liaison"], region.agencies["WAKE-EOC"]
    rule = create_rule(by=liaison, details=RuleDetails(name="Products to Wake County", target_eoc=wake))
    proposed = relay_product_by_rules(published)[0]
    from_wake = create_rule(
        by=liaison,
        details=RuleDetails(
            name="Wake County's entries", target_eoc=wake, direction=Direction.TO_FUSION_CENTER, mode="automatic"
        ),
    )
    delivered, _ = relay_by_rule(
        source=entry,
        source_type=ENTRY,
        direction=Direction.TO_FUSION_CENTER,
        rule=from_wake,
        target=Target(wake, entry.incident),
    )
    return LiaisonWorld(
        rule=rule,
        proposed_relay=proposed,
        delivered_relay=delivered,
        awareness_item=AwarenessItem.objects.get(relay=delivered),
        assignment=assign_liaison(by=liaison, officer=liaison, eoc=wake, phone="919-555-0142"),
        duty_contact=set_duty_contact(by=liaison, person=liaison, on_date=timezone.localdate()),
    )


@dataclass
class World:
    """What the paths point at: the demo region with its products and incidents, and a few more."""

    region: DemoRegion
    published_product: ThreatProduct  # TLP:GREEN to the whole state
    strict_product: ThreatProduct  # TLP:AMBER+STRICT, LES, to two police agencies only
    product_in_review: ThreatProduct
    next_version: ThreatProduct  # the draft update of published_product
    attachment: ProductAttachment  # a PDF on next_version
    flood: Incident  # Wake County EOC's real incident
    drill: Incident  # Mecklenburg's exercise, seen only by its participants
    feed_entry: FeedEntry
    feed_attachment: FeedEntryAttachment  # a PDF on a TLP:GREEN entry of the flood
    les_feed_attachment: FeedEntryAttachment  # a PDF on an LES entry of the flood, with a tearline
    sitrep: SituationReport
    resource_request: ResourceRequest
    task: Task
    rfi: RequestForInformation  # from the Wake County EOC to the fusion center
    token: AuthToken  # the analyst's
    lockout: AccountLockout
    liaison: LiaisonWorld
    audit_entry: AuditEntry  # the publishing of the first product
    archived_audit_entry: ArchivedAuditEntry

    @property
    def people(self) -> dict[str, User]:
        return self.region.people

    @property
    def wake_eoc(self) -> Agency:
        return self.region.agencies["WAKE-EOC"]

    @property
    def wake_county(self) -> Jurisdiction:
        return self.region.jurisdictions["wake"]


def build_world() -> World:
    region = seed_region()
    products = {product.title.split(":")[0]: product for product in seed_products(region)}
    flood, drill = seed_incidents(region)
    people = region.people
    published = ThreatProduct.objects.get(title__startswith="Tropical Storm Helene")
    next_version = start_update(product=published, by=people["analyst"])
    feed_entry = flood.entries.order_by("pk").first()
    return World(
        region=region,
        published_product=published,
        strict_product=products["Officer safety"],
        product_in_review=products["Special event threat assessment"],
        next_version=next_version,
        attachment=add_attachment(
            product=next_version,
            by=people["analyst"],
            uploaded_file=SimpleUploadedFile("river-gauges.pdf", b"%PDF-1.4\n%%EOF\n", "application/pdf"),
        ),
        flood=flood,
        drill=drill,
        feed_entry=feed_entry,
        feed_attachment=feed_attachment(flood, people["coordinator"], caveats=[]),
        les_feed_attachment=feed_attachment(flood, people["liaison"], caveats=["LES"]),
        sitrep=write_situation_report(
            incident=flood,
            period=flood.operational_periods.order_by("-number").first(),
            by=people["coordinator"],
            sections={},
        ),
        resource_request=ResourceRequest.objects.get(incident=flood),
        task=Task.objects.get(incident=flood),
        rfi=submit_request(
            by=people["coordinator"],
            question="Are there known threats to the shelters opening in Knightdale?",
            due_date=timezone.localdate() + datetime.timedelta(days=2),
        ),
        token=AuthToken.objects.create(user=people["analyst"])[0],
        lockout=AccountLockout.objects.create(
            username="analyst2",
            failure_count=5,
            first_failure_at=timezone.now(),
            last_failure_at=timezone.now(),
            locked_at=timezone.now(),
        ),
        liaison=build_liaison_world(region, published, feed_entry),
        audit_entry=AuditEntry.objects.order_by("pk").first(),
        archived_audit_entry=ArchivedAuditEntry.objects.create(
            id=0, at=timezone.now() - datetime.timedelta(days=400), action="sign_in", username="analyst"
        ),
    )


def feed_attachment(incident: Incident, by: User, *, caveats: list[str]) -> FeedEntryAttachment:
    entry = post_entry(
        by=by,
        incident=incident,
        content=EntryContent(
            kind=FeedEntry.Kind.SITUATION_UPDATE,
            title="Shelter map",
            caveats=caveats,
            tearline="Shelters open in Knightdale and Garner." if caveats else "",
        ),
        attachments=[SimpleUploadedFile("shelters.pdf", b"%PDF-1.4\n%%EOF\n", "application/pdf")],
    )
    return entry.attachments.get()


Args = Callable[[World], Mapping[str, object]]


@dataclass(frozen=True)
class Expect:
    """What a GET of one route answers each persona; `args` fills the path's converters."""

    default: Status
    anonymous: Status
    personas: Mapping[str, Status] = field(default_factory=lambda: MappingProxyType({}))
    args: Args | None = None
    is_json: bool = False
    label: str = ""

    def __post_init__(self) -> None:
        unknown = set(self.personas) - set(SIGNED_IN)
        assert not unknown, f"not personas of the matrix: {sorted(unknown)}"

    def statuses(self, persona: str) -> tuple[int, ...]:
        status = self.anonymous if persona == ANONYMOUS else self.personas.get(persona, self.default)
        return status if isinstance(status, tuple) else (status,)


def only(status: Status, *personas: str) -> dict[str, Status]:
    return dict.fromkeys(personas, status)


def page(default: Status, personas: Mapping[str, Status] | None = None, **options) -> Expect:
    """A browser page: the anonymous visitor is sent to the sign-in page."""
    return Expect(default, options.pop("anonymous", 302), MappingProxyType(dict(personas or {})), **options)


def api(default: Status, personas: Mapping[str, Status] | None = None, **options) -> Expect:
    """An API route: JSON for everyone, 401 for a caller without a session or a token."""
    options.setdefault("is_json", True)
    return Expect(default, options.pop("anonymous", 401), MappingProxyType(dict(personas or {})), **options)


def pk(name: str, key: str = "pk") -> Args:
    return lambda world: {key: getattr(world, name).pk}


def entry_attachment_args(attachment: FeedEntryAttachment, entry_key: str) -> dict[str, int]:
    """The browser's route names the entry `entry_pk` and the file `pk`; the API's, `pk` and `attachment_pk`."""
    if entry_key == "pk":
        return {"pk": attachment.entry_id, "attachment_pk": attachment.pk}
    return {"entry_pk": attachment.entry_id, "pk": attachment.pk}


def liaison_pk(name: str) -> Args:
    return lambda world: {"pk": getattr(world.liaison, name).pk}


# The dissemination pages' objects: the published product's dispatch, an inbox delivery of it to the
# Wake County coordinator, and a webhook endpoint of the Wake County EOC (made on first use; each test
# rolls them back).
RECORD_KEEPERS = ("analyst", "supervisor", "sysadmin")


def dispatch(world: World) -> Dispatch:
    return Dispatch.objects.get(item_type="sharing.threatproduct", item_id=world.published_product.pk)


def inbox_delivery(world: World) -> Delivery:
    return Delivery.objects.get_or_create(
        dispatch=dispatch(world),
        recipient=world.people["coordinator"],
        channel=Delivery.Channel.INBOX,
        defaults={"state": Delivery.State.SENT},
    )[0]


def wake_endpoint(world: World) -> WebhookEndpoint:
    return WebhookEndpoint.objects.get_or_create(
        agency=world.wake_eoc, url="https://hooks.wake.example.gov/fusionhub", defaults={"secret": "whsec_test"}
    )[0]


# The liaison API's objects: a rule of NCISAAC to the Wake County EOC, the relay it proposes of the
# published product, and the liaison officer's assignment to that EOC (made on first use; each test
# rolls them back). The fusion center's people and the EOC's see them; the police partner does not.
NOT_LIAISON_PARTIES = only(404, "rpd.partner")


def routing_rule(world: World) -> RoutingRule:
    return RoutingRule.objects.filter(target_eoc=world.wake_eoc).first() or create_rule(
        by=world.people["liaison"], details=RuleDetails(name="Everything to Wake County", target_eoc=world.wake_eoc)
    )


def relay(world: World) -> Relay:
    return relay_by_rule(
        source=world.published_product,
        source_type=PRODUCT,
        direction=Direction.TO_EOC,
        rule=routing_rule(world),
        target=Target(world.wake_eoc),
    )[0]


def liaison_assignment(world: World) -> LiaisonAssignment:
    officer = world.people["liaison"]
    return LiaisonAssignment.objects.filter(eoc=world.wake_eoc).first() or assign_liaison(
        by=officer, officer=officer, eoc=world.wake_eoc
    )


def retention_review(world: World) -> RetentionReview:
    """An open retention review of the published product at the fusion center (made on first use)."""
    product = world.published_product
    return RetentionReview.objects.get_or_create(
        number=product.number,
        state=RetentionReview.State.OPEN,
        defaults={"agency": product.originating_agency, "product": product, "due_date": timezone.localdate()},
    )[0]


# Who may see what (the visibility policy, agencies/visibility.py and each app's visible_to):
# the fusion center's own people see its drafts; the AMBER+STRICT product reaches only the two
# police agencies it names and the center; the Mecklenburg drill only its participants; an RFI
# only the fusion center that received it and the agency that asked.
NOT_STRICT_AUDIENCE = only(404, "coordinator", "wake.admin")
RFI_OUTSIDERS = only(404, "rpd.partner")
NOT_LES_READERS = {**NOT_STRICT_AUDIENCE, "sysadmin": 404}
# Those who see an LES item's tearline but not its full text (nor its files): no law-enforcement status.
LES_TEARLINE_READERS = only(404, *WAKE_EOC, "sysadmin")

EXPECTATIONS: dict[str, Expect | list[Expect]] = {
    # --- site -------------------------------------------------------------------------------------
    "dashboard": page(200),
    # 200 with a Celery worker answering, 503 without one; JSON either way.
    "healthz": Expect((200, 503), anonymous=(200, 503), is_json=True),
    # --- people (agencies/urls.py) ----------------------------------------------------------------
    "sign-in": page(302, anonymous=200),
    # The second step: whoever has passed it (every persona here) goes on to the page they asked for.
    "sign-in-verify": page(302),
    "sign-in-enrol": page(302),
    "recovery-codes": page(302),
    "sign-out": page(405, anonymous=405),
    "profile": page(200),
    "create-token": page(405),
    "revoke-token": page(405, args=lambda world: {"token_key": world.token.token_key}),
    "locked-accounts": page(403, only(200, *STAFF)),
    "unlock-account": page(405, args=lambda world: {"pk": world.people["analyst2"].pk}),
    # The audit trail: system admins read all of it, agency admins their own agency's people's.
    "audit-trail": page(403, only(200, *STAFF)),
    "audit-export": page(403, only(200, *STAFF)),
    # --- threat products (sharing/product_urls.py) -------------------------------------------------
    "sharing:product-list": page(200),
    "sharing:product-create": page(403, only(200, "analyst", "supervisor")),
    "sharing:product-preview": page(405),
    "sharing:audience-preview": page(405),
    "sharing:review-queue": page(403, only(200, "supervisor")),
    # Retention reviews of criminal intelligence: the center's supervisors; a review is not even
    # found from another agency (404), and refused to the center's other people (403).
    "sharing:retention-queue": page(403, only(200, "supervisor")),
    "sharing:retention-decision": page(
        404,
        {"supervisor": 200, "analyst": 403, "liaison": 403, "sysadmin": 403},
        args=lambda world: {"pk": retention_review(world).pk},
    ),
    "sharing:product-detail": [
        page(200, args=pk("published_product"), label="green"),
        page(200, NOT_LES_READERS, args=pk("strict_product"), label="amber-strict"),
        page(404, only(200, "analyst", "supervisor"), args=pk("product_in_review"), label="in-review"),
    ],
    "sharing:product-print": page(200, NOT_LES_READERS, args=pk("strict_product")),
    "sharing:product-compare": page(
        404,
        only(200, "analyst", "supervisor"),
        args=lambda world: {"pk": world.published_product.pk, "other_pk": world.next_version.pk},
    ),
    "sharing:product-edit": page(404, only(200, "analyst", "supervisor"), args=pk("next_version")),
    # Each lifecycle action shows its confirmation form on GET (and acts on POST): to those who may
    # take it; 403 to those who see the product but may not; a redirect with a message when the state
    # does not allow it (an update of published_product is already being written).
    "sharing:product-submit": page(404, only(200, "analyst", "supervisor"), args=pk("next_version")),
    "sharing:product-approve": page(404, {"supervisor": 200, "analyst": 403}, args=pk("product_in_review")),
    "sharing:product-return": page(404, {"supervisor": 200, "analyst": 403}, args=pk("product_in_review")),
    "sharing:product-update": page(403, only(302, "analyst", "supervisor"), args=pk("published_product")),
    "sharing:product-retract": page(403, only(200, "supervisor"), args=pk("published_product")),
    # --- attachments (sharing/attachment_urls.py) ---------------------------------------------------
    "sharing:attachment-upload": page(405, args=pk("next_version", "product_pk")),
    "sharing:attachment-download": page(
        404,
        only(200, "analyst", "supervisor"),
        args=lambda world: {"product_pk": world.next_version.pk, "pk": world.attachment.pk},
    ),
    "sharing:attachment-delete": page(
        405, args=lambda world: {"product_pk": world.next_version.pk, "pk": world.attachment.pk}
    ),
    # --- requests for information (sharing/request_urls.py) ----------------------------------------
    "sharing:request-list": page(200),
    "sharing:request-create": page(200),
    "sharing:request-detail": page(200, RFI_OUTSIDERS, args=pk("rfi")),
    "sharing:request-assign": page(405, args=pk("rfi")),
    "sharing:request-answer": page(405, args=pk("rfi")),
    "sharing:request-close": page(405, args=pk("rfi")),
    # --- the live incident feed (eoc/urls.py, server-sent events) -----------------------------------
    # The test client is a WSGI one: a stream the person may follow answers 204 there (follow it on an
    # ASGI server; tests/eoc/test_live_feed.py reads the streams themselves).
    "eoc:incident-feed-stream": [
        page(204, args=pk("flood"), anonymous=401, label="real"),
        page(404, args=pk("drill"), anonymous=401, label="exercise"),
    ],
    "eoc:eoc-feed-stream": page(204, args=pk("wake_eoc"), anonymous=401),
    # --- the EOC's pages (eoc/page_urls.py) -----------------------------------------------------------
    # Every real incident is part of the common operating picture; the Mecklenburg drill is seen by
    # its participants only (none of these personas). Coordinators of the lead EOC run the incident;
    # liaison officers post to (and correct entries of) any feed they may see.
    "eoc:incident-list": page(200),
    "eoc:incident-create": page(403, only(200, "coordinator")),
    "eoc:incident-detail": [
        page(200, args=pk("flood"), label="real"),
        page(404, args=pk("drill"), label="exercise"),
    ],
    "eoc:incident-status": page(405, args=pk("flood")),
    "eoc:operational-period-start": page(405, args=pk("flood")),
    "eoc:cap-upload": page(405, args=pk("flood")),
    "eoc:entry-create": page(405, args=pk("flood")),
    "eoc:incident-feed-fragment": [
        page(200, args=pk("flood"), label="real"),
        page(404, args=pk("drill"), label="exercise"),
    ],
    "eoc:entry-acknowledge": page(405, args=pk("feed_entry")),
    "eoc:entry-correct": page(403, only(200, "coordinator", "liaison"), args=pk("feed_entry")),
    # An entry's files go to those who may read it in full: an LES entry's not to those without
    # law-enforcement status, who read its tearline.
    "eoc:entry-attachment-download": [
        page(200, args=lambda world: entry_attachment_args(world.feed_attachment, "entry_pk"), label="green"),
        page(
            200,
            LES_TEARLINE_READERS,
            args=lambda world: entry_attachment_args(world.les_feed_attachment, "entry_pk"),
            label="les",
        ),
    ],
    "eoc:sitrep-list": page(200, args=pk("flood")),
    "eoc:sitrep-create": page(403, only(200, "coordinator"), args=pk("flood")),
    "eoc:sitrep-detail": page(200, args=pk("sitrep")),
    "eoc:sitrep-edit": page(403, only(200, "coordinator"), args=pk("sitrep")),
    "eoc:sitrep-publish": page(405, args=pk("sitrep")),
    "eoc:sitrep-print": page(200, args=pk("sitrep")),
    "eoc:resource-board": page(200, args=pk("flood")),
    "eoc:resource-request-create": page(403, only(200, "coordinator"), args=pk("flood")),
    "eoc:resource-request-transition": page(403, only(200, "coordinator"), args=pk("resource_request")),
    "eoc:task-list": page(200, args=pk("flood")),
    "eoc:task-create": page(403, only(200, "coordinator"), args=pk("flood")),
    "eoc:task-status": page(405, args=pk("task")),
    # /eoc/ leads the people of an EOC to its dashboard; anyone else chooses one.
    "eoc:own-dashboard": page(200, only(302, *WAKE_EOC)),
    "eoc:dashboard": page(200, args=pk("wake_eoc")),
    "eoc:eoc-activation": page(200, args=pk("wake_eoc")),
    "eoc:eoc-feed": page(200, args=pk("wake_eoc")),
    "eoc:eoc-feed-fragment": page(200, args=pk("wake_eoc")),
    "eoc:eoc-entry-create": page(405, args=pk("wake_eoc")),
    # --- dissemination (dissemination/urls.py): inbox, records, preferences, channels, webhooks ----
    "dissemination:inbox": page(200),
    "dissemination:inbox-open": page(
        404, only(302, "coordinator"), args=lambda world: {"pk": inbox_delivery(world).pk}
    ),
    "dissemination:inbox-acknowledge": page(405, args=lambda world: {"pk": inbox_delivery(world).pk}),
    "dissemination:preferences": page(200),
    # The record of what NCISAAC sent: its analysts, supervisors and admins, and system admins.
    "dissemination:dispatch-record": page(
        404, only(200, *RECORD_KEEPERS), args=lambda world: {"pk": dispatch(world).pk}
    ),
    "dissemination:dispatch-progress": page(
        404, only(200, *RECORD_KEEPERS), args=lambda world: {"pk": dispatch(world).pk}
    ),
    "dissemination:item-record": page(
        404,
        only(200, *RECORD_KEEPERS),
        args=lambda world: {"item_type": "sharing.threatproduct", "item_id": world.published_product.pk},
    ),
    "dissemination:agency-channels": page(404, only(200, *STAFF), args=lambda world: {"agency_id": world.wake_eoc.pk}),
    "dissemination:webhook-list": page(403, only(200, *STAFF)),
    "dissemination:webhook-create": page(403, only(200, *STAFF)),
    "dissemination:webhook-detail": page(404, only(200, *STAFF), args=lambda world: {"pk": wake_endpoint(world).pk}),
    "dissemination:webhook-set-active": page(405, args=lambda world: {"pk": wake_endpoint(world).pk}),
    "dissemination:webhook-format": page(405, args=lambda world: {"pk": wake_endpoint(world).pk}),
    "dissemination:webhook-test": page(405, args=lambda world: {"pk": wake_endpoint(world).pk}),
    "dissemination:delivery-retry": page(405, args=lambda world: {"pk": 0}),
    # --- API: the directory and tokens (agencies/api_urls.py) ---------------------------------------
    "me": api(200),
    "api-token": api(405, anonymous=405),
    "agency-list": api(200),
    "agency-detail": api(200, args=pk("wake_eoc")),
    "jurisdiction-list": api(200),
    "jurisdiction-detail": api(200, args=pk("wake_county")),
    "user-list": api(403, only(200, *STAFF)),
    "user-detail": api(
        403, {"wake.admin": 200, "sysadmin": 200}, args=lambda world: {"pk": world.people["coordinator"].pk}
    ),
    # --- API: threat products (sharing/api_urls.py) -------------------------------------------------
    # The AMBER+STRICT product is LES without a tearline: the system admin, at the center but without
    # law-enforcement status, does not see it at all.
    "product-list": api(200),
    "product-detail": [
        api(200, args=pk("published_product"), label="green"),
        api(200, NOT_LES_READERS, args=pk("strict_product"), label="amber-strict"),
        api(404, only(200, "analyst", "supervisor"), args=pk("product_in_review"), label="in-review"),
    ],
    "product-versions": [
        api(200, args=pk("published_product"), label="green"),
        api(200, NOT_LES_READERS, args=pk("strict_product"), label="amber-strict"),
    ],
    # application/stix+json; a product in review has no STIX report yet (400 for those who see it).
    "product-stix": [
        Expect(200, anonymous=401, args=pk("published_product"), label="green"),
        Expect(200, 401, NOT_LES_READERS, args=pk("strict_product"), label="amber-strict"),
        Expect(404, 401, only(400, "analyst", "supervisor"), args=pk("product_in_review"), label="in-review"),
    ],
    "product-submit": api(405, args=pk("next_version")),
    "product-return": api(405, args=pk("product_in_review")),
    "product-approve": api(405, args=pk("product_in_review")),
    "product-start-update": api(405, args=pk("published_product")),
    "product-retract": api(405, args=pk("published_product")),
    # --- API: requests for information (sharing/request_api_urls.py) --------------------------------
    "rfi-list": api(200),
    "rfi-detail": api(200, RFI_OUTSIDERS, args=pk("rfi")),
    # The actions take a POST only: a GET answers 405 whoever asks, so it tells an outsider nothing.
    "rfi-answer": api(405, args=pk("rfi")),
    "rfi-assign": api(405, args=pk("rfi")),
    "rfi-close": api(405, args=pk("rfi")),
    # --- API: the EOC (eoc/api_urls.py) -------------------------------------------------------------
    "eoc-activation": api(200, args=pk("wake_eoc")),
    "cap-import": api(405),
    "incident-list": api(200),
    "incident-detail": [
        api(200, args=pk("flood"), label="real"),
        api(404, args=pk("drill"), label="exercise"),
    ],
    "incident-change-status": api(405, args=pk("flood")),
    "incident-feed": api(200, args=pk("flood")),
    "feed-entry-acknowledge": api(405, args=pk("feed_entry")),
    "feed-entry-cap": Expect(200, anonymous=401, args=pk("feed_entry")),
    # The file itself (application/pdf), to full readers only, as on the page.
    "feed-entry-attachment": [
        Expect(200, 401, args=lambda world: entry_attachment_args(world.feed_attachment, "pk"), label="green"),
        Expect(
            200,
            401,
            LES_TEARLINE_READERS,
            args=lambda world: entry_attachment_args(world.les_feed_attachment, "pk"),
            label="les",
        ),
    ],
    "sitrep-list": api(200),
    "sitrep-detail": api(200, args=pk("sitrep")),
    "sitrep-publish": api(405, args=pk("sitrep")),
    "resource-request-list": api(200),
    "resource-request-detail": api(200, args=pk("resource_request")),
    "resource-request-transition": api(405, args=pk("resource_request")),
    "task-list": api(200),
    "task-detail": api(200, args=pk("task")),
    "task-change-status": api(405, args=pk("task")),
    # --- API: dissemination (dissemination/api_urls.py) ---------------------------------------------
    "inbox-list": api(200),
    "inbox-detail": api(404, only(200, "coordinator"), args=lambda world: {"pk": inbox_delivery(world).pk}),
    "inbox-read": api(405, args=lambda world: {"pk": inbox_delivery(world).pk}),
    "inbox-acknowledge": api(405, args=lambda world: {"pk": inbox_delivery(world).pk}),
    "dispatch-detail": api(404, only(200, *RECORD_KEEPERS), args=lambda world: {"pk": dispatch(world).pk}),
    "dispatch-deliveries": api(404, only(200, *RECORD_KEEPERS), args=lambda world: {"pk": dispatch(world).pk}),
    "webhook-list": api(403, only(200, *STAFF)),
    "webhook-detail": api(404, only(200, *STAFF), args=lambda world: {"pk": wake_endpoint(world).pk}),
    # --- API: liaison (liaison/api_urls.py) -------------------------------------------------------------
    "liaison-assignment-list": api(200),
    "liaison-assignment-detail": api(200, NOT_LIAISON_PARTIES, args=lambda world: {"pk": liaison_assignment(world).pk}),
    "liaison-assignment-end": api(405, args=lambda world: {"pk": liaison_assignment(world).pk}),
    "routing-rule-list": api(200),
    "routing-rule-detail": api(200, NOT_LIAISON_PARTIES, args=lambda world: {"pk": routing_rule(world).pk}),
    "relay-list": api(200),
    # A proposed relay stays with the center until it is delivered (its label names the product).
    "relay-detail": api(
        200, {**only(404, *WAKE_EOC), **NOT_LIAISON_PARTIES}, args=lambda world: {"pk": relay(world).pk}
    ),
    "relay-approve": api(405, args=lambda world: {"pk": relay(world).pk}),
    "relay-reject": api(405, args=lambda world: {"pk": relay(world).pk}),
    "relay-acknowledge": api(405, args=lambda world: {"pk": relay(world).pk}),
    # --- API: its schema and docs, open to all ------------------------------------------------------
    "api-schema": Expect(200, anonymous=200),
    "api-docs": Expect(200, anonymous=200),
    # --- liaison (liaison/urls.py) ---------------------------------------------------------------------
    # For the fusion center's people and the EOCs' coordinators and admins, not for partners. A relay
    # proposed to an EOC stays with the center until it is delivered; what an EOC sent, it sees.
    "liaison:workspace": page(200, only(403, "rpd.partner")),
    "liaison:relay-history": page(200, only(403, "rpd.partner")),
    "liaison:relay-detail": [
        page(200, {**only(404, *WAKE_EOC), "rpd.partner": 403}, args=liaison_pk("proposed_relay"), label="proposed"),
        page(200, only(403, "rpd.partner"), args=liaison_pk("delivered_relay"), label="from-the-eoc"),
    ],
    "liaison:relay-approve": page(405, args=liaison_pk("proposed_relay")),
    # The rejection form: for the center's liaison officers (and system admins).
    "liaison:relay-reject": page(
        403, {**only(200, "liaison", "sysadmin"), **only(404, *WAKE_EOC)}, args=liaison_pk("proposed_relay")
    ),
    "liaison:relay-acknowledge": page(405, args=liaison_pk("delivered_relay")),
    # Manual relays are for liaison officers; without a product, the check has nothing to check.
    "liaison:relay-manual": page(403, only(200, "liaison")),
    "liaison:relay-check": page(403, only(404, "liaison")),
    "liaison:rule-list": page(200, only(403, *WAKE_EOC, "rpd.partner")),
    "liaison:rule-create": page(403, only(200, "liaison", "sysadmin")),
    "liaison:rule-edit": page(403, only(200, "liaison", "sysadmin"), args=liaison_pk("rule")),
    "liaison:assignment-list": page(200, only(403, *WAKE_EOC, "rpd.partner")),
    "liaison:assignment-create": page(405),
    "liaison:assignment-end": page(405, args=liaison_pk("assignment")),
    "liaison:duty-contact-set": page(405),
    "liaison:awareness-list": page(200, only(403, *WAKE_EOC, "rpd.partner")),
    "liaison:awareness-detail": page(200, only(403, *WAKE_EOC, "rpd.partner"), args=liaison_pk("awareness_item")),
    "liaison:awareness-start-product": page(405, args=liaison_pk("awareness_item")),
    "liaison:awareness-reviewed": page(405, args=liaison_pk("awareness_item")),
    # Coordinators of the agencies taking part in the incident raise requests from it.
    "liaison:incident-request": page(403, only(200, "coordinator"), args=pk("flood")),
}


# --- the admin site -----------------------------------------------------------------------------------
# Covered by its site pages and, for each registered model, its list, add, change, history and delete
# pages; test_url_matrix fails when a model is registered without a line here. Only staff (agency
# admins, system admins) enter the admin; everyone else is sent to the admin's sign-in page.

ADMIN_SITE: dict[str, Expect] = {
    "admin:index": page(302, only(200, *STAFF)),
    "admin:login": page(200, only(302, *STAFF), anonymous=200),
    # Sign-out takes a POST; whoever is not staff is sent to the admin's front page.
    "admin:logout": page(302, only(405, *STAFF)),
    "admin:password_change": page(302, only(200, *STAFF)),
    "admin:password_change_done": page(302, only(200, *STAFF)),
    "admin:autocomplete": page(302, only(403, *STAFF)),
    "admin:jsi18n": page(302, only(200, *STAFF)),
    "admin:app_list": page(302, only(200, *STAFF), args=lambda world: {"app_label": "agencies"}),
    "admin:view_on_site": page(302, only(404, *STAFF), args=lambda world: {"content_type_id": 0, "object_id": 0}),
    "admin:auth_user_password_change": page(
        302, only(200, *STAFF), args=lambda world: {"id": world.people["coordinator"].pk}
    ),
    "admin/(?P<url>.*)$": page(302, only(404, *STAFF), args=lambda world: {"url": "no-such-page/"}),
}

ADMIN_VIEWS = ("changelist", "add", "change", "history", "delete")


@dataclass(frozen=True)
class AdminModel:
    """One registered model: the object its change, history and delete pages open, and what the
    agency admin and the system admin get on each of its pages."""

    obj: Callable[[World], object]
    agency_admin: Mapping[str, int]
    system_admin: Mapping[str, int]


def each(status: int, **exceptions: int) -> dict[str, int]:
    return {view: exceptions.get(view, status) for view in ADMIN_VIEWS}


OTHER_CENTER = each(403, history=302)

ADMIN_MODELS: dict[str, AdminModel] = {
    # Agencies are deactivated, never deleted; an agency admin sees only their own.
    "agencies.agency": AdminModel(
        obj=lambda world: world.wake_eoc,
        agency_admin=each(200, add=403, delete=403),
        system_admin=each(200, delete=403),
    ),
    "agencies.jurisdiction": AdminModel(
        obj=lambda world: world.wake_county, agency_admin=each(403), system_admin=each(200)
    ),
    # People are deactivated, never deleted; an agency admin manages only their own agency's.
    "agencies.user": AdminModel(
        obj=lambda world: world.people["coordinator"],
        agency_admin=each(200, delete=403),
        system_admin=each(200, delete=403),
    ),
    "agencies.accountlockout": AdminModel(
        obj=lambda world: world.lockout, agency_admin=each(403), system_admin=each(200, add=403)
    ),
    # The dissemination record is read by system admins (operators) only, never changed by hand.
    "dissemination.dispatch": AdminModel(
        obj=dispatch, agency_admin=each(403), system_admin=each(200, add=403, delete=403)
    ),
    "dissemination.delivery": AdminModel(
        obj=inbox_delivery, agency_admin=each(403), system_admin=each(200, add=403, delete=403)
    ),
    # The liaison app: the fusion center's liaison officers and admins (and system admins); rules are
    # saved through the services, the rest is read here and made on the liaison pages. An EOC's admin
    # finds none of the center's rows (the history page of a row it cannot find sends it back).
    "liaison.routingrule": AdminModel(
        obj=lambda world: world.liaison.rule, agency_admin=OTHER_CENTER, system_admin=each(200, delete=403)
    ),
    "liaison.liaisonassignment": AdminModel(
        obj=lambda world: world.liaison.assignment,
        agency_admin=OTHER_CENTER,
        system_admin=each(200, add=403, delete=403),
    ),
    "liaison.dutycontact": AdminModel(
        obj=lambda world: world.liaison.duty_contact,
        agency_admin=OTHER_CENTER,
        system_admin=each(200, add=403, delete=403),
    ),
    "liaison.relay": AdminModel(
        obj=lambda world: world.liaison.proposed_relay,
        agency_admin=OTHER_CENTER,
        system_admin=each(200, add=403, delete=403),
    ),
    "liaison.awarenessitem": AdminModel(
        obj=lambda world: world.liaison.awareness_item,
        agency_admin=OTHER_CENTER,
        system_admin=each(200, add=403, delete=403),
    ),
    # The audit trail: read by system admins in the admin, never added to, changed or deleted by hand.
    "agencies.auditentry": AdminModel(
        obj=lambda world: world.audit_entry, agency_admin=each(403), system_admin=each(200, add=403, delete=403)
    ),
    "agencies.archivedauditentry": AdminModel(
        obj=lambda world: world.archived_audit_entry,
        agency_admin=each(403),
        system_admin=each(200, add=403, delete=403),
    ),
    "knox.authtoken": AdminModel(obj=lambda world: world.token, agency_admin=each(403), system_admin=each(200)),
}


def _admin_model_entries() -> dict[str, Expect]:
    entries: dict[str, Expect] = {}
    for label, spec in ADMIN_MODELS.items():
        app_label, model_name = label.split(".")
        for view in ADMIN_VIEWS:
            args = None if view in ("changelist", "add") else lambda world, spec=spec: {"object_id": spec.obj(world).pk}
            entries[f"admin:{app_label}_{model_name}_{view}"] = page(
                302, {"wake.admin": spec.agency_admin[view], "sysadmin": spec.system_admin[view]}, args=args
            )
        # The old-style object address redirects to the change page, for anyone.
        entries[f"admin/{app_label}/{model_name}/<path:object_id>/"] = page(
            302, args=lambda world, spec=spec: {"object_id": spec.obj(world).pk}
        )
    return entries


def registered_admin_models() -> set[str]:
    return {model._meta.label_lower for model in admin.site._registry}


EXPECTATIONS.update(ADMIN_SITE)
EXPECTATIONS.update(_admin_model_entries())


# --- the API's operations, from its OpenAPI schema --------------------------------------------------
# Every operation of /api/v1/schema/ has a line here (test_idor fails otherwise). A GET is answered by
# the URL matrix above (its route has a line in EXPECTATIONS); a write names the object it acts on and
# the personas who get past the checks of who they are. Sent with an empty body, a write answers
# those a success or a 400 for the missing input; everyone else is refused with a 403, or a 404 when
# they may not even see the object.

PASSED = (200, 201, 204, 400)
REFUSED = (403, 404)
# These check the input before the role (the service decides who may act): an empty body is refused
# as input (400) whoever sends it, and a complete one by someone without the role with a 403.
INPUT_FIRST = (400, 403, 404)


@dataclass(frozen=True)
class Op:
    allowed: tuple[str, ...] = ()
    target: Callable[[World], int] | None = None
    passed: Status = PASSED
    refused: Status = REFUSED
    is_read: bool = False
    elsewhere: bool = False  # a write whose lines are in LIAISON_WRITES, with targets and bodies

    def statuses(self, persona: str) -> tuple[int, ...]:
        status = self.passed if persona in self.allowed else self.refused
        return status if isinstance(status, tuple) else (status,)


READ = Op(is_read=True)
IN_LIAISON_WRITES = Op(elsewhere=True)
EVERYONE = SIGNED_IN
COORDINATORS = ("coordinator",)
ANALYSTS = ("analyst", "supervisor")


def target(name: str) -> Callable[[World], int]:
    return lambda world: getattr(world, name).pk


API_OPERATIONS: dict[str, Op] = {
    "GET /api/v1/agencies/": READ,
    "GET /api/v1/agencies/{id}/": READ,
    "GET /api/v1/jurisdictions/": READ,
    "GET /api/v1/jurisdictions/{id}/": READ,
    "GET /api/v1/me/": READ,
    # A signed-in browser session sends no token: the token endpoint answers 400 for the missing
    # username and password, and refuses to revoke a token that was not sent.
    "POST /api/v1/auth/token/": Op(EVERYONE),
    "DELETE /api/v1/auth/token/": Op(refused=401),
    "GET /api/v1/users/": READ,
    "POST /api/v1/users/": Op(STAFF),
    "GET /api/v1/users/{id}/": READ,
    "PUT /api/v1/users/{id}/": Op(STAFF, lambda world: world.people["coordinator"].pk),
    "PATCH /api/v1/users/{id}/": Op(STAFF, lambda world: world.people["coordinator"].pk),
    # --- threat products
    "GET /api/v1/products/": READ,
    "POST /api/v1/products/": Op(ANALYSTS, refused=INPUT_FIRST),
    "GET /api/v1/products/{id}/": READ,
    "PUT /api/v1/products/{id}/": Op(ANALYSTS, target("next_version")),
    "PATCH /api/v1/products/{id}/": Op(ANALYSTS, target("next_version")),
    "POST /api/v1/products/{id}/submit/": Op(ANALYSTS, target("next_version")),
    "POST /api/v1/products/{id}/approve/": Op(("supervisor",), target("product_in_review")),
    "POST /api/v1/products/{id}/return/": Op(("supervisor",), target("product_in_review")),
    "POST /api/v1/products/{id}/update/": Op(ANALYSTS, target("published_product")),
    "POST /api/v1/products/{id}/retract/": Op(("supervisor",), target("published_product")),
    "GET /api/v1/products/{id}/versions/": READ,
    "GET /api/v1/products/{id}/stix/": READ,
    # --- requests for information
    "GET /api/v1/rfis/": READ,
    "POST /api/v1/rfis/": Op(EVERYONE),
    "GET /api/v1/rfis/{id}/": READ,
    "POST /api/v1/rfis/{id}/assign/": Op(("supervisor",), target("rfi")),
    # Only the analyst it is assigned to answers (nobody yet: 403 to all); the requester or a
    # supervisor of the fusion center closes it.
    "POST /api/v1/rfis/{id}/answer/": Op((), target("rfi")),
    "POST /api/v1/rfis/{id}/close/": Op(("coordinator", "supervisor"), target("rfi")),
    # --- the EOC
    "GET /api/v1/eocs/{id}/activation/": READ,
    "POST /api/v1/eocs/{id}/activation/": Op(COORDINATORS, target("wake_eoc"), refused=INPUT_FIRST),
    # The CAP import takes XML only: a JSON body is refused as such (415) before anything else.
    "POST /api/v1/cap/": Op(COORDINATORS, passed=415, refused=415),
    "GET /api/v1/incidents/": READ,
    "POST /api/v1/incidents/": Op(COORDINATORS, refused=INPUT_FIRST),
    "GET /api/v1/incidents/{id}/": READ,
    "POST /api/v1/incidents/{id}/status/": Op(COORDINATORS, target("flood"), refused=INPUT_FIRST),
    "GET /api/v1/incidents/{id}/feed/": READ,
    "POST /api/v1/incidents/{id}/feed/": Op((*COORDINATORS, "liaison"), target("flood"), refused=INPUT_FIRST),
    "POST /api/v1/feed-entries/{id}/acknowledge/": Op(EVERYONE, target("feed_entry")),
    "GET /api/v1/feed-entries/{id}/cap/": READ,
    "GET /api/v1/sitreps/": READ,
    "POST /api/v1/sitreps/": Op(COORDINATORS, refused=INPUT_FIRST),
    "GET /api/v1/sitreps/{id}/": READ,
    "PUT /api/v1/sitreps/{id}/": Op(COORDINATORS, target("sitrep"), refused=INPUT_FIRST),
    "PATCH /api/v1/sitreps/{id}/": Op(COORDINATORS, target("sitrep")),
    "POST /api/v1/sitreps/{id}/publish/": Op(COORDINATORS, target("sitrep")),
    "GET /api/v1/resource-requests/": READ,
    "POST /api/v1/resource-requests/": Op(COORDINATORS, refused=INPUT_FIRST),
    "GET /api/v1/resource-requests/{id}/": READ,
    "POST /api/v1/resource-requests/{id}/transition/": Op(
        COORDINATORS, target("resource_request"), refused=INPUT_FIRST
    ),
    "GET /api/v1/tasks/": READ,
    "POST /api/v1/tasks/": Op(COORDINATORS, refused=INPUT_FIRST),
    "GET /api/v1/tasks/{id}/": READ,
    "POST /api/v1/tasks/{id}/status/": Op(COORDINATORS, target("task"), refused=INPUT_FIRST),
    # --- dissemination
    "GET /api/v1/inbox/": READ,
    "GET /api/v1/inbox/{id}/": READ,
    "POST /api/v1/inbox/{id}/read/": Op(COORDINATORS, lambda world: inbox_delivery(world).pk),
    "POST /api/v1/inbox/{id}/acknowledge/": Op(COORDINATORS, lambda world: inbox_delivery(world).pk),
    "GET /api/v1/dispatches/{id}/": READ,
    "GET /api/v1/dispatches/{id}/deliveries/": READ,
    "GET /api/v1/webhooks/": READ,
    "POST /api/v1/webhooks/": Op(STAFF),
    "GET /api/v1/webhooks/{id}/": READ,
    "PATCH /api/v1/webhooks/{id}/": Op(STAFF, lambda world: wake_endpoint(world).pk),
    "DELETE /api/v1/webhooks/{id}/": Op(STAFF, lambda world: wake_endpoint(world).pk),
    "GET /api/v1/feed-entries/{id}/attachments/{attachment_pk}/": READ,
    # --- liaison (liaison/api.py): its writes are aimed at objects on each side of the agencies' lines,
    # with real bodies, in LIAISON_WRITES below.
    "GET /api/v1/liaison-assignments/": READ,
    "POST /api/v1/liaison-assignments/": IN_LIAISON_WRITES,
    "GET /api/v1/liaison-assignments/{id}/": READ,
    "POST /api/v1/liaison-assignments/{id}/end/": IN_LIAISON_WRITES,
    "GET /api/v1/routing-rules/": READ,
    "POST /api/v1/routing-rules/": IN_LIAISON_WRITES,
    "GET /api/v1/routing-rules/{id}/": READ,
    "PUT /api/v1/routing-rules/{id}/": IN_LIAISON_WRITES,
    "PATCH /api/v1/routing-rules/{id}/": IN_LIAISON_WRITES,
    "GET /api/v1/relays/": READ,
    "POST /api/v1/relays/": IN_LIAISON_WRITES,
    "GET /api/v1/relays/{id}/": READ,
    "POST /api/v1/relays/{id}/approve/": IN_LIAISON_WRITES,
    "POST /api/v1/relays/{id}/reject/": IN_LIAISON_WRITES,
    "POST /api/v1/relays/{id}/acknowledge/": IN_LIAISON_WRITES,
}


# --- the liaison app's writes -----------------------------------------------------------------------
# Every write of the liaison app, on its pages and in its API, aimed at objects on each side of the
# lines that matter: the fusion center's own items for the Wake County EOC (the coordinator's and its
# admin's own agency), its items for the Mecklenburg County EOC (another agency), another fusion
# center's (outside everyone's audience but the system admins'), and an item whose markings keep it
# from its target. Each line gives the status each persona gets and who the write is done for; for
# everyone else nothing changes. test_idor fails for a liaison route (a page of liaison/urls.py, an API
# write of liaison/api.py) that has no lines here, or in LIAISON_READS when it only reads.


@dataclass
class LiaisonTargets:
    """What the liaison writes aim at (see above), by label."""

    other_center: Agency  # another state's fusion center
    other_officer: User  # its liaison officer
    meck_incident: Incident  # a real incident led by the Mecklenburg County EOC
    relays: dict[str, Relay]
    rules: dict[str, RoutingRule]
    assignments: dict[str, LiaisonAssignment]
    awareness: dict[str, AwarenessItem]

    def by_name(self) -> dict[str, object]:
        """The items by the names their free text was made from ("relay-to-wake", "rule-meck", ...)."""
        return {
            **{f"relay-{label}": item for label, item in self.relays.items()},
            **{f"rule-{label}": item for label, item in self.rules.items()},
            **{f"assignment-{label}": item for label, item in self.assignments.items()},
            **{f"awareness-{label}": item for label, item in self.awareness.items()},
        }


def build_liaison_targets(world: World, text: Callable[[str], str] = str) -> LiaisonTargets:
    """The targets, on the world; `text(name)` gives the free text of the item called `name` (a relay's
    note, a rule's name, an assignment's note, an awareness item's title), so that a test can look for it."""
    people, agencies, places = world.people, world.region.agencies, world.region.jurisdictions
    analyst, liaison, coordinator = people["analyst"], people["liaison"], people["coordinator"]
    wake, meck, seoc = world.wake_eoc, agencies["MECK-EOC"], agencies["NCEM-SEOC"]
    south_carolina = Jurisdiction.objects.create(name="South Carolina", kind=Jurisdiction.Kind.STATE, fips_code="45")
    other_center = Agency.objects.create(
        name="South Carolina Information and Intelligence Center",
        acronym="SCIIC",
        level=Agency.Level.STATE,
        kind=Agency.Kind.FUSION_CENTER,
        discipline=Agency.Discipline.HOMELAND_SECURITY,
        jurisdiction=south_carolina,
    )
    other_officer = create_person(
        by=people["sysadmin"],
        username="sciic.liaison",
        roles={Role.LIAISON_OFFICER},
        agency=other_center,
        first_name="Avery",
        last_name="Lee",
        is_law_enforcement=True,
    )

    def rule(by: User, name: str, **details) -> RoutingRule:
        return create_rule(by=by, details=RuleDetails(name=name, **details))

    rules = {
        "wake": rule(liaison, text("rule-wake"), target_eoc=wake),
        "meck": rule(liaison, text("rule-meck"), target_eoc=meck),
        "other-center": rule(other_officer, text("rule-other-center"), target_eoc=seoc),
    }
    # Rules that deliver at once, to make the delivered relays and the awareness items below.
    automatic = {"mode": RoutingRule.Mode.AUTOMATIC}
    delivering = rule(liaison, "Road news to the EOCs, delivered", target_eoc=wake, **automatic)
    back = {"target_eoc": wake, "direction": Direction.TO_FUSION_CENTER, **automatic}
    to_center, to_other_center = rule(liaison, "Entries to NCISAAC", **back), rule(other_officer, "To SCIIC", **back)

    source = create_product(
        author=analyst,
        content=ProductContent(
            kind=ThreatProduct.Kind.SITUATIONAL_AWARENESS,
            title="Road closures along the Neuse River",
            tlp=TLP.GREEN,
            audience_jurisdictions=[places["nc"]],
            release_reason="Partners across the state plan detours.",
        ),
    )
    submit_for_review(product=source, by=analyst)
    source = approve_product(product=source, reviewer=people["supervisor"])

    def relay(item, rule: RoutingRule, target: Target, name: str = "", **options) -> Relay:
        kind = ENTRY if isinstance(item, FeedEntry) else PRODUCT
        note = text(name) if name else ""
        return relay_by_rule(
            source=item, source_type=kind, direction=rule.direction, rule=rule, target=target, note=note, **options
        )[0]

    relays = {
        # Proposed, waiting for the center's liaison officer.
        "to-wake": relay(source, rules["wake"], Target(wake, world.flood), "relay-to-wake", proposed_only=True),
        "other-center": relay(source, rules["other-center"], Target(seoc), "relay-other-center", proposed_only=True),
        # Delivered, waiting for the receiving side's acknowledgement.
        "delivered-wake": relay(source, delivering, Target(wake)),
        "delivered-meck": relay(source, delivering, Target(meck)),
        "from-wake": world.liaison.delivered_relay,
    }

    def awareness(name: str, rule: RoutingRule) -> AwarenessItem:
        """A TLP:AMBER entry of the flood for the Wake County EOC, relayed to a fusion center's queue."""
        entry = post_entry(
            by=coordinator,
            incident=world.flood,
            content=EntryContent(
                kind=FeedEntry.Kind.SITUATION_UPDATE, title=text(name), tlp=TLP.AMBER, audience_agencies=[wake]
            ),
        )
        return AwarenessItem.objects.get(relay=relay(entry, rule, Target(wake, world.flood)))

    return LiaisonTargets(
        other_center=other_center,
        other_officer=other_officer,
        meck_incident=open_incident(
            by=people["meck.coordinator"],
            details=IncidentDetails(
                name="Water main break on Tryon Street",
                incident_type=Incident.Type.INFRASTRUCTURE_FAILURE,
                affected_jurisdictions=[places["mecklenburg"]],
            ),
        ),
        relays=relays,
        rules=rules,
        assignments={
            "wake": assign_liaison(
                by=liaison, officer=liaison, eoc=wake, incident=world.flood, note=text("assignment-wake")
            ),
            "meck": assign_liaison(by=liaison, officer=liaison, eoc=meck, note=text("assignment-meck")),
            "other-center": assign_liaison(
                by=other_officer, officer=other_officer, eoc=meck, note=text("assignment-other-center")
            ),
        },
        awareness={
            "own": awareness("awareness-own", to_center),
            "other-center": awareness("awareness-other-center", to_other_center),
        },
    )


Body = Callable[[World, LiaisonTargets], dict]


@dataclass(frozen=True)
class Write:
    """One liaison write aimed at one target: the status each persona gets (`passed` for those it is
    done for, `refused` or their own for the others), and how to tell from the database that it was done."""

    target: str  # what it aims at, in words
    done: Callable[[World, LiaisonTargets, dict], bool]  # (world, targets, body) -> it was done
    body: Body = lambda world, targets: {}
    obj: Callable[[World, LiaisonTargets], object] | None = None  # the object of the path's id
    allowed: tuple[str, ...] = ()
    passed: Status = 302
    refused: Status = 403
    personas: Mapping[str, Status] = field(default_factory=lambda: MappingProxyType({}))

    def statuses(self, persona: str) -> tuple[int, ...]:
        status = self.passed if persona in self.allowed else self.personas.get(persona, self.refused)
        return status if isinstance(status, tuple) else (status,)


CENTER = ("analyst", "supervisor", "liaison", "sysadmin")  # NCISAAC's people
KEEPERS = ("liaison", "sysadmin")  # keep NCISAAC's rules, assignments and contacts; decide its relays


def relay_is(state: str, name: str) -> Callable[[World, LiaisonTargets, dict], bool]:
    return lambda world, targets, body: Relay.objects.get(pk=targets.relays[name].pk).state == state


def relayed(world: World, targets: LiaisonTargets, body: dict) -> bool:
    return Relay.objects.filter(
        source_type=PRODUCT, source_id=body["product"], eoc_id=body["eoc"], incident=None, direction=Direction.TO_EOC
    ).exists()


def rule_named(world: World, targets: LiaisonTargets, body: dict) -> bool:
    return RoutingRule.objects.filter(name=body["name"]).exists()


def assigned(world: World, targets: LiaisonTargets, body: dict) -> bool:
    return LiaisonAssignment.objects.filter(officer_id=body["officer"], eoc_id=body["eoc"], note=body["note"]).exists()


def ended(name: str) -> Callable[[World, LiaisonTargets, dict], bool]:
    return lambda world, targets, body: (
        LiaisonAssignment.objects.get(pk=targets.assignments[name].pk).ends_at is not None
    )


def awareness_is(name: str, **state) -> Callable[[World, LiaisonTargets, dict], bool]:
    return lambda world, targets, body: AwarenessItem.objects.filter(pk=targets.awareness[name].pk, **state).exists()


def rule_form(name: str, eoc: Callable[[World, LiaisonTargets], Agency]) -> Body:
    return lambda world, targets: {
        "name": name,
        "target_eoc": eoc(world, targets).pk,
        "direction": Direction.TO_EOC,
        "minimum_priority": "routine",
        "mode": RoutingRule.Mode.PROPOSED,
        "when": RoutingRule.When.ALWAYS,
        "is_active": "on",
    }


def rule_json(name: str, eoc: Callable[[World, LiaisonTargets], Agency]) -> Body:
    return lambda world, targets: {"name": name, "target_eoc": eoc(world, targets).pk}


def assignment(officer: str, eoc: str, *, prefix: str = "") -> Body:
    """An assignment's fields; on the page, the form's fields carry its prefix."""

    def body(world: World, targets: LiaisonTargets) -> dict:
        person = targets.other_officer if officer == "other" else world.people[officer]
        fields = {"officer": person.pk, "eoc": world.region.agencies[eoc].pk, "note": f"{officer} at {eoc}"}
        return {f"{prefix}{name}": value for name, value in fields.items()}

    return body


def assigned_on_page(world: World, targets: LiaisonTargets, body: dict) -> bool:
    return assigned(world, targets, {name.removeprefix("assignment-"): value for name, value in body.items()})


def in_three_days() -> str:
    return (timezone.localdate() + datetime.timedelta(days=3)).isoformat()


def duty_contact(person: Callable[[World, LiaisonTargets], User]) -> Body:
    return lambda world, targets: {"duty-person": person(world, targets).pk, "duty-on_date": in_three_days()}


def duty_contact_named(world: World, targets: LiaisonTargets, body: dict) -> bool:
    return DutyContact.objects.filter(person_id=body["duty-person"], on_date=body["duty-on_date"]).exists()


def manual_relay(product: str, eoc: str, **extra) -> Body:
    return lambda world, targets: {
        "product": getattr(world, product).pk,
        "eoc": world.region.agencies[eoc].pk,
        "note": "By hand.",
        **extra,
    }


WAKE = lambda world, targets: world.wake_eoc  # noqa: E731
MECK = lambda world, targets: world.region.agencies["MECK-EOC"]  # noqa: E731
RENAMED = "Renamed by the write matrix"
NOT_USERS = only(403, "rpd.partner")  # the liaison pages are not for partners
EOC_PEOPLE = ("coordinator", "wake.admin")

LIAISON_WRITES: dict[str, list[Write]] = {
    # --- pages (liaison/urls.py): a refusal by the service comes back as a message on the page they
    # return to (302), as does the decision itself; an item the persona may not see is 404.
    "liaison:relay-approve": [
        Write(
            "proposed to the Wake County EOC",
            relay_is(Relay.State.DELIVERED, "to-wake"),
            obj=lambda w, t: t.relays["to-wake"],
            allowed=KEEPERS,
            refused=302,
            personas={**only(404, *EOC_PEOPLE), **NOT_USERS},
        ),
        Write(
            "proposed by another fusion center",
            relay_is(Relay.State.DELIVERED, "other-center"),
            obj=lambda w, t: t.relays["other-center"],
            allowed=("sysadmin",),
            refused=404,
            personas=NOT_USERS,
        ),
    ],
    "liaison:relay-reject": [
        Write(
            "proposed to the Wake County EOC",
            relay_is(Relay.State.REJECTED, "to-wake"),
            body=lambda w, t: {"reason": "Not for this EOC."},
            obj=lambda w, t: t.relays["to-wake"],
            allowed=KEEPERS,
            personas=only(404, *EOC_PEOPLE),
        ),
        Write(
            "proposed by another fusion center",
            relay_is(Relay.State.REJECTED, "other-center"),
            body=lambda w, t: {"reason": "Not for this EOC."},
            obj=lambda w, t: t.relays["other-center"],
            allowed=("sysadmin",),
            refused=404,
            personas=NOT_USERS,
        ),
    ],
    "liaison:relay-acknowledge": [
        Write(
            "delivered to the Wake County EOC",
            relay_is(Relay.State.ACKNOWLEDGED, "delivered-wake"),
            obj=lambda w, t: t.relays["delivered-wake"],
            allowed=("coordinator",),
            refused=302,
            personas=NOT_USERS,
        ),
        Write(
            "delivered to the Mecklenburg County EOC",
            relay_is(Relay.State.ACKNOWLEDGED, "delivered-meck"),
            obj=lambda w, t: t.relays["delivered-meck"],
            refused=302,
            personas={**only(404, *EOC_PEOPLE), **NOT_USERS},
        ),
        Write(
            "sent by the Wake County EOC to the center",
            relay_is(Relay.State.ACKNOWLEDGED, "from-wake"),
            obj=lambda w, t: t.relays["from-wake"],
            allowed=("analyst", "supervisor", "liaison"),
            refused=302,
            personas=NOT_USERS,
        ),
    ],
    # Manual relays are for liaison officers; one the markings refuse shows the form again with the reason.
    "liaison:relay-manual": [
        Write(
            "a product to the Wake County EOC",
            relayed,
            body=manual_relay("published_product", "WAKE-EOC", action="relay"),
            allowed=("liaison",),
        ),
        Write(
            "a product to the Mecklenburg County EOC",
            relayed,
            body=manual_relay("published_product", "MECK-EOC", action="relay"),
            allowed=("liaison",),
        ),
        Write(
            "a product whose markings keep it from the EOC",
            relayed,
            body=manual_relay("strict_product", "WAKE-EOC", action="relay"),
            personas={"liaison": 200},
        ),
    ],
    "liaison:rule-create": [
        Write("to the Wake County EOC", rule_named, body=rule_form("New rule to Wake", WAKE), allowed=KEEPERS),
        Write("to the Mecklenburg County EOC", rule_named, body=rule_form("New rule to Meck", MECK), allowed=KEEPERS),
    ],
    # Only the center's people find its rules here (the others are refused the page); its keepers change them.
    "liaison:rule-edit": [
        Write(
            "the center's rule for the Wake County EOC",
            rule_named,
            body=rule_form(RENAMED, WAKE),
            obj=lambda w, t: t.rules["wake"],
            allowed=KEEPERS,
        ),
        Write(
            "the center's rule for the Mecklenburg County EOC",
            rule_named,
            body=rule_form(RENAMED, MECK),
            obj=lambda w, t: t.rules["meck"],
            allowed=KEEPERS,
        ),
        Write(
            "another fusion center's rule",
            rule_named,
            body=rule_form(RENAMED, MECK),
            obj=lambda w, t: t.rules["other-center"],
            allowed=("sysadmin",),
            personas=only(404, "analyst", "supervisor", "liaison"),
        ),
    ],
    # An officer of another center is not among the choices of the center's keeper (the form again, 200).
    "liaison:assignment-create": [
        Write(
            "the center's officer to the Wake County EOC",
            assigned_on_page,
            body=assignment("liaison", "WAKE-EOC", prefix="assignment-"),
            allowed=KEEPERS,
        ),
        Write(
            "the center's officer to the Mecklenburg County EOC",
            assigned_on_page,
            body=assignment("liaison", "MECK-EOC", prefix="assignment-"),
            allowed=KEEPERS,
        ),
        Write(
            "another center's officer",
            assigned_on_page,
            body=assignment("other", "MECK-EOC", prefix="assignment-"),
            allowed=("sysadmin",),
            personas={"liaison": 200},
        ),
    ],
    "liaison:assignment-end": [
        Write("at the Wake County EOC", ended("wake"), obj=lambda w, t: t.assignments["wake"], allowed=KEEPERS),
        Write("at the Mecklenburg County EOC", ended("meck"), obj=lambda w, t: t.assignments["meck"], allowed=KEEPERS),
        Write(
            "another center's",
            ended("other-center"),
            obj=lambda w, t: t.assignments["other-center"],
            allowed=("sysadmin",),
            personas={"liaison": 404},
        ),
    ],
    "liaison:duty-contact-set": [
        Write(
            "one of the center's people",
            duty_contact_named,
            body=duty_contact(lambda w, t: w.people["supervisor"]),
            allowed=KEEPERS,
        ),
        Write(
            "another center's officer",
            duty_contact_named,
            body=duty_contact(lambda w, t: t.other_officer),
            allowed=("sysadmin",),
            personas={"liaison": 200},
        ),
    ],
    # The queue is the center's: its analysts start products, its analysts and officers review.
    "liaison:awareness-start-product": [
        Write(
            "in the center's queue",
            awareness_is("own", product__isnull=False),
            obj=lambda w, t: t.awareness["own"],
            allowed=("analyst", "supervisor"),
            personas=only(302, "liaison", "sysadmin"),
        ),
        Write(
            "in another center's queue",
            awareness_is("other-center", product__isnull=False),
            obj=lambda w, t: t.awareness["other-center"],
            personas=only(404, *CENTER),
        ),
    ],
    "liaison:awareness-reviewed": [
        Write(
            "in the center's queue",
            awareness_is("own", state=AwarenessItem.State.REVIEWED),
            obj=lambda w, t: t.awareness["own"],
            allowed=("analyst", "supervisor", "liaison"),
            personas={"sysadmin": 302},
        ),
        Write(
            "in another center's queue",
            awareness_is("other-center", state=AwarenessItem.State.REVIEWED),
            obj=lambda w, t: t.awareness["other-center"],
            personas=only(404, *CENTER),
        ),
    ],
    "liaison:incident-request": [
        Write(
            "of the Wake County EOC's incident",
            lambda w, t, body: RequestForInformation.objects.filter(question=body["question"]).exists(),
            body=lambda w, t: {
                "question": "Who is stealing pumps?",
                "priority": "routine",
                "due_date": in_three_days(),
            },
            obj=lambda w, t: w.flood,
            allowed=("coordinator",),
        ),
        Write(
            "of another EOC's incident",
            lambda w, t, body: RequestForInformation.objects.filter(question=body["question"]).exists(),
            body=lambda w, t: {
                "question": "Who is stealing pumps?",
                "priority": "routine",
                "due_date": in_three_days(),
            },
            obj=lambda w, t: t.meck_incident,
        ),
    ],
    # --- API (liaison/api.py): 403 to those who see the item but may not act, 404 to the others.
    "POST /api/v1/relays/{id}/approve/": [
        Write(
            "proposed to the Wake County EOC",
            relay_is(Relay.State.DELIVERED, "to-wake"),
            obj=lambda w, t: t.relays["to-wake"],
            allowed=KEEPERS,
            passed=200,
            personas=only(404, *EOC_PEOPLE, "rpd.partner"),
        ),
        Write(
            "proposed by another fusion center",
            relay_is(Relay.State.DELIVERED, "other-center"),
            obj=lambda w, t: t.relays["other-center"],
            allowed=("sysadmin",),
            passed=200,
            refused=404,
        ),
    ],
    "POST /api/v1/relays/{id}/reject/": [
        Write(
            "proposed to the Wake County EOC",
            relay_is(Relay.State.REJECTED, "to-wake"),
            body=lambda w, t: {"reason": "Not for this EOC."},
            obj=lambda w, t: t.relays["to-wake"],
            allowed=KEEPERS,
            passed=200,
            personas=only(404, *EOC_PEOPLE, "rpd.partner"),
        ),
        Write(
            "proposed by another fusion center",
            relay_is(Relay.State.REJECTED, "other-center"),
            body=lambda w, t: {"reason": "Not for this EOC."},
            obj=lambda w, t: t.relays["other-center"],
            allowed=("sysadmin",),
            passed=200,
            refused=404,
        ),
    ],
    "POST /api/v1/relays/{id}/acknowledge/": [
        Write(
            "delivered to the Wake County EOC",
            relay_is(Relay.State.ACKNOWLEDGED, "delivered-wake"),
            obj=lambda w, t: t.relays["delivered-wake"],
            allowed=("coordinator",),
            passed=200,
            personas={"rpd.partner": 404},
        ),
        Write(
            "delivered to the Mecklenburg County EOC",
            relay_is(Relay.State.ACKNOWLEDGED, "delivered-meck"),
            obj=lambda w, t: t.relays["delivered-meck"],
            personas=only(404, *EOC_PEOPLE, "rpd.partner"),
        ),
        Write(
            "sent by the Wake County EOC to the center",
            relay_is(Relay.State.ACKNOWLEDGED, "from-wake"),
            obj=lambda w, t: t.relays["from-wake"],
            allowed=("analyst", "supervisor", "liaison"),
            passed=200,
            personas={"rpd.partner": 404},
        ),
    ],
    # A product the persona may not see is refused as input (400), as one that does not exist.
    "POST /api/v1/relays/": [
        Write(
            "a product to the Wake County EOC",
            relayed,
            body=manual_relay("published_product", "WAKE-EOC"),
            allowed=("liaison",),
            passed=201,
        ),
        Write(
            "a product to the Mecklenburg County EOC",
            relayed,
            body=manual_relay("published_product", "MECK-EOC"),
            allowed=("liaison",),
            passed=201,
        ),
        Write(
            "a product whose markings keep it from the EOC",
            relayed,
            body=manual_relay("strict_product", "WAKE-EOC"),
            personas=only(400, "liaison", *EOC_PEOPLE, "sysadmin"),
        ),
    ],
    "POST /api/v1/routing-rules/": [
        Write(
            "to the Wake County EOC", rule_named, body=rule_json("New rule to Wake", WAKE), allowed=KEEPERS, passed=201
        ),
        Write(
            "to the Mecklenburg County EOC",
            rule_named,
            body=rule_json("New rule to Meck", MECK),
            allowed=KEEPERS,
            passed=201,
        ),
    ],
    # People of an EOC read the rules that cover it (403 to change them); the others are not found.
    "PUT /api/v1/routing-rules/{id}/": [
        Write(
            "the center's rule for the Wake County EOC",
            rule_named,
            body=rule_json(RENAMED, WAKE),
            obj=lambda w, t: t.rules["wake"],
            allowed=KEEPERS,
            passed=200,
            personas={"rpd.partner": 404},
        ),
        Write(
            "the center's rule for the Mecklenburg County EOC",
            rule_named,
            body=rule_json(RENAMED, MECK),
            obj=lambda w, t: t.rules["meck"],
            allowed=KEEPERS,
            passed=200,
            personas=only(404, *EOC_PEOPLE, "rpd.partner"),
        ),
        Write(
            "another fusion center's rule",
            rule_named,
            body=rule_json(RENAMED, MECK),
            obj=lambda w, t: t.rules["other-center"],
            allowed=("sysadmin",),
            passed=200,
            refused=404,
        ),
    ],
    "PATCH /api/v1/routing-rules/{id}/": [
        Write(
            "the center's rule for the Wake County EOC",
            rule_named,
            body=lambda w, t: {"name": RENAMED},
            obj=lambda w, t: t.rules["wake"],
            allowed=KEEPERS,
            passed=200,
            personas={"rpd.partner": 404},
        ),
        Write(
            "the center's rule for the Mecklenburg County EOC",
            rule_named,
            body=lambda w, t: {"name": RENAMED},
            obj=lambda w, t: t.rules["meck"],
            allowed=KEEPERS,
            passed=200,
            personas=only(404, *EOC_PEOPLE, "rpd.partner"),
        ),
        Write(
            "another fusion center's rule",
            rule_named,
            body=lambda w, t: {"name": RENAMED},
            obj=lambda w, t: t.rules["other-center"],
            allowed=("sysadmin",),
            passed=200,
            refused=404,
        ),
    ],
    "POST /api/v1/liaison-assignments/": [
        Write(
            "the center's officer to the Wake County EOC",
            assigned,
            body=assignment("liaison", "WAKE-EOC"),
            allowed=KEEPERS,
            passed=201,
        ),
        Write(
            "the center's officer to the Mecklenburg County EOC",
            assigned,
            body=assignment("liaison", "MECK-EOC"),
            allowed=KEEPERS,
            passed=201,
        ),
        Write(
            "another center's officer",
            assigned,
            body=assignment("other", "MECK-EOC"),
            allowed=("sysadmin",),
            passed=201,
            personas={"liaison": 400},
        ),
    ],
    # People of an EOC read the assignments to it (403 to end them); the others are not found.
    "POST /api/v1/liaison-assignments/{id}/end/": [
        Write(
            "at the Wake County EOC",
            ended("wake"),
            obj=lambda w, t: t.assignments["wake"],
            allowed=KEEPERS,
            passed=200,
            personas={"rpd.partner": 404},
        ),
        Write(
            "at the Mecklenburg County EOC",
            ended("meck"),
            obj=lambda w, t: t.assignments["meck"],
            allowed=KEEPERS,
            passed=200,
            personas=only(404, *EOC_PEOPLE, "rpd.partner"),
        ),
        Write(
            "another center's",
            ended("other-center"),
            obj=lambda w, t: t.assignments["other-center"],
            allowed=("sysadmin",),
            passed=200,
            refused=404,
        ),
    ],
}

# The liaison pages that only read: a POST to them changes nothing (test_idor checks it).
LIAISON_READS = frozenset({
    "liaison:workspace", "liaison:relay-history", "liaison:relay-detail", "liaison:relay-check", "liaison:rule-list",
    "liaison:assignment-list", "liaison:awareness-list", "liaison:awareness-detail",
})  # fmt: skip
