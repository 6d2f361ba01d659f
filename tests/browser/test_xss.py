"""Script injection through every text that people write and others read, in a real browser.

The demo region is filled, through the same services the pages and the API call, with products,
feed entries, incidents, situation reports, resource requests, tasks, requests for information,
relays, routing rules, assignments, agency and person names, a failed sign-in's username and an
audit search, whose every displayed free-text field holds script-injection payloads (script and
image tags, an SVG handler, a textarea breakout, an attribute breakout, template syntax, a
`javascript:` link in Markdown). Then every page that shows them is opened in Chromium, under the
site's Content-Security-Policy, as the people who read them: list, detail, print, compare, edit
forms, dashboards and their map, the live feed's event stream, the inbox, the liaison pages, the
audit trail and the admin. On every page:

- no dialog opened and no script error was raised (`alert` would open one, were it to run);
- the browser reported no Content-Security-Policy violation (an injected handler the policy
  blocked is still an injection);
- the page holds no element of the payloads: no inline script, no `on…` attribute, no
  `javascript:` address;
- each field expected there reads as its author typed it: the reader sees the text, not a broken page.
"""

from __future__ import annotations

import datetime
import html
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from xml.sax.saxutils import escape as xml_escape

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from playwright.sync_api import ConsoleMessage, Dialog, Page, Response, expect

from agencies.demo import DemoRegion
from agencies.markings import TLP, Caveat
from agencies.models import Agency, Jurisdiction
from agencies.services import update_person
from dissemination.fanout import fan_out
from dissemination.models import Dispatch, DomainEvent
from dissemination.services import create_webhook_endpoint, handle_event
from eoc.demo import seed_incidents
from eoc.models import FeedEntry, Incident, ResourceRequest
from eoc.services.cap_import import import_cap_alert
from eoc.services.feed import EntryContent, post_entry
from eoc.services.incidents import IncidentDetails, change_activation, open_incident, start_operational_period
from eoc.services.logistics import (
    RequestDetails,
    TaskDetails,
    assign_task,
    move_resource_request,
    publish_situation_report,
    request_resource,
    write_situation_report,
)
from liaison.models import AwarenessItem, Relay, RoutingRule
from liaison.services import (
    RuleDetails,
    assign_liaison,
    create_rule,
    raise_request,
    reject_relay,
    relay_manually,
    set_duty_contact,
)
from sharing.markdown import render_markdown
from sharing.models import InformationNeed, ThreatProduct
from sharing.services.attachments import add_attachment
from sharing.services.products import (
    ProductContent,
    approve_product,
    create_product,
    edit_product,
    retract_product,
    start_update,
    submit_for_review,
)
from sharing.services.requests import answer_request, assign_request, submit_request
from tests.browser.asgi import asgi_live_server as live_server  # noqa: F401 - this module's live server

pytestmark = pytest.mark.browser


# --- the payloads ------------------------------------------------------------------------------------


def hostile(tag: str) -> str:
    """Every payload at once (about 200 characters), opened by a tag that names the field."""
    return (
        f"{tag} <script>alert('{tag}')</script> \"><img src=x onerror=alert('{tag}')> <svg onload=alert(1)> "
        f"</textarea><script>alert(2)</script> ' onfocus='alert(3)' autofocus x=' {{{{7*7}}}} ${{7*7}}"
    )


def medium(tag: str) -> str:
    """For fields of about 100 characters."""
    return f"{tag} <script>alert(1)</script> \"><img src=x onerror=alert(2)> ' x=' {{{{7*7}}}} ${{7*7}}"


def short(tag: str) -> str:
    """For fields of 40 characters."""
    return f'{tag}"><svg onload=alert(1)>'


# A filename keeps only what follows its last slash: no closing tags in it.
def filename(tag: str, extension: str) -> str:
    return f'{tag} "><img src=x onerror=alert(1)><svg onload=alert(2)>{{{{7*7}}}}{extension}'


@dataclass
class Hostile:
    """What was written: each field's payload by its name, and the objects the pages show."""

    texts: dict[str, str] = field(default_factory=dict)
    ids: dict[str, int] = field(default_factory=dict)

    def text(self, name: str, make: Callable[[str], str] = hostile) -> str:
        tag = f"xss{len(self.texts):02d}:"
        self.texts[name] = make(tag)
        return self.texts[name]


