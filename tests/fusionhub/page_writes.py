"""The page writes of the eoc, sharing, dissemination and agencies apps, each aimed at items on each side
of the agencies' lines: the persona's own agency's item, another agency's, and one outside what the persona
may see (an exercise of another EOC, an entry or a product whose markings keep it from them). Each line
gives the status each persona gets and who the write is done for (tests.fusionhub.expectations.Write; its
`done` is given the body as sent with `by`, the persona who sent it); for everyone else nothing of the app
changes in the database (nor the API tokens, nor the events for the other apps). test_idor fails for a page
route of these apps that has no lines here, or in the app's READS when it only reads (a POST to it changes
nothing).
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from dataclasses import dataclass

from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from knox.models import AuthToken

from agencies.markings import TLP
from agencies.models import AccountLockout, ArchivedAuditEntry, AuditEntry, Role, User
from agencies.services import create_person
from dissemination.inbox import WEBHOOK_TEST
from dissemination.models import AgencyChannels, Delivery, Dispatch, NotificationPreference, WebhookEndpoint
from eoc.models import (
    ActivationChange,
    FeedAcknowledgement,
    FeedEntry,
    Incident,
    OperationalPeriod,
    ResourceRequest,
    SituationReport,
    Task,
)
from eoc.services.feed import EntryContent, post_entry
from eoc.services.logistics import (
    RequestDetails,
    TaskDetails,
    assign_task,
    request_resource,
    write_situation_report,
)
from sharing.models import ProductAttachment, ProductRead, RequestForInformation, RetentionReview, ThreatProduct
from sharing.services.attachments import add_attachment
from sharing.services.products import ProductContent, approve_product, create_product, submit_for_review
from sharing.services.requests import assign_request, submit_request
from tests.fusionhub.expectations import (
    LiaisonTargets,
    World,
    Write,
    dispatch,
    inbox_delivery,
    only,
    retention_review,
    wake_endpoint,
)


@dataclass
class PageTargets:
    """What the page writes aim at, besides the world and the liaison app's targets."""

    liaison: LiaisonTargets
    incidents: dict[str, Incident]  # "wake" (the flood), "meck" (a real incident of another EOC), "drill"
    entries: dict[str, FeedEntry]  # "wake" (TLP:GREEN), "wake-amber" (for the Wake EOC only), "meck", "drill"
    sitreps: dict[str, SituationReport]  # drafts with a summary, one per incident
    requests: dict[str, ResourceRequest]  # requested, one per incident
    tasks: dict[str, Task]  # open; Mecklenburg's is given to the Raleigh police
    products: dict[str, ThreatProduct]
    rfis: dict[str, RequestForInformation]  # "wake" and "rpd" assigned to the analyst, "wake-open" and "rpd-open" not
    reviews: dict[str, RetentionReview]  # open retention reviews: the center's and another center's
    attachments: dict[str, ProductAttachment]  # of the center's draft, and of the planted TLP:AMBER product
    deliveries: dict[str, Delivery]  # inbox: the coordinator's, the Raleigh detective's; failed webhook ones
    endpoints: dict[str, WebhookEndpoint]  # the Wake County EOC's, the Raleigh police's
    tokens: dict[str, AuthToken]  # API tokens of the analyst and of the coordinator
    lockouts: dict[str, AccountLockout]  # locked accounts at the center, the Wake County EOC, another police


def build_page_targets(world: World, liaison: LiaisonTargets, planted: dict[str, object]) -> PageTargets:
    """`planted` brings the attack tests' marked items by name: "flood-amber-entry" (an entry of the Wake
    flood for the Wake EOC only), "drill-entry" (of Mecklenburg's exercise), "amber-rpd" (a TLP:AMBER
    product to the Raleigh police), "red-named" (TLP:RED to one person of the Wake EOC), "rpd-rfi" (the
    Raleigh police's question), "rpd-delivery" (its detective's inbox delivery) and "rpd-webhook" (its
    webhook endpoint); the others are made here."""
    people = world.people
    leads = {"wake": people["coordinator"], "meck": people["meck.coordinator"], "drill": people["meck.coordinator"]}
    incidents = {"wake": world.flood, "meck": liaison.meck_incident, "drill": world.drill}
    soon = timezone.now() + datetime.timedelta(hours=6)

    def sitrep(name: str) -> SituationReport:
        incident = incidents[name]
        period = incident.operational_periods.order_by("-number").first()
        return write_situation_report(
            incident=incident, period=period, by=leads[name], sections={"situation_summary": f"Summary of {name}."}
        )

    def resource(name: str) -> ResourceRequest:
        details = RequestDetails(resource_kind="Generator", quantity=1, needed_by=soon, deliver_to="Staging")
        return request_resource(incident=incidents[name], by=leads[name], details=details)

    task_agencies = {"wake": world.wake_eoc, "meck": world.region.agencies["RPD"], "drill": None}

    def task(name: str) -> Task:
        details = TaskDetails(title=f"Task of {name}", due_at=soon, assigned_agency=task_agencies[name], esf=7)
        return assign_task(incident=incidents[name], by=leads[name], details=details)

    def entry(name: str) -> FeedEntry:
        content = EntryContent(kind=FeedEntry.Kind.SITUATION_UPDATE, title=f"Entry of {name}", tlp=TLP.GREEN)
        return post_entry(by=leads[name], incident=incidents[name], content=content)

    names = ("wake", "meck", "drill")
    return PageTargets(
        **sharing_targets(world, liaison, planted),
        **dissemination_targets(world, planted),
        **agencies_targets(world),
        liaison=liaison,
        incidents=incidents,
        entries={
            "wake": entry("wake"),
            "meck": entry("meck"),
            "wake-amber": planted["flood-amber-entry"],
            "drill": planted["drill-entry"],
        },
        sitreps={name: sitrep(name) for name in names},
        requests={name: resource(name) for name in names},
        tasks={name: task(name) for name in names},
    )


