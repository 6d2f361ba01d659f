"""Signing in and out in a real browser, by keyboard alone, with every page checked for accessibility."""

from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import expect

from agencies import services
from agencies.demo import DEMO_PASSWORD, authenticator_code
from agencies.services import enrolment
from tests.second_factor import demo_code

pytestmark = pytest.mark.browser

# The README's picture of the site, kept current by the journey that reaches it.
DASHBOARD_SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "screenshots" / "dashboard.png"
USWDS_CSS = "/static/vendor/uswds/css/uswds.min.css"
USWDS_PRIMARY = "rgb(0, 94, 162)"  # USWDS's primary colour (#005ea2), on every .usa-button


def path_of(page) -> str:
    """The address on screen without its origin or #fragment."""
    url = urlsplit(page.url)
    return f"{url.path}?{url.query}" if url.query else url.path


def test_analyst_signs_in_and_out_by_keyboard(page, visit, check_page, demo_region):
    with page.expect_response(lambda response: response.url.endswith(USWDS_CSS)) as stylesheet:
        visit("/")
    assert stylesheet.value.status == 200
    assert path_of(page) == "/sign-in/?next=/"
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign in to FusionHub")
    # The stylesheet is not only served but applied: the packaged front end reaches the page.
    expect(page.get_by_role("button", name="Sign in")).to_have_css("background-color", USWDS_PRIMARY)

    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Skip to main content")).to_be_focused()
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")
    expect(page.get_by_label("Username")).to_be_focused()
    page.keyboard.type("analyst")
    page.keyboard.press("Tab")
    expect(page.get_by_label("Password")).to_be_focused()
    page.keyboard.type(DEMO_PASSWORD)
    with page.expect_navigation():
        page.keyboard.press("Enter")
    check_page()

    # The second step: the code of the authenticator app (`manage.py demo_code analyst` in the demo).
    expect(page.get_by_role("heading", level=1)).to_have_text("Enter your code")
    expect(page.get_by_test_id("person")).to_have_count(0)
    # The skip link's #main-content came along through the redirect: the next Tab reaches the code field.
    page.keyboard.press("Tab")
    expect(page.get_by_label("Code")).to_be_focused()
    page.keyboard.type(demo_code("analyst"))
    with page.expect_navigation():
        page.keyboard.press("Enter")
    check_page()

    # The skip link's #main-content stays on the address through the redirect, as browsers do.
    assert path_of(page) == "/"
    person = page.get_by_test_id("person")
    expect(person.get_by_role("link", name="Dana Whitfield")).to_be_visible()
    expect(person).to_contain_text("North Carolina Information Sharing and Analysis Center")
    expect(person.locator(".fh-person__roles")).to_have_text("Analyst")
    expect(page.get_by_role("heading", level=1)).to_have_text("Welcome, Dana")

    # The picture shows the page at rest: no focus ring left by the skip link, web fonts in place.
    page.evaluate("() => document.activeElement?.blur()")
    page.evaluate("() => document.fonts.ready.then(() => true)")
    DASHBOARD_SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=DASHBOARD_SCREENSHOT, full_page=True, animations="disabled", caret="hide")

    with page.expect_navigation():
        person.get_by_role("button", name="Sign out").click()
    check_page()
    assert path_of(page) == "/sign-in/"
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign in to FusionHub")
    expect(page.get_by_test_id("person")).to_have_count(0)

    response = visit("/")
    assert response.request.redirected_from is not None
    assert path_of(page) == "/sign-in/?next=/"
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign in to FusionHub")


def test_wrong_password_is_refused_with_an_accessible_message(page, visit, check_page, demo_region):
    visit("/sign-in/")
    page.get_by_label("Username").fill("analyst")
    page.get_by_label("Password").fill("not-the-password")
    with page.expect_navigation():
        page.get_by_role("button", name="Sign in").click()
    check_page()

    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("You are not signed in")
    expect(alert).to_contain_text("The username or password is not right.")
    expect(page.get_by_label("Username")).to_have_value("analyst")
    expect(page.get_by_label("Password")).to_have_value("")
    expect(page.get_by_test_id("person")).to_have_count(0)


def test_after_a_reset_the_person_enrols_a_new_authenticator(page, visit, check_page, demo_region):
    people = demo_region.people
    services.reset_second_factor(person=people["coordinator"], by=people["wake.admin"])

    visit("/sign-in/")
    page.get_by_label("Username").fill("coordinator")
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    with page.expect_navigation():
        page.get_by_role("button", name="Sign in").click()
    check_page()

    # The password alone enrols nothing: the page asks for an admin's enrolment code, and says whom to ask.
    expect(page.get_by_role("heading", level=1)).to_have_text("Enter your enrolment code")
    expect(page.get_by_test_id("whom-to-ask")).to_contain_text("Wake County Emergency Operations Center (Sam Patel)")
    expect(page.get_by_role("img", name="QR code that adds FusionHub to your authenticator app")).to_have_count(0)
    _invitation, enrolment_code = enrolment.issue_enrolment_invitation(
        person=people["coordinator"], by=people["wake.admin"]
    )
    page.get_by_label("Enrolment code").fill(enrolment_code)
    with page.expect_navigation():
        page.get_by_role("button", name="Continue").click()
    check_page()

    expect(page.get_by_role("heading", level=1)).to_have_text("Set up your authenticator app")
    qr_code = page.get_by_role("img", name="QR code that adds FusionHub to your authenticator app")
    expect(qr_code).to_be_visible()
    # Drawn by the site itself and shown under the Content-Security-Policy (img-src data:).
    assert qr_code.evaluate("image => image.complete && image.naturalWidth > 0")
    assert qr_code.get_attribute("src").startswith("data:image/svg+xml")
    device = TOTPDevice.objects.get(user=people["coordinator"], confirmed=False)
    page.get_by_label("Code").fill(authenticator_code(device))
    with page.expect_navigation():
        page.get_by_role("button", name="Confirm and continue").click()
    check_page()

    expect(page.get_by_role("heading", level=1)).to_have_text("Save your recovery codes")
    expect(page.get_by_test_id("recovery-codes").get_by_role("listitem")).to_have_count(10)
    with page.expect_navigation():
        page.get_by_role("link", name="I have saved them, continue").click()
    check_page()
    assert path_of(page) == "/"
    expect(page.get_by_test_id("person")).to_contain_text("Alex Moreno")