PDF = b"%PDF-1.4\n%%EOF\n"


def seed_hostile(region: DemoRegion) -> Hostile:
    """Everything the pages show, written through the services with payloads in every free-text field."""
    h = Hostile()
    people, agencies, places = region.people, region.agencies, region.jurisdictions
    analyst, supervisor, liaison = people["analyst"], people["supervisor"], people["liaison"]
    coordinator, sysadmin = people["coordinator"], people["sysadmin"]
    flood, _drill = seed_incidents(region)

    # People and an agency: names shown as authors, assignees, audiences and supporting agencies.
    for username in ("coordinator", "analyst"):
        update_person(
            person=people[username],
            by=sysadmin,
            first_name=h.text(f"{username}.first_name", medium),
            last_name=h.text(f"{username}.last_name", medium),
            title=h.text(f"{username}.title", medium),
        )
    agency = Agency(
        name=h.text("agency.name"),
        acronym="XSS-EMS",
        level=Agency.Level.LOCAL,
        kind=Agency.Kind.EMS,
        discipline=Agency.Discipline.EMS,
        jurisdiction=places["wake"],
        phone=h.text("agency.phone", short),
    )
    agency.full_clean()  # what the admin's form checks before it saves
    agency.save()
    town = Jurisdiction(name=h.text("jurisdiction.name"), kind=Jurisdiction.Kind.CITY, parent=places["wake"])
    town.full_clean()
    town.save()
    # Reference data without a page of its own: the standing information needs products answer.
    need = InformationNeed.objects.create(code="SIN-NC-099", title=h.text("need.title"), agency=agencies["NCISAAC"])

    # Threat products: a published one (with an attachment and its history), its draft update, one in
    # review, a retracted one, and an LES one whose tearline the Wake County coordinator reads.
    def product(name: str, **extra) -> ThreatProduct:
        content = ProductContent(
            kind=ThreatProduct.Kind.SITUATIONAL_AWARENESS,
            title=h.text(f"{name}.title"),
            summary=h.text(f"{name}.summary"),
            body=h.text(f"{name}.body") + "\n\n[Open the map](javascript:alert('markdown'))\n\n"
            '<a href="javascript:alert(\'raw\')" onclick="alert(1)">raw link</a>',
            tlp=extra.pop("tlp", TLP.GREEN),
            audience_jurisdictions=[places["nc"]],
            audience_agencies=[agency],
            tags=[h.text(f"{name}.tag", short)],
            information_needs=[need],
            release_reason=h.text(f"{name}.release_reason"),
            **extra,
        )
        return create_product(author=analyst, content=content)

    published = product("product")
    add_attachment(
        product=published,
        by=analyst,
        uploaded_file=SimpleUploadedFile(h.text("attachment.filename", lambda t: filename(t, ".pdf")), PDF),
    )
    submit_for_review(product=published, by=analyst, comment=h.text("product.submit_comment"))
    published = approve_product(product=published, reviewer=supervisor, comment=h.text("product.approve_comment"))
    h.ids["product"] = published.pk
    update = start_update(product=published, by=analyst)
    edit_product(
        product=update,
        by=analyst,
        content=ProductContent(
            kind=update.kind,
            title=h.text("update.title"),
            summary=update.summary,
            body=update.body,
            tlp=TLP.GREEN,
            audience_jurisdictions=[places["nc"]],
            tags=update.tags,
            release_reason=update.release_reason,
        ),
    )
    h.ids["update"] = update.pk
    in_review = product("review")
    submit_for_review(product=in_review, by=analyst)
    h.ids["review"] = in_review.pk
    retracted = product("retracted")
    submit_for_review(product=retracted, by=analyst)
    retracted = approve_product(product=retracted, reviewer=supervisor)
    retract_product(product=retracted, by=supervisor, reason=h.text("retracted.reason"))
    h.ids["retracted"] = retracted.pk
    les = product(
        "les",
        tlp=TLP.AMBER,
        caveats=[Caveat.LES],
        tearline=h.text("les.tearline"),
    )
    submit_for_review(product=les, by=analyst)
    h.ids["les"] = approve_product(product=les, reviewer=supervisor).pk

    # An incident of the Wake County EOC, with a place on the map, its period's objectives, the
    # activation's reason, entries (one with a file, one LES with a tearline), a situation report,
    # a resource request and a task.
    incident = open_incident(
        by=coordinator,
        details=IncidentDetails(
            name=h.text("incident.name"),
            incident_type=Incident.Type.HAZMAT,
            description=h.text("incident.description"),
            address=h.text("incident.address"),
            latitude="35.779600",
            longitude="-78.638200",
            affected_jurisdictions=[places["wake"], town],
            supporting_agencies=[agency],
        ),
    )
    h.ids["incident"] = incident.pk
    h.ids["flood"] = flood.pk
    change_activation(
        eoc=agencies["WAKE-EOC"], by=coordinator, level=1, reason=h.text("activation.reason"), incident=incident
    )
    now = timezone.now()
    start_operational_period(
        incident=incident,
        by=coordinator,
        starts_at=now,
        ends_at=now + datetime.timedelta(hours=12),
        objectives=h.text("period.objectives"),
    )
    entry = post_entry(
        by=coordinator,
        incident=incident,
        content=EntryContent(
            kind=FeedEntry.Kind.WARNING,
            priority=FeedEntry.Priority.FLASH,
            title=h.text("entry.title"),
            body=h.text("entry.body"),
            latitude="35.780000",
            longitude="-78.640000",
        ),
        attachments=[SimpleUploadedFile(h.text("entry.filename", lambda t: filename(t, ".pdf")), PDF)],
    )
    h.ids["entry"] = entry.pk
    les_entry = post_entry(
        by=coordinator,
        incident=incident,
        content=EntryContent(
            kind=FeedEntry.Kind.SITUATION_UPDATE,
            title=h.text("les_entry.title"),
            body=h.text("les_entry.body"),
            caveats=[Caveat.LES],
            tearline=h.text("les_entry.tearline"),
        ),
    )
    h.ids["les_entry"] = les_entry.pk
    cap = {name: xml_escape(h.text(f"cap.{name}", medium)) for name in ("sender", "headline", "description")}
    import_cap_alert(
        by=coordinator,
        incident=incident,
        data=f"""<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2"><identifier>XSS-1</identifier>
<sender>{cap["sender"]}</sender><sent>2026-11-24T22:10:00-05:00</sent><status>Actual</status>
<msgType>Alert</msgType><scope>Public</scope><info><category>Met</category><event>Flood Warning</event>
<urgency>Expected</urgency><severity>Severe</severity><certainty>Likely</certainty>
<headline>{cap["headline"]}</headline><description>{cap["description"]}</description>
<area><areaDesc>Wake</areaDesc></area></info></alert>""".encode(),
    )
    period = incident.operational_periods.order_by("-number").first()
    sections = ("situation_summary", "actions_taken", "resources", "casualties_damage", "weather")
    sections += ("public_information", "next_steps")
    report = write_situation_report(
        incident=incident, period=period, by=coordinator, sections={name: h.text(f"sitrep.{name}") for name in sections}
    )
    h.ids["sitrep"] = publish_situation_report(report=report, by=coordinator).pk
    request = request_resource(
        incident=incident,
        by=coordinator,
        details=RequestDetails(
            resource_kind=h.text("resource.kind"),
            nims_type=h.text("resource.nims_type", short),
            quantity=3,
            needed_by=now + datetime.timedelta(hours=4),
            deliver_to=h.text("resource.deliver_to"),
        ),
    )
    move_resource_request(
        request=request, by=coordinator, state=ResourceRequest.State.APPROVED, note=h.text("resource.note")
    )
    h.ids["resource"] = request.pk
    assign_task(
        incident=incident,
        by=coordinator,
        details=TaskDetails(
            title=h.text("task.title"),
            description=h.text("task.description"),
            due_at=now + datetime.timedelta(hours=2),
            assigned_agency=agency,
        ),
    )

    # Requests for information: one from the EOC, assigned and answered; one raised from the incident.
    rfi = submit_request(
        by=coordinator, question=h.text("rfi.question"), due_date=timezone.localdate() + datetime.timedelta(days=2)
    )
    rfi = assign_request(rfi=rfi, by=supervisor, assignee=analyst, note=h.text("rfi.assign_note"))
    answer_request(rfi=rfi, by=analyst, answer=h.text("rfi.answer"))
    h.ids["rfi"] = rfi.pk
    raised = raise_request(
        by=coordinator,
        incident=incident,
        question=h.text("raised.question"),
        due_date=timezone.localdate() + datetime.timedelta(days=1),
    )
    h.ids["raised"] = raised.pk

    # The liaison app: rules whose names and tags are payloads, an assignment, the contact of the day,
    # a relay by hand with a note, and one rejected with a reason.
    to_wake = create_rule(
        by=liaison,
        details=RuleDetails(name=h.text("rule.name"), target_eoc=agencies["WAKE-EOC"], tags=[]),
    )
    h.ids["rule"] = to_wake.pk
    create_rule(
        by=liaison,
        details=RuleDetails(
            name=h.text("rule_back.name"),
            target_jurisdiction=places["nc"],
            direction=RoutingRule.Direction.TO_FUSION_CENTER,
            mode=RoutingRule.Mode.AUTOMATIC,
        ),
    )
    assign_liaison(
        by=liaison,
        officer=liaison,
        eoc=agencies["WAKE-EOC"],
        incident=incident,
        phone=h.text("assignment.phone", short),
        note=h.text("assignment.note", medium),
    )
    set_duty_contact(by=liaison, person=liaison, on_date=timezone.localdate(), phone=h.text("duty.phone", short))
    manual = relay_manually(by=liaison, source=published, eoc=agencies["MECK-EOC"], note=h.text("relay.note"))
    h.ids["relay"] = manual.pk

    # What the workers would do after commit: the liaison handlers (relays by the rules above,
    # situational awareness from the flash entry) and the fan-out to inboxes.
    for event_id in DomainEvent.objects.filter(handled_at=None).order_by("pk").values_list("pk", flat=True):
        handle_event(event_id=event_id)
    rejected, proposed = Relay.objects.filter(rule=to_wake, state=Relay.State.PROPOSED).order_by("pk")[:2]
    reject_relay(relay=rejected, by=liaison, reason=h.text("relay.rejection_reason"))
    h.ids["rejected"], h.ids["proposed"] = rejected.pk, proposed.pk
    h.ids["awareness"] = AwarenessItem.objects.get(title=entry.title).pk
    for dispatch_id in Dispatch.objects.values_list("pk", flat=True):
        fan_out(dispatch_id=dispatch_id)
    h.ids["dispatch"] = Dispatch.objects.get(item_type="sharing.threatproduct", item_id=published.pk).pk

    # A webhook receiver whose address carries a payload in its query string.
    endpoint, _secret = create_webhook_endpoint(
        agency=agencies["WAKE-EOC"],
        url="http://127.0.0.1:9/in?" + h.text("webhook.url", medium).replace(" ", "+"),
        by=sysadmin,
    )
    h.texts["webhook.url"] = endpoint.url
    h.ids["webhook"] = endpoint.pk
    h.ids["wake"] = agencies["WAKE-EOC"].pk
    h.ids["agency"] = agency.pk
    h.ids["coordinator"], h.ids["analyst"] = coordinator.pk, analyst.pk
    return h