def sharing_targets(world: World, liaison: LiaisonTargets, planted: dict[str, object]) -> dict:
    """The center's drafts and products in review, another fusion center's (a draft, one in review, one
    published to the whole state), requests for information assigned to the analyst, retention reviews."""
    people, other = world.people, liaison.other_center
    analyst, supervisor, sysadmin = people["analyst"], people["supervisor"], people["sysadmin"]
    le = {"is_law_enforcement": True}
    other_analyst = create_person(
        by=sysadmin, username="sciic.analyst", roles={Role.ANALYST}, agency=other, first_name="Ola", **le
    )
    other_supervisor = create_person(
        by=sysadmin, username="sciic.supervisor", roles={Role.SUPERVISOR}, agency=other, first_name="Ida", **le
    )

    def product(author: User, name: str, *, state: str, tlp: str = TLP.GREEN) -> ThreatProduct:
        content = ProductContent(
            kind=ThreatProduct.Kind.INTELLIGENCE_BULLETIN,
            title=f"Product {name}",
            tlp=tlp,
            audience_jurisdictions=[world.region.jurisdictions["nc"]],
            release_reason="Partners across the state plan for it.",
        )
        draft = create_product(author=author, content=content)
        if state == "draft":
            return draft
        submit_for_review(product=draft, by=author)
        if state == "review":
            return draft
        reviewer = other_supervisor if author.agency_id == other.pk else supervisor
        return approve_product(product=draft, reviewer=reviewer)

    own_draft = product(analyst, "own-draft", state="draft")
    other_published = product(other_analyst, "other-published", state="published")
    rfis = {
        name: submit_request(
            by=people[by], question=f"Question of {name}", due_date=timezone.localdate() + datetime.timedelta(days=2)
        )
        for name, by in (("wake", "coordinator"), ("rpd", "rpd.partner"))
    }
    for rfi in rfis.values():
        assign_request(rfi=rfi, by=supervisor, assignee=analyst)
    rfis |= {"wake-open": world.rfi, "rpd-open": planted["rpd-rfi"]}
    return {
        "products": {
            "amber-rpd": planted["amber-rpd"],
            "red-named": planted["red-named"],
            "own-draft": own_draft,
            "own-review": product(analyst, "own-review", state="review"),
            "supervisor-review": product(supervisor, "supervisor-review", state="review"),
            "other-draft": product(other_analyst, "other-draft", state="draft"),
            "other-review": product(other_analyst, "other-review", state="review"),
            "other-published": other_published,
        },
        "rfis": rfis,
        "reviews": {
            "own": retention_review(world),
            "other-center": RetentionReview.objects.create(
                number=other_published.number,
                agency=other,
                product=other_published,
                state=RetentionReview.State.OPEN,
                due_date=timezone.localdate(),
            ),
        },
        "attachments": {
            "own-draft": add_attachment(
                product=own_draft,
                by=analyst,
                uploaded_file=SimpleUploadedFile("own.pdf", b"%PDF-1.4\n%%EOF\n", "application/pdf"),
            ),
            "amber-rpd": planted["amber-rpd"].attachments.get(),
        },
    }


def dissemination_targets(world: World, planted: dict[str, object]) -> dict:
    """Inbox deliveries of two people, the webhook endpoints of two agencies, a failed delivery to each."""
    endpoints = {"wake": wake_endpoint(world), "rpd": planted["rpd-webhook"]}

    def failed(endpoint: WebhookEndpoint) -> Delivery:
        return Delivery.objects.create(
            dispatch=dispatch(world),
            channel=Delivery.Channel.WEBHOOK,
            endpoint=endpoint,
            state=Delivery.State.FAILED,
            last_error="HTTP 503",
        )

    return {
        "deliveries": {
            "coordinator": inbox_delivery(world),
            "rpd": planted["rpd-delivery"],
            **{f"failed-{name}": failed(endpoint) for name, endpoint in endpoints.items()},
        },
        "endpoints": endpoints,
    }


def agencies_targets(world: World) -> dict:
    """A second person's API token, and locked accounts besides the center's (world.lockout, analyst2)."""

    def locked(username: str) -> AccountLockout:
        now = timezone.now()
        return AccountLockout.objects.create(
            username=username, failure_count=5, first_failure_at=now, last_failure_at=now, locked_at=now
        )

    return {
        "tokens": {
            "analyst": world.token,
            "coordinator": AuthToken.objects.create(user=world.people["coordinator"])[0],
        },
        "lockouts": {"center": world.lockout, "wake": locked("coordinator.le"), "cmpd": locked("cmpd.partner")},
    }


Targets = PageTargets
Done = Callable[[World, Targets, dict], bool]


def later(hours: int) -> str:
    return (timezone.localtime() + datetime.timedelta(hours=hours)).strftime("%Y-%m-%dT%H:%M")


def titled(world: World, targets: Targets, body: dict) -> bool:
    return FeedEntry.objects.filter(title=body["title"]).exists()


def entry_form(title: str) -> Callable[[World, Targets], dict]:
    return lambda world, targets: {"kind": "situation_update", "priority": "routine", "tlp": TLP.GREEN, "title": title}


def cap_document(identifier: str, headline: str) -> bytes:
    return f"""<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2"><identifier>{identifier}</identifier>
<sender>nws@weather.example.gov</sender><sent>2026-11-24T22:10:00-05:00</sent><status>Actual</status>
<msgType>Alert</msgType><scope>Public</scope><info><category>Met</category><event>Flood Warning</event>
<urgency>Expected</urgency><severity>Severe</severity><certainty>Likely</certainty>
<headline>{headline}</headline><area><areaDesc>Wake</areaDesc></area></info></alert>""".encode()


def cap_upload(identifier: str) -> Callable[[World, Targets], dict]:
    document = cap_document(identifier, "Flood warning from the write matrix")
    return lambda world, targets: {"document": SimpleUploadedFile("alert.xml", document, "application/xml")}


cap_alert = cap_upload("WRITE-MATRIX-1")
# The identifier of an alert planted in Mecklenburg's exercise (test_idor.plant), its title marked.
DRILL_ALERT = "DRILL-ALERT-1"


def cap_imported(world: World, targets: Targets, body: dict) -> bool:
    return FeedEntry.objects.filter(cap_identifier="WRITE-MATRIX-1").exists()


def incident(name: str) -> Callable[[World, Targets], Incident]:
    return lambda world, targets: targets.incidents[name]


