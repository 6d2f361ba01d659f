"""The liaison journey from the issue, across three people and a real Celery worker: an analyst
publishes a TLP:AMBER LES bulletin with a tearline about Wake County while its EOC is at Level 2
for the Neuse River flood; the liaison officer sees the proposed relay with its marking check and
approves it; the county's coordinator without law-enforcement status sees the tearline in the
incident feed within seconds (live, the page already open), the coordinator with that status sees
the full text; the coordinator acknowledges, and the analyst sees the acknowledgement."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from dissemination.models import DomainEvent
from eoc.demo import seed_incidents
from eoc.models import Incident
from liaison.demo import seed_liaison
from liaison.models import Relay
from sharing.models import ThreatProduct
from tests.browser.asgi import asgi_live_server as live_server  # noqa: F401 - this module's live server
from tests.browser.test_live_feed import second_browser  # noqa: F401 - another person's browser
from tests.dissemination.peers import wait_for
from tests.worker import run_worker

pytestmark = [pytest.mark.browser, pytest.mark.worker]

TITLE = "Planned looting of closed businesses along the flooded Neuse"
TEARLINE = "Expect more patrols near closed businesses along the river; report suspicious activity."
FULL_TEXT = "An informant reports a crew planning to loot"


@pytest.fixture
def worker_and_broker(transactional_db):
    """A worker on the test Redis, the broker the site's own process (uvicorn) queues to."""
    with run_worker(concurrency=1) as worker:
        yield worker


def sign_out(page, check_page):
    with page.expect_navigation():
        page.get_by_role("button", name="Sign out").click()
    check_page()


def test_a_bulletin_reaches_the_flood_feed_through_the_liaison_officer(
    page,
    visit,
    check_page,
    sign_in_as,
    demo_region,
    second_browser,  # noqa: F811 - the fixture imported above
    worker_and_broker,
):
    seed_incidents(demo_region)
    seed_liaison(demo_region)
    flood = Incident.objects.get(name="Neuse River flooding")
    wake = demo_region.jurisdictions["wake"]

    # The analyst writes the bulletin and submits it; the supervisor approves it.
    sign_in_as("analyst")
    visit("/products/new/")
    page.get_by_label("Kind").select_option("intelligence_bulletin")
    page.get_by_label("Title").fill(TITLE)
    page.get_by_label("Summary").fill(f"{FULL_TEXT} businesses closed by the flood.")
    page.get_by_label("Body", exact=True).fill("The crew was seen scouting **Main Street, Smithfield**.")
    page.get_by_label("Tearline", exact=True).fill(TEARLINE)
    page.get_by_label("TLP:AMBER", exact=True).check()
    page.locator("label[for=id_caveats_0]").click()
    page.get_by_label("Jurisdictions", exact=True).select_option(str(wake.pk))
    page.get_by_label("Reason for release").fill("Responders in the flooded county need to know.")
    with page.expect_navigation():
        page.get_by_role("button", name="Save and submit for review").click()
    check_page()
    sign_out(page, check_page)
    sign_in_as("supervisor")
    visit("/products/review/")
    with page.expect_navigation():
        page.get_by_role("button", name=f"Approve {TITLE}").click()
    check_page()
    product = ThreatProduct.objects.get(title=TITLE, state=ThreatProduct.State.PUBLISHED)
    sign_out(page, check_page)

    # The worker handles the publication: the demo's rule proposes it for the activated county EOC.
    wait_for(
        lambda: Relay.objects.filter(source_id=product.pk).exists(),
        message=lambda: (
            f"no relay was proposed: {list(DomainEvent.objects.values_list('kind', 'handled_at', 'last_error'))} "
            + worker_and_broker.log[-3000:]
        ),
    )

    # The coordinator without law-enforcement status has the flood's feed open.
    coordinator = second_browser("coordinator")
    coordinator.goto(f"/incidents/{flood.pk}/")
    feed_entries = coordinator.get_by_test_id("feed-entry").filter(has_text=TITLE)
    expect(feed_entries).to_have_count(0)

    # The liaison officer sees the proposal with its marking check, and approves it.
    sign_in_as("liaison")
    visit("/liaison/")
    row = page.get_by_test_id("relay-row").filter(has_text=TITLE)
    expect(row.get_by_test_id("relay-check")).to_contain_text("Marking check: allowed")
    expect(row.get_by_test_id("relay-check")).to_contain_text("LES")
    expect(row.get_by_test_id("tearline-note")).to_contain_text("without law-enforcement status get the tearline")
    with page.expect_navigation():
        row.get_by_role("button", name="Approve").click()
    check_page()
    expect(page.get_by_test_id("relay-row").filter(has_text=TITLE)).to_have_count(0)
    sign_out(page, check_page)

    # Within seconds, the open feed shows the relayed entry, with the tearline only.
    expect(feed_entries).to_have_count(1, timeout=5_000)
    entry = feed_entries.first
    expect(entry).to_contain_text(TEARLINE)
    expect(entry).not_to_contain_text(FULL_TEXT)
    expect(entry).to_have_attribute("data-kind", "relayed_item")

    # The coordinator with law-enforcement status reads the full text.
    sign_in_as("coordinator.le")
    visit(f"/incidents/{flood.pk}/")
    expect(page.get_by_test_id("feed-entry").filter(has_text=TITLE)).to_contain_text(FULL_TEXT)
    sign_out(page, check_page)

    # The coordinator acknowledges; the analyst sees who did on the product's page.
    entry.get_by_role("button", name="Acknowledge").click()
    expect(entry.get_by_test_id("acknowledged")).to_be_visible()
    wait_for(
        lambda: Relay.objects.filter(source_id=product.pk, state=Relay.State.ACKNOWLEDGED).exists(),
        message=lambda: worker_and_broker.log[-3000:],
    )
    sign_in_as("analyst")
    visit(f"/products/{product.pk}/")
    relayed = page.get_by_test_id("relayed-to").get_by_test_id("relayed-row")
    expect(relayed).to_contain_text("Wake County Emergency Operations Center")
    expect(relayed).to_contain_text("Acknowledged by Alex Moreno")