# --- watching the browser -------------------------------------------------------------------------

# Everything on a page that the payloads could have become: an inline script, a handler attribute,
# a `javascript:` (or `data:`) address.
INJECTED = """() => {
  const found = [];
  for (const element of document.querySelectorAll("*")) {
    for (const attribute of element.attributes) {
      const name = attribute.name.toLowerCase();
      if (name.startsWith("on")) {
        found.push(`${element.tagName.toLowerCase()} ${name}="${attribute.value}"`);
      }
      if (["href", "src", "action", "formaction", "xlink:href"].includes(name)
          && /^\\s*(javascript|vbscript|data):/i.test(attribute.value)) {
        found.push(`${element.tagName.toLowerCase()} ${name}="${attribute.value}"`);
      }
    }
  }
  for (const script of document.querySelectorAll("script:not([src])")) {
    if (script.type !== "application/json") {
      found.push(`inline script: ${script.textContent.slice(0, 80)}`);
    }
  }
  return found;
}"""

# What the reader sees: the page's text, and what its form fields hold.
SHOWN = """() => {
  const values = Array.from(document.querySelectorAll("input, textarea"), (field) => field.value);
  return [document.title, document.body.innerText, ...values].join("\\n");
}"""


@dataclass
class Watch:
    """Dialogs, script errors and policy violations, as the browser reports them."""

    events: list[str] = field(default_factory=list)

    def attach(self, page: Page) -> None:
        def dialog(opened: Dialog) -> None:
            self.events.append(f"{page.url}: a {opened.type} dialog opened: {opened.message}")
            opened.dismiss()

        def console(message: ConsoleMessage) -> None:
            # A resource that failed to load is reported with its address below.
            if message.type == "error" and not message.text.startswith("Failed to load resource"):
                self.events.append(f"{page.url}: console {message.type}: {message.text}")

        def responded(response: Response) -> None:
            if response.status >= 400 and response.request.resource_type != "document":
                self.events.append(f"{page.url}: {response.request.url} answered {response.status}")

        page.on("dialog", dialog)
        page.on("console", console)
        page.on("response", responded)
        page.on("pageerror", lambda error: self.events.append(f"{page.url}: script error: {error}"))