def sitrep_form(summary: str, *, with_period: bool = False) -> Callable[[World, Targets], dict]:
    def body(world: World, targets: Targets) -> dict:
        fields = {"situation_summary": summary}
        if with_period:
            # The current period of the Wake flood: the form shows the incident's own periods only.
            fields["operational_period"] = world.flood.operational_periods.order_by("-number").first().pk
        return fields

    return body


def sitrep_summary(world: World, targets: Targets, body: dict) -> bool:
    return SituationReport.objects.filter(situation_summary=body["situation_summary"]).exists()


def resource_form(world: World, targets: Targets) -> dict:
    return {
        "resource_kind": "Light tower from the write matrix",
        "quantity": 2,
        "priority": ResourceRequest.Priority.ROUTINE,
        "needed_by": later(5),
        "deliver_to": "Staging",
    }


def task_form(world: World, targets: Targets) -> dict:
    return {"title": "Task from the write matrix", "esf": 7, "due_at": later(5)}


def is_in(model, attribute: str, name: str, **lookups) -> Done:
    return lambda world, targets, body: model.objects.filter(
        pk=getattr(targets, attribute)[name].pk, **lookups
    ).exists()


RENAMED_PRODUCT = "Renamed by the write matrix"
EOC_KEEPERS = ("coordinator",)  # EOC coordinators of the Wake County EOC, the lead of the flood
NOT_FOUND = 404  # an exercise of another EOC: not there at all

# --- eoc (eoc/page_urls.py) -------------------------------------------------------------------------
# Coordinators of the lead EOC run an incident (check_may_coordinate); coordinators of the agencies taking
# part and every liaison officer post to its feed (may_post_to); whoever sees an entry acknowledges it; the
# lead EOC or the agency given a task changes its status, whoever there sends it (change_task_status).
# Mecklenburg's exercise is seen by its participants only: 404 to everyone here.


def coordinated(key: str, done: Callable[[str], Done], body, *, passed=302, own=EOC_KEEPERS) -> list[Write]:
    """A write that coordinators of the lead EOC make: on the flood (the Wake EOC's), on Mecklenburg's
    real incident, and on Mecklenburg's exercise."""
    body = body or (lambda world, targets: {})
    return [
        Write("the Wake County EOC's incident", done("wake"), body=body, obj=key("wake"), allowed=own, passed=passed),
        Write("the Mecklenburg County EOC's incident", done("meck"), body=body, obj=key("meck")),
        Write("Mecklenburg's exercise", done("drill"), body=body, obj=key("drill"), refused=NOT_FOUND),
    ]


def on(attribute: str) -> Callable[[str], Callable[[World, Targets], object]]:
    return lambda name: lambda world, targets: getattr(targets, attribute)[name]


def in_incident(model, **lookups) -> Callable[[str], Done]:
    return lambda name: (
        lambda world, targets, body: model.objects.filter(incident=targets.incidents[name], **lookups).exists()
    )


