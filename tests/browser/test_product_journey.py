"""A threat product in a real browser: an analyst drafts an LES bulletin with a tearline (watching the
live previews), a supervisor approves it from the review queue, a partner in the audience reads its
tearline, and an agency outside the audience cannot find it. Every page is checked, and a script
typed into the body never runs."""

import pytest
from playwright.sync_api import expect

from sharing.models import ThreatProduct

pytestmark = pytest.mark.browser

TITLE = "Copper theft at Wake County substations"
PAYLOAD = 'Thieves cut **ground wires**. <img src=x onerror="window.__xss=1"> <script>window.__xss=2</script>'


def sign_out(page, check_page):
    with page.expect_navigation():
        page.get_by_role("button", name="Sign out").click()
    check_page()


def assert_no_script_ran(page):
    assert page.evaluate("typeof window.__xss") == "undefined"


def test_a_bulletin_from_draft_to_its_audience(page, visit, check_page, sign_in_as, demo_region):
    wake_eoc = demo_region.agencies["WAKE-EOC"]

    sign_in_as("analyst")
    with page.expect_navigation():
        page.get_by_role("navigation", name="Primary navigation").get_by_role("link", name="Products").click()
    check_page()
    with page.expect_navigation():
        page.get_by_role("link", name="New product").click()
    check_page()
    page.get_by_label("Kind").select_option("intelligence_bulletin")
    page.get_by_label("Title").fill(TITLE)
    page.get_by_label("Summary").fill("Three substations hit in a week.")
    page.get_by_label("Body", exact=True).press_sequentially(PAYLOAD)
    expect(page.locator("#body-preview strong")).to_have_text("ground wires")
    assert_no_script_ran(page)
    page.get_by_label("Tearline", exact=True).fill("Report people photographing substations.")
    page.get_by_label("TLP:AMBER", exact=True).check()
    page.locator("label[for=id_caveats_0]").click()
    expect(page.get_by_label("LES", exact=True)).to_be_checked()
    page.get_by_label("Agencies", exact=True).select_option(str(wake_eoc.pk))
    # Wake County EOC: three people, two of them without law-enforcement status.
    expect(page.get_by_test_id("audience-preview")).to_have_text(
        "3 people in 1 agency will receive it; 2 of them get only the tearline."
    )
    page.get_by_label("Reason for release").fill("The county EOC protects the substations.")
    check_page()
    with page.expect_navigation():
        page.get_by_role("button", name="Save and submit for review").click()
    check_page()
    expect(page.get_by_role("heading", level=1)).to_have_text(TITLE)
    expect(page.get_by_test_id("product-facts").get_by_test_id("state")).to_have_text("In review")
    assert_no_script_ran(page)
    sign_out(page, check_page)

    sign_in_as("supervisor")
    visit("/products/review/")
    with page.expect_navigation():
        page.get_by_role("button", name=f"Approve {TITLE}").click()
    check_page()
    product = ThreatProduct.objects.get(title=TITLE)
    expect(page.get_by_text(f"Approved and published as {product.number}.")).to_be_visible()
    sign_out(page, check_page)

    sign_in_as("coordinator")
    visit("/products/")
    row = page.get_by_test_id("product-row").filter(has_text=TITLE)
    expect(row.get_by_test_id("unread")).to_be_visible()
    with page.expect_navigation():
        row.get_by_role("link", name=TITLE).click()
    check_page()
    expect(page.get_by_test_id("tearline")).to_contain_text("Report people photographing substations.")
    expect(page.get_by_test_id("restricted-note")).to_contain_text("law enforcement sensitive (LES)")
    expect(page.get_by_text("ground wires")).to_have_count(0)
    expect(page.get_by_test_id("marking-banner")).to_have_count(2)
    assert_no_script_ran(page)
    sign_out(page, check_page)

    sign_in_as("coordinator.le")
    visit(f"/products/{product.pk}/")
    expect(page.get_by_test_id("body").locator("strong")).to_have_text("ground wires")
    assert_no_script_ran(page)
    with page.expect_navigation():
        page.get_by_role("link", name="Print view").click()
    check_page()
    expect(page.get_by_test_id("marking-banner")).to_have_count(2)
    expect(page.get_by_role("button", name="Print or save as PDF")).to_be_visible()
    assert_no_script_ran(page)
    with page.expect_navigation():
        page.get_by_role("link", name="Back to the product").click()
    check_page()
    sign_out(page, check_page)

    sign_in_as("cmpd.partner")
    visit("/products/")
    expect(page.get_by_test_id("product-row").filter(has_text=TITLE)).to_have_count(0)
    response = visit(f"/products/{product.pk}/")
    assert response.status == 404
