"""The inbox in a real browser: a recipient sees the unread count, opens the item and acknowledges it;
the analyst who wrote it sees the acknowledgement on the dissemination record. Every page checked."""

import re

import pytest
from playwright.sync_api import expect

from agencies.markings import TLP
from dissemination.fanout import fan_out
from dissemination.models import Dispatch
from sharing.models import ThreatProduct
from sharing.services.products import ProductContent, approve_product, create_product, submit_for_review
from tests.dissemination.peers import webhook_receiver  # noqa: F401 - a receiver on loopback

pytestmark = pytest.mark.browser

TITLE = "Copper theft at Wake County substations"


def publish_to_wake_county(region) -> ThreatProduct:
    """The analyst writes a bulletin for the Wake County EOC, the supervisor approves it, and it is fanned out."""
    people = region.people
    product = create_product(
        author=people["analyst"],
        content=ProductContent(
            kind=ThreatProduct.Kind.INTELLIGENCE_BULLETIN,
            title=TITLE,
            summary="Thieves cut ground wires at three substations this week.",
            body="Crews found **ground wires** cut at three substations.",
            tlp=TLP.AMBER,
            audience_agencies=[region.agencies["WAKE-EOC"]],
            release_reason="The county EOC coordinates utility protection.",
        ),
    )
    submit_for_review(product=product, by=people["analyst"])
    product = approve_product(product=product, reviewer=people["supervisor"])
    fan_out(dispatch_id=dispatch_of(product).pk)
    return product


def dispatch_of(product: ThreatProduct) -> Dispatch:
    return Dispatch.objects.get(item_type="sharing.threatproduct", item_id=product.pk)


def sign_out(page, check_page):
    with page.expect_navigation():
        page.get_by_role("button", name="Sign out").click()
    check_page()


def test_a_recipient_acknowledges_and_the_analyst_sees_it(page, visit, check_page, sign_in_as, demo_region):
    product = publish_to_wake_county(demo_region)

    sign_in_as("coordinator")
    navigation = page.get_by_role("navigation", name="Primary navigation")
    expect(navigation.get_by_test_id("inbox-unread")).to_have_text("1 unread")
    with page.expect_navigation():
        navigation.get_by_role("link", name=re.compile(r"^Inbox")).click()
    check_page()
    expect(page.get_by_role("heading", level=1)).to_have_text("Inbox")
    row = page.get_by_test_id("inbox-row")
    expect(row).to_have_count(1)
    expect(row).to_contain_text(product.display_number)
    expect(row).to_contain_text("TLP:AMBER")
    expect(row.get_by_test_id("unread")).to_have_text("Unread")

    with page.expect_navigation():
        row.get_by_role("link", name=TITLE).click()
    check_page()
    expect(page.get_by_role("heading", level=1)).to_have_text(TITLE)
    expect(navigation.get_by_test_id("inbox-unread")).to_have_count(0)

    visit("/inbox/")
    row = page.get_by_test_id("inbox-row")
    expect(row.get_by_test_id("delivery-state")).to_contain_text("Read")
    with page.expect_navigation():
        row.get_by_role("button", name=f"Acknowledge {product.display_number}").click()
    check_page()
    expect(page.get_by_role("status")).to_contain_text(f"Acknowledged {product.display_number}")
    expect(page.get_by_test_id("inbox-row").get_by_test_id("delivery-state")).to_contain_text("Acknowledged")
    sign_out(page, check_page)

    sign_in_as("analyst")
    visit(f"/products/{product.pk}/")
    with page.expect_navigation():
        page.get_by_test_id("dissemination-record").click()
    check_page()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Dissemination record: {TITLE}")
    with page.expect_navigation():
        page.get_by_role("link", name="Published").click()
    check_page()
    expect(page.get_by_test_id("acknowledged-people")).to_contain_text("Alex Moreno")
    expect(page.get_by_test_id("release-reason")).to_have_text("The county EOC coordinates utility protection.")
    coordinator_row = page.get_by_test_id("record-row").filter(has_text="Alex Moreno").filter(has_text="Inbox")
    expect(coordinator_row).to_contain_text("Acknowledged")