EOC_WRITES: dict[str, list[Write]] = {
    "eoc:incident-create": [
        Write(
            "an incident led by the person's own EOC",
            lambda world, targets, body: Incident.objects.filter(name=body["name"]).exists(),
            body=lambda world, targets: {
                "incident_type": Incident.Type.FLOOD,
                "name": "Opened by the write matrix",
                "priority": Incident.Priority.MODERATE,
            },
            allowed=EOC_KEEPERS,
        ),
    ],
    "eoc:incident-status": coordinated(
        on("incidents"),
        lambda name: (
            lambda world, targets, body: Incident.objects.filter(
                pk=targets.incidents[name].pk, status=Incident.Status.CLOSED
            ).exists()
        ),
        lambda world, targets: {"status": Incident.Status.CLOSED, "note": "Closed by the write matrix."},
    ),
    "eoc:operational-period-start": coordinated(
        on("incidents"),
        in_incident(OperationalPeriod, objectives="From the write matrix."),
        lambda world, targets: {"starts_at": later(1), "ends_at": later(13), "objectives": "From the write matrix."},
    ),
    "eoc:sitrep-create": [
        Write(
            "the Wake County EOC's incident",
            sitrep_summary,
            body=sitrep_form("Written by the write matrix.", with_period=True),
            obj=incident("wake"),
            allowed=EOC_KEEPERS,
        ),
        Write(
            "the Mecklenburg County EOC's incident",
            sitrep_summary,
            body=sitrep_form("Written by the write matrix."),
            obj=incident("meck"),
        ),
        Write(
            "Mecklenburg's exercise",
            sitrep_summary,
            body=sitrep_form("Written by the write matrix."),
            obj=incident("drill"),
            refused=NOT_FOUND,
        ),
    ],
    "eoc:sitrep-edit": coordinated(
        on("sitreps"),
        lambda name: is_in(SituationReport, "sitreps", name, situation_summary="Edited by the write matrix."),
        sitrep_form("Edited by the write matrix."),
    ),
    "eoc:sitrep-publish": coordinated(
        on("sitreps"), lambda name: is_in(SituationReport, "sitreps", name, state=SituationReport.State.PUBLISHED), None
    ),
    "eoc:resource-request-create": coordinated(
        on("incidents"), in_incident(ResourceRequest, resource_kind="Light tower from the write matrix"), resource_form
    ),
    "eoc:resource-request-transition": coordinated(
        on("requests"),
        lambda name: is_in(ResourceRequest, "requests", name, state=ResourceRequest.State.APPROVED),
        lambda world, targets: {"state": ResourceRequest.State.APPROVED},
    ),
    "eoc:task-create": coordinated(on("incidents"), in_incident(Task, title="Task from the write matrix"), task_form),
    # Whoever is at the lead EOC or at the agency given the task: Mecklenburg's is the Raleigh police's.
    "eoc:task-status": [
        Write(
            "the Wake County EOC's task",
            is_in(Task, "tasks", "wake", status=Task.Status.DONE),
            body=lambda world, targets: {"status": Task.Status.DONE},
            obj=on("tasks")("wake"),
            allowed=("coordinator", "wake.admin"),
        ),
        Write(
            "the Raleigh police's task in Mecklenburg's incident",
            is_in(Task, "tasks", "meck", status=Task.Status.DONE),
            body=lambda world, targets: {"status": Task.Status.DONE},
            obj=on("tasks")("meck"),
            allowed=("rpd.partner",),
        ),
        Write(
            "a task of Mecklenburg's exercise",
            is_in(Task, "tasks", "drill", status=Task.Status.DONE),
            body=lambda world, targets: {"status": Task.Status.DONE},
            obj=on("tasks")("drill"),
            refused=NOT_FOUND,
        ),
    ],
    # Posting: coordinators of the agencies taking part, and every liaison officer.
    "eoc:entry-create": [
        Write(
            "the Wake County EOC's incident",
            titled,
            body=entry_form("Posted by the write matrix"),
            obj=incident("wake"),
            allowed=("coordinator", "liaison"),
        ),
        Write(
            "the Mecklenburg County EOC's incident",
            titled,
            body=entry_form("Posted by the write matrix"),
            obj=incident("meck"),
            allowed=("liaison",),
        ),
        Write(
            "Mecklenburg's exercise",
            titled,
            body=entry_form("Posted by the write matrix"),
            obj=incident("drill"),
            refused=NOT_FOUND,
        ),
    ],
    "eoc:cap-upload": [
        Write(
            "the Wake County EOC's incident",
            cap_imported,
            body=cap_alert,
            obj=incident("wake"),
            allowed=("coordinator", "liaison"),
        ),
        Write(
            "the Mecklenburg County EOC's incident",
            cap_imported,
            body=cap_alert,
            obj=incident("meck"),
            allowed=("liaison",),
        ),
        Write("Mecklenburg's exercise", cap_imported, body=cap_alert, obj=incident("drill"), refused=NOT_FOUND),
        # Already imported into the exercise: those who may post are told so, never shown that entry.
        Write(
            "the Wake flood, with an alert already in Mecklenburg's exercise",
            lambda world, targets, body: False,
            body=cap_upload(DRILL_ALERT),
            obj=incident("wake"),
            personas=only(200, "coordinator", "liaison"),
        ),
    ],
    "eoc:eoc-entry-create": [
        Write(
            "the Wake County EOC's feed",
            titled,
            body=entry_form("Posted by the write matrix"),
            obj=lambda world, targets: world.wake_eoc,
            allowed=("coordinator", "liaison"),
        ),
        Write(
            "the Mecklenburg County EOC's feed",
            titled,
            body=entry_form("Posted by the write matrix"),
            obj=lambda world, targets: world.region.agencies["MECK-EOC"],
            allowed=("liaison",),
        ),
    ],
    # Acknowledging: whoever sees the entry; an entry marked for the Wake EOC only is not there for others.
    "eoc:entry-acknowledge": [
        Write(
            "a TLP:GREEN entry of the Wake flood",
            lambda world, targets, body: FeedAcknowledgement.objects.filter(entry=targets.entries["wake"]).exists(),
            obj=on("entries")("wake"),
            allowed=("analyst", "supervisor", "liaison", "coordinator", "wake.admin", "rpd.partner", "sysadmin"),
        ),
        Write(
            "a TLP:AMBER entry for the Wake County EOC only",
            lambda world, targets, body: FeedAcknowledgement.objects.filter(
                entry=targets.entries["wake-amber"]
            ).exists(),
            obj=on("entries")("wake-amber"),
            allowed=("coordinator", "wake.admin"),
            refused=NOT_FOUND,
        ),
        Write(
            "an entry of Mecklenburg's exercise",
            lambda world, targets, body: FeedAcknowledgement.objects.filter(entry=targets.entries["drill"]).exists(),
            obj=on("entries")("drill"),
            refused=NOT_FOUND,
        ),
    ],
    # Correcting: those who post to the entry's feed, among those who see it.
    "eoc:entry-correct": [
        Write(
            "a TLP:GREEN entry of the Wake flood",
            lambda world, targets, body: FeedEntry.objects.filter(corrects=targets.entries["wake"]).exists(),
            body=entry_form("Corrected by the write matrix"),
            obj=on("entries")("wake"),
            allowed=("coordinator", "liaison"),
        ),
        Write(
            "an entry of Mecklenburg's incident",
            lambda world, targets, body: FeedEntry.objects.filter(corrects=targets.entries["meck"]).exists(),
            body=entry_form("Corrected by the write matrix"),
            obj=on("entries")("meck"),
            allowed=("liaison",),
        ),
        Write(
            "a TLP:AMBER entry for the Wake County EOC only",
            lambda world, targets, body: FeedEntry.objects.filter(corrects=targets.entries["wake-amber"]).exists(),
            body=entry_form("Corrected by the write matrix"),
            obj=on("entries")("wake-amber"),
            allowed=("coordinator",),
            refused=NOT_FOUND,
            personas={"wake.admin": 403},
        ),
        Write(
            "an entry of Mecklenburg's exercise",
            lambda world, targets, body: FeedEntry.objects.filter(corrects=targets.entries["drill"]).exists(),
            body=entry_form("Corrected by the write matrix"),
            obj=on("entries")("drill"),
            refused=NOT_FOUND,
        ),
    ],
    # The activation level: coordinators of that EOC.
    "eoc:eoc-activation": [
        Write(
            "the Wake County EOC",
            lambda world, targets, body: ActivationChange.objects.filter(reason=body["reason"]).exists(),
            body=lambda world, targets: {"level": 2, "reason": "Raised by the write matrix."},
            obj=lambda world, targets: world.wake_eoc,
            allowed=EOC_KEEPERS,
        ),
        Write(
            "the Mecklenburg County EOC",
            lambda world, targets, body: ActivationChange.objects.filter(reason=body["reason"]).exists(),
            body=lambda world, targets: {"level": 2, "reason": "Raised by the write matrix."},
            obj=lambda world, targets: world.region.agencies["MECK-EOC"],
        ),
    ],
}

# The eoc pages that only read: a POST to them changes nothing (405 for most).
EOC_READS = frozenset({
    "eoc:incident-list", "eoc:incident-detail", "eoc:incident-feed-fragment", "eoc:entry-attachment-download",
    "eoc:sitrep-list", "eoc:sitrep-detail", "eoc:sitrep-print", "eoc:resource-board", "eoc:task-list",
    "eoc:own-dashboard", "eoc:dashboard", "eoc:eoc-feed", "eoc:eoc-feed-fragment", "eoc:incident-feed-stream",
    "eoc:eoc-feed-stream",
})  # fmt: skip