def normalized(text: str) -> str:
    """Text as compared: whitespace runs as one space, and in lower case (a tag list is shown in capitals)."""
    return re.sub(r"\s+", " ", text).strip().lower()


def as_rendered(markdown: str) -> str:
    """The text a reader sees of a Markdown field: what the sanitised HTML shows."""
    return html.unescape(re.sub(r"<[^>]*>", "", str(render_markdown(markdown))))


# Fields written in Markdown: rendered, then sanitised (sharing/markdown.py), so their raw HTML is not
# shown; what the reader sees is what that rendering shows as text.
MARKDOWN = re.compile(r"^(product|review|retracted|les)\.(body|tearline)$")
# How much of a field a shortened display (a list, an audit label) must show as written.
PREFIX = 60


@dataclass
class Reader:
    """Opens pages as one person and checks each; collects what went wrong instead of stopping at the first."""

    page: Page
    watch: Watch
    written: Hostile
    clear_log: Callable[[], None]
    faults: list[str] = field(default_factory=list)
    seen: set[str] = field(default_factory=set)

    def look(self, path: str, *names: str) -> None:
        """Open `path` and check it (see `check`)."""
        before = len(self.watch.events)
        response = self.page.goto(path)
        self.page.wait_for_load_state("load")
        status = response.status if response else 0
        if status >= 400:
            self.faults.append(f"{path}: answered {status}")
        self.check(path, before, *names)

    def check(self, where: str, before: int, *names: str) -> None:
        """No dialog, script error or policy violation since `before`; nothing of the payloads became
        markup; and each field of `names` reads as written (a Markdown field as rendered, or as typed
        when its name ends in "=", in an edit form; a name ending in "…": its beginning, as a list or an
        audit label shortens it)."""
        self.clear_log()
        self.faults += [f"{where}: injected {found}" for found in self.page.evaluate(INJECTED)]
        self.faults += self.watch.events[before:]
        shown = normalized(self.page.evaluate(SHOWN))
        for name in self.expand(names):
            key = name.removesuffix("…").removesuffix("=")
            text = self.written.texts[key]
            expected = as_rendered(text) if MARKDOWN.match(key) and not name.endswith("=") else text
            expected = normalized(expected)[: PREFIX if name.endswith("…") else None]
            if expected in shown:
                self.seen.add(key)
                continue
            tag = text.split(" ")[0].lower()
            at = shown.find(tag)
            self.faults.append(
                f"{where}: {key} does not read as written; the page has {shown[at : at + 200]!r}"
                if at >= 0
                else f"{where}: {key} is not on the page"
            )

    def expand(self, names: tuple[str, ...]) -> list[str]:
        """A name ending in a dot stands for every field whose name starts with it."""
        expanded = []
        for name in names:
            expanded += [key for key in self.written.texts if key.startswith(name)] if name.endswith(".") else [name]
        return expanded