def test_the_record_follows_a_running_fan_out_until_it_ends(page, visit, check_page, sign_in_as, demo_region):
    product = publish_to_wake_county(demo_region)
    dispatch = dispatch_of(product)
    Dispatch.objects.filter(pk=dispatch.pk).update(
        state=Dispatch.State.FANNING_OUT, recipients_total=400, recipients_done=120
    )

    sign_in_as("supervisor")
    visit(f"/dispatches/{dispatch.pk}/")
    progress = page.get_by_test_id("dispatch-progress")
    expect(progress).to_contain_text("Recording recipients: 120 of 400")
    expect(page.get_by_label(re.compile("Recording recipients"))).to_have_attribute("value", "120")

    Dispatch.objects.filter(pk=dispatch.pk).update(recipients_done=300)
    expect(progress).to_contain_text("Recording recipients: 300 of 400", timeout=6_000)
    Dispatch.objects.filter(pk=dispatch.pk).update(state=Dispatch.State.FANNED_OUT, recipients_done=400)
    expect(page.get_by_test_id("dispatch-finished")).to_be_visible(timeout=6_000)
    expect(page.locator("#dispatch-progress-announcer")).to_have_text(re.compile("Every recipient is recorded"))
    check_page()


def test_an_agency_admin_sets_channels_and_adds_a_webhook_endpoint(
    page,
    visit,
    check_page,
    sign_in_as,
    demo_region,
    webhook_receiver,  # noqa: F811 - the fixture imported above
):
    sign_in_as("wake.admin")
    visit("/notifications/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Email preferences")
    # USWDS draws its own radio buttons and checkboxes: people click their labels.
    page.get_by_text("Daily digest", exact=True).click()
    expect(page.get_by_label("Daily digest")).to_be_checked()
    with page.expect_navigation():
        page.get_by_role("button", name="Save").click()
    check_page()
    expect(page.get_by_role("status")).to_contain_text("Your email preference is saved.")

    with page.expect_navigation():
        page.get_by_role("link", name="Email for the agency's people").click()
    check_page()
    page.get_by_text("Send email to our people about new items").click()
    with page.expect_navigation():
        page.get_by_role("button", name="Save").click()
    check_page()
    expect(page.get_by_label("Send email to our people about new items")).not_to_be_checked()

    visit("/notifications/")
    with page.expect_navigation():
        page.get_by_role("link", name="Webhook endpoints of the agency's systems").click()
    check_page()
    expect(page.get_by_test_id("webhook-empty")).to_be_visible()
    with page.expect_navigation():
        page.get_by_role("link", name="Add an endpoint").click()
    check_page()
    page.get_by_label("URL").fill("ftp://files.example.gov/drop")
    with page.expect_navigation():
        page.get_by_role("button", name="Save the endpoint").click()
    check_page()
    expect(page.get_by_text("Give a full http or https URL.")).to_be_visible()
    page.get_by_label("URL").fill(webhook_receiver.url())
    page.get_by_text("STIX 2.1", exact=True).click()
    with page.expect_navigation():
        page.get_by_role("button", name="Save the endpoint").click()
    check_page()
    expect(page.get_by_test_id("secret-value")).to_have_text(re.compile(r"^whsec_"))

    with page.expect_navigation():
        page.get_by_role("button", name="Send a test message").click()
    check_page()
    expect(page.get_by_test_id("secret-value")).to_have_count(0)
    expect(page.get_by_role("status")).to_contain_text("A signed test message is on its way.")
    with page.expect_navigation():
        page.get_by_role("button", name="Switch off").click()
    check_page()
    expect(page.get_by_test_id("webhook-status")).to_contain_text("Off")
    expect(page.get_by_role("button", name="Send a test message")).to_be_disabled()