# --- sharing (sharing/product_urls.py, attachment_urls.py, request_urls.py) ------------------------------
# Products are written by a fusion center's analysts and supervisors (may_write_products); a draft is edited
# and submitted by its author or its center's analysts and supervisors, approved or returned by a supervisor
# of its center other than its author, updated by its center's writers, retracted by its center's
# supervisors (sharing/permissions.py, the services' same checks). Who does not see the product gets a 404;
# who sees it but may not act, a 403; an action its state refuses, the product's page with the reason (302).
# A retention review is decided by a supervisor of its center; anyone of another agency does not find it.
# Requests: anyone asks; a supervisor of the receiving center assigns; the analyst given it answers; the
# requester or such a supervisor closes (sharing/services/requests.py).

WRITERS = ("analyst", "supervisor")
NOT_AMBER_READERS = only(404, "coordinator", "wake.admin")  # the planted TLP:AMBER product is the Raleigh police's
NOT_RED_READERS = only(404, "coordinator", "wake.admin", "rpd.partner")  # TLP:RED to coordinator.le alone


def product(name: str) -> Callable[[World, Targets], ThreatProduct]:
    return lambda world, targets: targets.products[name]


def product_is(name: str, **lookups) -> Done:
    return lambda world, targets, body: ThreatProduct.objects.filter(pk=targets.products[name].pk, **lookups).exists()


def product_form(title: str) -> Callable[[World, Targets], dict]:
    return lambda world, targets: {
        "kind": ThreatProduct.Kind.INTELLIGENCE_BULLETIN,
        "title": title,
        "tlp": TLP.GREEN,
        "audience_jurisdictions": [world.region.jurisdictions["nc"].pk],
        "release_reason": "Partners across the state plan for it.",
    }


def updated(name: str) -> Done:
    return lambda world, targets, body: ThreatProduct.objects.filter(previous_version=targets.products[name]).exists()


def upload(world: World, targets: Targets) -> dict:
    return {"file": SimpleUploadedFile("matrix.pdf", b"%PDF-1.4\n% write matrix\n%%EOF\n", "application/pdf")}


def uploaded(name: str) -> Done:
    return lambda world, targets, body: ProductAttachment.objects.filter(
        product=targets.products[name], filename="matrix.pdf"
    ).exists()


def attachment(name: str) -> Callable[[World, Targets], tuple]:
    return lambda world, targets: (targets.products[name], targets.attachments[name])


def removed(name: str) -> Done:
    return lambda world, targets, body: not ProductAttachment.objects.filter(pk=targets.attachments[name].pk).exists()


def review(name: str) -> Callable[[World, Targets], RetentionReview]:
    return lambda world, targets: targets.reviews[name]


def review_is(name: str, state: str) -> Done:
    return lambda world, targets, body: RetentionReview.objects.filter(
        pk=targets.reviews[name].pk, state=state
    ).exists()


def decision(kind: str) -> Callable[[World, Targets], dict]:
    def body(world: World, targets: Targets) -> dict:
        if kind == "validate":
            in_a_year = timezone.localdate() + datetime.timedelta(days=365)
            return {"decision": "validate", "new_review_by": in_a_year.isoformat(), "justification": "Still needed."}
        return {"decision": "purge", "confirm_purge": "on", "justification": "No longer relevant."}

    return body


def rfi(name: str) -> Callable[[World, Targets], RequestForInformation]:
    return lambda world, targets: targets.rfis[name]


def rfi_is(name: str, **lookups) -> Done:
    return lambda world, targets, body: RequestForInformation.objects.filter(
        pk=targets.rfis[name].pk, **lookups
    ).exists()


def question(center: Callable[[World, Targets], object]) -> Callable[[World, Targets], dict]:
    return lambda world, targets: {
        "question": "Who is stealing copper from the substations?",
        "priority": RequestForInformation.Priority.ROUTINE,
        "due_date": (timezone.localdate() + datetime.timedelta(days=3)).isoformat(),
        "fusion_center": center(world, targets).pk,
    }


def asked(world: World, targets: Targets, body: dict) -> bool:
    return RequestForInformation.objects.filter(
        question=body["question"], fusion_center_id=body["fusion_center"]
    ).exists()


ASSIGN = lambda world, targets: {"assignee": world.people["analyst"].pk}  # noqa: E731
ANSWER = lambda world, targets: {"answer": "Answered by the write matrix."}  # noqa: E731
EVERYONE = ("analyst", "supervisor", "liaison", "coordinator", "wake.admin", "rpd.partner", "sysadmin")