def sign_out(page: Page) -> None:
    with page.expect_navigation():
        page.get_by_role("button", name="Sign out").click()


@pytest.fixture
def page_log(_page_log):
    """The `page` fixture's log, whose list of pages not yet checked `Reader.check` empties."""
    return _page_log


def test_no_payload_runs_and_every_text_reads_as_written(page, sign_in_as, demo_region, page_log):
    written = seed_hostile(demo_region)
    ids = written.ids
    watch = Watch()
    watch.attach(page)
    reader = Reader(page, watch, written, clear_log=page_log.unchecked.clear)
    look = reader.look

    # A stranger's failed sign-in: the username they typed reaches the audit trail.
    page.goto("/sign-in/")
    page.get_by_label("Username").fill(written.text("sign_in.username", medium))
    page.get_by_label("Password").fill("not the password")
    with page.expect_navigation():
        page.get_by_role("button", name="Sign in").click()
    reader.check("/sign-in/ (refused)", 0, "sign_in.username")

    # The Wake County coordinator (no law-enforcement status): the EOC's pages, products, requests.
    sign_in_as("coordinator")
    entry_fields = ("entry.title", "entry.body", "entry.filename")
    look("/", "coordinator.first_name", "coordinator.last_name")
    look("/eoc/", "incident.name", "jurisdiction.name", *entry_fields, "assignment.phone", "duty.phone")
    # The map: each marker's label (a tooltip) and its popup, both built by map.js.
    before = len(watch.events)
    page.locator(f'.leaflet-marker-icon[title*="{written.texts["incident.name"][:10]}"]').click()
    expect(page.locator(".leaflet-popup-content")).to_be_visible()
    reader.check("/eoc/ (map popup)", before, "incident.name")
    for part in (".leaflet-popup-content a", ".fh-map__label"):
        if written.texts["incident.name"] not in page.locator(part).first.text_content():
            reader.faults.append(f"/eoc/: the map's {part} has {page.locator(part).first.text_content()!r}")
    look(f"/eocs/{ids['wake']}/activation/", "activation.reason", "incident.name")
    look(f"/eocs/{ids['wake']}/feed/", *entry_fields, "les_entry.title", "les_entry.tearline", "cap.", "incident.name")
    look("/incidents/", "incident.name")
    incident_fields = ("incident.name", "incident.description", "incident.address", "period.objectives")
    look(f"/incidents/{ids['incident']}/", *incident_fields, "agency.name", "jurisdiction.name", *entry_fields)
    reader.check(f"/incidents/{ids['incident']}/", 0, "task.title", "les_entry.title", "les_entry.tearline", "cap.")
    # The live feed: an entry posted now reaches the open page through the event stream.
    expect(page.locator("[data-feed-list]")).to_have_attribute("data-live-state", "open")
    before = len(watch.events)
    live = post_entry(
        by=demo_region.people["coordinator"],
        incident=Incident.objects.get(pk=ids["incident"]),
        content=EntryContent(
            kind=FeedEntry.Kind.WARNING, title=written.text("live.title"), body=written.text("live.body")
        ),
    )
    expect(page.locator(f'li[data-entry-id="{live.pk}"]')).to_be_visible(timeout=5000)
    reader.check(f"/incidents/{ids['incident']}/ (live entry)", before, "live.title", "live.body")
    look(f"/entries/{ids['entry']}/correct/", *entry_fields, "incident.name")
    look(f"/incidents/{ids['incident']}/sitreps/", "incident.name")
    look(f"/sitreps/{ids['sitrep']}/", "sitrep.", "incident.name")
    look(f"/sitreps/{ids['sitrep']}/print/", "sitrep.", "incident.name")
    look(f"/incidents/{ids['incident']}/resources/", "resource.kind", "resource.nims_type", "resource.deliver_to")
    look(f"/resource-requests/{ids['resource']}/move/", "resource.", "agency.name")
    look(f"/incidents/{ids['incident']}/tasks/", "task.title", "task.description")
    look("/products/", "product.title", "les.title", "retracted.title")
    product_fields = ("product.title", "product.summary", "product.body", "product.tag", "attachment.filename")
    look(f"/products/{ids['product']}/", *product_fields, "need.title", "analyst.first_name", "analyst.last_name")
    look(f"/products/{ids['product']}/print/", *product_fields)
    look(f"/products/{ids['les']}/", "les.title", "les.tearline")
    look("/requests/", "rfi.question…", "raised.question…")
    look(f"/requests/{ids['rfi']}/", "rfi.question", "rfi.answer", "rfi.assign_note")
    look("/inbox/", "product.title", "les.title", "retracted.title")
    look("/liaison/")
    look("/liaison/relays/", "entry.title", "raised.question")
    look(f"/liaison/incidents/{ids['incident']}/request/", "incident.name")
    look("/profile/", "coordinator.first_name")
    sign_out(page)

    # A supervisor of the fusion center: its products, their history and records, the liaison pages.
    sign_in_as("supervisor")
    look(f"/products/?q={written.text('search.products', medium)}", "search.products")
    look(f"/products/?q={written.texts['product.title'][:5]}", "product.title")
    look(f"/products/{ids['product']}/", "product.", "attachment.filename", "agency.name", "relay.rejection_reason")
    look(f"/products/{ids['product']}/compare/{ids['update']}/", "product.summary", "product.body=")
    look(f"/products/{ids['update']}/edit/", "update.title", "product.summary", "product.body=", "product.tag")
    look(f"/products/{ids['update']}/submit/", "update.title")
    look("/products/review/", "review.title")
    look(f"/products/{ids['review']}/", "review.")
    look(f"/products/{ids['review']}/approve/", "review.title")
    look(f"/products/{ids['retracted']}/", "retracted.")
    look(f"/products/{ids['les']}/", "les.")
    look(f"/requests/{ids['raised']}/", "raised.question")
    look(f"/incidents/{ids['incident']}/", "les_entry.title", "les_entry.body", *entry_fields)
    look(f"/dispatches/{ids['dispatch']}/", "product.title", "product.release_reason")
    look(f"/records/sharing.threatproduct/{ids['product']}/", "product.title")
    look("/liaison/", "les.title", "rule.name", "incident.name")
    relayed = ("product.title", "les.title", "retracted.title", "entry.title", "raised.question")
    look("/liaison/relays/", *relayed, "relay.rejection_reason")
    look(f"/liaison/relays/{ids['relay']}/", "product.title", "relay.note")
    look(f"/liaison/relays/{ids['rejected']}/", "relay.rejection_reason", "rule.name")
    look(f"/liaison/relays/{ids['proposed']}/", "les.title", "rule.name", "incident.name")
    look("/liaison/rules/", "rule.name", "rule_back.name")
    look("/liaison/assignments/", "assignment.note", "assignment.phone", "duty.phone")
    look("/liaison/awareness/", "entry.title", "raised.question")
    look(f"/liaison/awareness/{ids['awareness']}/", "entry.title", "entry.body")
    sign_out(page)

    # A system admin: rules and rejections, webhooks, the audit trail (with a search of theirs), the admin.
    sign_in_as("sysadmin")
    look(f"/liaison/rules/{ids['rule']}/edit/", "rule.name")
    look(f"/liaison/relays/{ids['proposed']}/reject/", "les.title")
    look("/webhooks/", "webhook.url")
    look(f"/webhooks/{ids['webhook']}/", "webhook.url")
    look(f"/audit/?person={written.text('search.audit', medium)}", "search.audit")
    look("/audit/", "search.audit", "sign_in.username", "coordinator.first_name", "rule.name", "retracted.reason")
    look("/admin/agencies/agency/", "agency.name")
    look(f"/admin/agencies/agency/{ids['agency']}/change/", "agency.name", "agency.phone")
    look("/admin/agencies/user/", "coordinator.first_name", "analyst.last_name")
    look(f"/admin/agencies/user/{ids['coordinator']}/change/", "coordinator.")
    look(f"/admin/agencies/user/{ids['analyst']}/change/", "analyst.")
    look("/admin/liaison/relay/", "product.title", "raised.question")
    look("/admin/liaison/routingrule/", "rule.name")
    look("/admin/agencies/auditentry/", "sign_in.username", "product.title…")

    assert not reader.faults, "\n".join(reader.faults)
    unread = sorted(set(written.texts) - reader.seen)
    assert not unread, f"Written but never checked on a page: {unread}"
