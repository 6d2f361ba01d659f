"""Signing in and out in a real browser, by keyboard alone, with every page checked for accessibility."""

from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

from agencies.demo import DEMO_PASSWORD
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
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Skip to main content")).to_be_focused()
    page.keyboard.press("Enter")
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