SHARING_WRITES: dict[str, list[Write]] = {
    "sharing:product-create": [
        Write(
            "a product of the person's own center",
            lambda world, targets, body: ThreatProduct.objects.filter(title=body["title"]).exists(),
            body=product_form("Written by the write matrix"),
            allowed=WRITERS,
        ),
    ],
    "sharing:product-edit": [
        Write(
            "the center's draft",
            product_is("own-draft", title=RENAMED_PRODUCT),
            body=product_form(RENAMED_PRODUCT),
            obj=product("own-draft"),
            allowed=WRITERS,
            refused=404,
        ),
        Write(
            "another center's draft",
            product_is("other-draft", title=RENAMED_PRODUCT),
            body=product_form(RENAMED_PRODUCT),
            obj=product("other-draft"),
            refused=404,
        ),
        Write(
            "another center's published product",
            product_is("other-published", title=RENAMED_PRODUCT),
            body=product_form(RENAMED_PRODUCT),
            obj=product("other-published"),
        ),
        # Published: the center's writers are sent to its page with the reason.
        Write(
            "the center's TLP:AMBER product to the Raleigh police",
            product_is("amber-rpd", title=RENAMED_PRODUCT),
            body=product_form(RENAMED_PRODUCT),
            obj=product("amber-rpd"),
            personas={**only(302, *WRITERS), **NOT_AMBER_READERS},
        ),
    ],
    "sharing:product-submit": [
        Write(
            "the center's draft",
            product_is("own-draft", state=ThreatProduct.State.IN_REVIEW),
            obj=product("own-draft"),
            allowed=WRITERS,
            refused=404,
        ),
        Write(
            "another center's draft",
            product_is("other-draft", state=ThreatProduct.State.IN_REVIEW),
            obj=product("other-draft"),
            refused=404,
        ),
        Write(
            "another center's published product",
            product_is("other-published", state=ThreatProduct.State.IN_REVIEW),
            obj=product("other-published"),
        ),
    ],
    "sharing:product-approve": [
        Write(
            "the center's product in review, by the analyst",
            product_is("own-review", state=ThreatProduct.State.PUBLISHED),
            obj=product("own-review"),
            allowed=("supervisor",),
            refused=404,
            personas={"analyst": 403},
        ),
        Write(
            "the center's product in review, by the supervisor",
            product_is("supervisor-review", state=ThreatProduct.State.PUBLISHED),
            obj=product("supervisor-review"),
            refused=404,
            personas=only(403, *WRITERS),
        ),
        Write(
            "another center's product in review",
            product_is("other-review", state=ThreatProduct.State.PUBLISHED),
            obj=product("other-review"),
            refused=404,
        ),
    ],
    "sharing:product-return": [
        Write(
            "the center's product in review, by the analyst",
            product_is("own-review", state=ThreatProduct.State.DRAFT),
            body=lambda world, targets: {"comment": "Cite the sources."},
            obj=product("own-review"),
            allowed=("supervisor",),
            refused=404,
            personas={"analyst": 403},
        ),
        Write(
            "the center's product in review, by the supervisor",
            product_is("supervisor-review", state=ThreatProduct.State.DRAFT),
            body=lambda world, targets: {"comment": "Cite the sources."},
            obj=product("supervisor-review"),
            refused=404,
            personas=only(403, *WRITERS),
        ),
        Write(
            "another center's product in review",
            product_is("other-review", state=ThreatProduct.State.DRAFT),
            body=lambda world, targets: {"comment": "Cite the sources."},
            obj=product("other-review"),
            refused=404,
        ),
    ],
    "sharing:product-update": [
        Write(
            "the center's TLP:AMBER product to the Raleigh police",
            updated("amber-rpd"),
            obj=product("amber-rpd"),
            allowed=WRITERS,
            personas=NOT_AMBER_READERS,
        ),
        Write(
            "the center's TLP:RED product to one person",
            updated("red-named"),
            obj=product("red-named"),
            allowed=WRITERS,
            personas=NOT_RED_READERS,
        ),
        Write("another center's published product", updated("other-published"), obj=product("other-published")),
    ],
    "sharing:product-retract": [
        Write(
            "the center's TLP:AMBER product to the Raleigh police",
            product_is("amber-rpd", state=ThreatProduct.State.RETRACTED),
            body=lambda world, targets: {"reason": "Withdrawn by the write matrix."},
            obj=product("amber-rpd"),
            allowed=("supervisor",),
            personas=NOT_AMBER_READERS,
        ),
        Write(
            "the center's TLP:RED product to one person",
            product_is("red-named", state=ThreatProduct.State.RETRACTED),
            body=lambda world, targets: {"reason": "Withdrawn by the write matrix."},
            obj=product("red-named"),
            allowed=("supervisor",),
            personas=NOT_RED_READERS,
        ),
        Write(
            "another center's published product",
            product_is("other-published", state=ThreatProduct.State.RETRACTED),
            body=lambda world, targets: {"reason": "Withdrawn by the write matrix."},
            obj=product("other-published"),
        ),
    ],
    "sharing:attachment-upload": [
        Write(
            "the center's draft",
            uploaded("own-draft"),
            body=upload,
            obj=product("own-draft"),
            allowed=WRITERS,
            refused=404,
        ),
        Write("another center's draft", uploaded("other-draft"), body=upload, obj=product("other-draft"), refused=404),
        # Published: the center's writers are told that only a draft takes files.
        Write(
            "the center's TLP:AMBER product to the Raleigh police",
            uploaded("amber-rpd"),
            body=upload,
            obj=product("amber-rpd"),
            personas={**only(302, *WRITERS), **NOT_AMBER_READERS},
        ),
    ],
    "sharing:attachment-delete": [
        Write(
            "the center's draft's file", removed("own-draft"), obj=attachment("own-draft"), allowed=WRITERS, refused=404
        ),
        Write(
            "the TLP:AMBER product's file",
            removed("amber-rpd"),
            obj=attachment("amber-rpd"),
            personas={**only(302, *WRITERS), **NOT_AMBER_READERS},
        ),
    ],
    "sharing:retention-decision": [
        Write(
            "the center's review, validated",
            review_is("own", RetentionReview.State.VALIDATED),
            body=decision("validate"),
            obj=review("own"),
            allowed=("supervisor",),
            refused=404,
            personas=only(403, "analyst", "liaison", "sysadmin"),
        ),
        Write(
            "the center's review, purged",
            review_is("own", RetentionReview.State.PURGED),
            body=decision("purge"),
            obj=review("own"),
            allowed=("supervisor",),
            refused=404,
            personas=only(403, "analyst", "liaison", "sysadmin"),
        ),
        Write(
            "another center's review",
            review_is("other-center", RetentionReview.State.PURGED),
            body=decision("purge"),
            obj=review("other-center"),
            refused=404,
        ),
    ],
    "sharing:request-create": [
        Write(
            "to the center",
            asked,
            body=question(lambda world, targets: world.region.agencies["NCISAAC"]),
            allowed=EVERYONE,
        ),
        Write(
            "to another fusion center",
            asked,
            body=question(lambda world, targets: targets.liaison.other_center),
            allowed=EVERYONE,
        ),
    ],
    "sharing:request-assign": [
        Write(
            "the Wake County EOC's request",
            rfi_is("wake-open", state=RequestForInformation.State.ASSIGNED),
            body=ASSIGN,
            obj=rfi("wake-open"),
            allowed=("supervisor",),
            personas={"rpd.partner": 404},
        ),
        Write(
            "the Raleigh police's request",
            rfi_is("rpd-open", state=RequestForInformation.State.ASSIGNED),
            body=ASSIGN,
            obj=rfi("rpd-open"),
            allowed=("supervisor",),
            personas=only(404, "coordinator", "wake.admin"),
        ),
    ],
    "sharing:request-answer": [
        Write(
            "the Wake County EOC's request",
            rfi_is("wake", state=RequestForInformation.State.ANSWERED),
            body=ANSWER,
            obj=rfi("wake"),
            allowed=("analyst",),
            personas={"rpd.partner": 404},
        ),
        Write(
            "the Raleigh police's request",
            rfi_is("rpd", state=RequestForInformation.State.ANSWERED),
            body=ANSWER,
            obj=rfi("rpd"),
            allowed=("analyst",),
            personas=only(404, "coordinator", "wake.admin"),
        ),
    ],
    "sharing:request-close": [
        Write(
            "the Wake County EOC's request",
            rfi_is("wake-open", state=RequestForInformation.State.CLOSED),
            obj=rfi("wake-open"),
            allowed=("coordinator", "supervisor"),
            personas={"rpd.partner": 404},
        ),
        Write(
            "the Raleigh police's request",
            rfi_is("rpd-open", state=RequestForInformation.State.CLOSED),
            obj=rfi("rpd-open"),
            allowed=("rpd.partner", "supervisor"),
            personas=only(404, "coordinator", "wake.admin"),
        ),
    ],
}

# The sharing pages that only read (the previews render what they are sent, and store nothing).
SHARING_READS = frozenset({
    "sharing:product-list", "sharing:product-preview", "sharing:audience-preview", "sharing:review-queue",
    "sharing:retention-queue", "sharing:product-detail", "sharing:product-print", "sharing:product-compare",
    "sharing:attachment-download", "sharing:request-list", "sharing:request-detail",
})  # fmt: skip

# --- dissemination (dissemination/urls.py) ------------------------------------------------------------
# An inbox delivery is its recipient's alone (404 to anyone else); a person sets their own email preference;
# an agency's channels and webhook endpoints (and the retry of a failed delivery to one) are managed by its
# agency admins and by system admins, and are not found by anyone else (dissemination.selectors.
# may_manage_agency; the services' same check). A system admin chooses the agency of a new endpoint; an
# agency admin's is their own agency's, whatever the form is sent with.

MANAGERS = ("wake.admin", "sysadmin")  # of the Wake County EOC


def delivery(name: str) -> Callable[[World, Targets], Delivery]:
    return lambda world, targets: targets.deliveries[name]


def delivery_is(name: str, **lookups) -> Done:
    return lambda world, targets, body: Delivery.objects.filter(pk=targets.deliveries[name].pk, **lookups).exists()


def endpoint(name: str) -> Callable[[World, Targets], WebhookEndpoint]:
    return lambda world, targets: targets.endpoints[name]


def endpoint_is(name: str, **lookups) -> Done:
    return lambda world, targets, body: WebhookEndpoint.objects.filter(
        pk=targets.endpoints[name].pk, **lookups
    ).exists()


def tested(name: str) -> Done:
    return lambda world, targets, body: Dispatch.objects.filter(
        item_type=WEBHOOK_TEST.label, item_id=targets.endpoints[name].pk
    ).exists()


def new_endpoint(agency: str, url: str) -> Callable[[World, Targets], dict]:
    return lambda world, targets: {
        "agency": world.region.agencies[agency].pk,
        "url": url,
        "payload_format": WebhookEndpoint.Format.JSON,
    }


def endpoint_created(world: World, targets: Targets, body: dict) -> bool:
    """An endpoint at the address, of the agency chosen when a system admin sent it, else of the sender's."""
    person = world.people[body["by"]]
    agency_id = body["agency"] if person.is_system_admin else person.agency_id
    return WebhookEndpoint.objects.filter(url=body["url"], agency_id=agency_id).exists()


def channels_off(agency: str) -> Done:
    return lambda world, targets, body: AgencyChannels.objects.filter(
        agency=world.region.agencies[agency], email_enabled=False
    ).exists()


DISSEMINATION_WRITES: dict[str, list[Write]] = {
    # Opening an inbox item marks it read (a GET does it; so does a POST).
    "dissemination:inbox-open": [
        Write(
            "the coordinator's delivery",
            delivery_is("coordinator", read_at__isnull=False),
            obj=delivery("coordinator"),
            allowed=("coordinator",),
            refused=404,
        ),
        Write(
            "the Raleigh detective's delivery of a TLP:AMBER product",
            delivery_is("rpd", read_at__isnull=False),
            obj=delivery("rpd"),
            allowed=("rpd.partner",),
            refused=404,
        ),
    ],
    "dissemination:inbox-acknowledge": [
        Write(
            "the coordinator's delivery",
            delivery_is("coordinator", acknowledged_at__isnull=False),
            obj=delivery("coordinator"),
            allowed=("coordinator",),
            refused=404,
        ),
        Write(
            "the Raleigh detective's delivery of a TLP:AMBER product",
            delivery_is("rpd", acknowledged_at__isnull=False),
            obj=delivery("rpd"),
            allowed=("rpd.partner",),
            refused=404,
        ),
    ],
    "dissemination:preferences": [
        Write(
            "the person's own preference",
            lambda world, targets, body: NotificationPreference.objects.filter(
                person=world.people[body["by"]], email_mode=body["email_mode"]
            ).exists(),
            body=lambda world, targets: {"email_mode": NotificationPreference.EmailMode.DIGEST},
            allowed=EVERYONE,
        ),
    ],
    "dissemination:agency-channels": [
        Write(
            "the Wake County EOC's",
            channels_off("WAKE-EOC"),
            obj=lambda w, t: w.wake_eoc,
            allowed=MANAGERS,
            refused=404,
        ),
        Write(
            "the Raleigh police's",
            channels_off("RPD"),
            obj=lambda w, t: w.region.agencies["RPD"],
            allowed=("sysadmin",),
            refused=404,
        ),
    ],
    "dissemination:webhook-create": [
        Write(
            "for the person's own agency",
            endpoint_created,
            body=new_endpoint("WAKE-EOC", "https://8.8.8.8/fusionhub/wake"),
            allowed=MANAGERS,
        ),
        Write(
            "for another agency",
            endpoint_created,
            body=new_endpoint("RPD", "https://8.8.8.8/fusionhub/rpd"),
            allowed=MANAGERS,
        ),
    ],
    "dissemination:webhook-set-active": [
        Write(
            "the Wake County EOC's endpoint",
            endpoint_is("wake", is_active=False),
            body=lambda world, targets: {"is_active": "false"},
            obj=endpoint("wake"),
            allowed=MANAGERS,
            refused=404,
        ),
        Write(
            "the Raleigh police's endpoint",
            endpoint_is("rpd", is_active=False),
            body=lambda world, targets: {"is_active": "false"},
            obj=endpoint("rpd"),
            allowed=("sysadmin",),
            refused=404,
        ),
    ],
    "dissemination:webhook-format": [
        Write(
            "the Wake County EOC's endpoint",
            endpoint_is("wake", payload_format=WebhookEndpoint.Format.STIX),
            body=lambda world, targets: {"payload_format": WebhookEndpoint.Format.STIX},
            obj=endpoint("wake"),
            allowed=MANAGERS,
            refused=404,
        ),
        Write(
            "the Raleigh police's endpoint",
            endpoint_is("rpd", payload_format=WebhookEndpoint.Format.STIX),
            body=lambda world, targets: {"payload_format": WebhookEndpoint.Format.STIX},
            obj=endpoint("rpd"),
            allowed=("sysadmin",),
            refused=404,
        ),
    ],
    "dissemination:webhook-test": [
        Write("the Wake County EOC's endpoint", tested("wake"), obj=endpoint("wake"), allowed=MANAGERS, refused=404),
        Write("the Raleigh police's endpoint", tested("rpd"), obj=endpoint("rpd"), allowed=("sysadmin",), refused=404),
    ],
    "dissemination:delivery-retry": [
        Write(
            "a failed delivery to the Wake County EOC's endpoint",
            delivery_is("failed-wake", state=Delivery.State.PENDING),
            obj=delivery("failed-wake"),
            allowed=MANAGERS,
            refused=404,
        ),
        Write(
            "a failed delivery to the Raleigh police's endpoint",
            delivery_is("failed-rpd", state=Delivery.State.PENDING),
            obj=delivery("failed-rpd"),
            allowed=("sysadmin",),
            refused=404,
        ),
    ],
}

DISSEMINATION_READS = frozenset({
    "dissemination:inbox", "dissemination:dispatch-record", "dissemination:dispatch-progress",
    "dissemination:item-record", "dissemination:webhook-list", "dissemination:webhook-detail",
})  # fmt: skip

# --- agencies (agencies/urls.py; the Django admin has its own matrix) ------------------------------------
# A person creates and revokes their own API tokens only (another's is not found); agency admins release
# the locked accounts of their own agency, system admins anyone's (agencies.services.people.
# check_may_manage); anyone else is refused the page (403), an agency admin another agency's person (404).


def token_key(name: str) -> Callable[[World, Targets], str]:
    return lambda world, targets: targets.tokens[name].token_key


def revoked(name: str) -> Done:
    return lambda world, targets, body: not AuthToken.objects.filter(pk=targets.tokens[name].pk).exists()


def token_created(world: World, targets: Targets, body: dict) -> bool:
    planted = [token.pk for token in targets.tokens.values()]
    return AuthToken.objects.filter(user=world.people[body["by"]]).exclude(pk__in=planted).exists()


def locked_person(name: str) -> Callable[[World, Targets], User]:
    return lambda world, targets: User.objects.get(username=targets.lockouts[name].username)


def unlocked(name: str) -> Done:
    return lambda world, targets, body: not AccountLockout.objects.filter(pk=targets.lockouts[name].pk).exists()


NOT_ADMINS = ("analyst", "supervisor", "liaison", "coordinator", "rpd.partner")

AGENCIES_WRITES: dict[str, list[Write]] = {
    "create-token": [Write("the person's own", token_created, allowed=EVERYONE)],
    "revoke-token": [
        Write("the analyst's", revoked("analyst"), obj=token_key("analyst"), allowed=("analyst",), refused=404),
        Write(
            "the coordinator's",
            revoked("coordinator"),
            obj=token_key("coordinator"),
            allowed=("coordinator",),
            refused=404,
        ),
    ],
    "unlock-account": [
        Write(
            "a person of the Wake County EOC",
            unlocked("wake"),
            obj=locked_person("wake"),
            allowed=MANAGERS,
        ),
        Write(
            "a person of the fusion center",
            unlocked("center"),
            obj=locked_person("center"),
            allowed=("sysadmin",),
            personas={"wake.admin": 404},
        ),
        Write(
            "a person of another police department",
            unlocked("cmpd"),
            obj=locked_person("cmpd"),
            allowed=("sysadmin",),
            personas={"wake.admin": 404},
        ),
    ],
}

# The agencies pages that only read, and the sign-in steps (a signed-in, verified person is sent on).
AGENCIES_READS = frozenset({
    "sign-in", "sign-in-verify", "sign-in-enrol", "recovery-codes", "sign-out", "profile", "locked-accounts",
    "audit-trail", "audit-export",
})  # fmt: skip

# What a page records whoever reads or tries it, which a refused write (sent on to the item's page) may add:
# read marks, the audit trail, the time of the persona's sign-in.
READ_MARKS = frozenset({ProductRead, AuditEntry, ArchivedAuditEntry})
UNTRACKED_FIELDS = {User: frozenset({"last_login"})}

# The apps whose page writes have their lines here, in the order they were given them: each app's writes,
# the pages of it that only read, and the apps whose records a refused write must leave as they were.
APP_WRITES: dict[str, tuple[dict[str, list[Write]], frozenset[str]]] = {
    "eoc": (EOC_WRITES, EOC_READS),
    "sharing": (SHARING_WRITES, SHARING_READS),
    "dissemination": (DISSEMINATION_WRITES, DISSEMINATION_READS),
    "agencies": (AGENCIES_WRITES, AGENCIES_READS),
}
