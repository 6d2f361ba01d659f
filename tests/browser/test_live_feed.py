"""The live incident feed in real browsers: an entry posted in one shows in the other within
2 seconds, without a reload; and when the event stream fails, the page falls back to polling.

The site comes from uvicorn here (tests/browser/asgi.py): the WSGI live server cannot stream.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, Page, expect

from agencies.demo import DEMO_PASSWORD
from eoc.demo import seed_incidents
from tests.browser.asgi import asgi_live_server as live_server  # noqa: F401 - this module's live server
from tests.browser.axe import assert_accessible
from tests.browser.conftest import TIMEOUT_MS, VIEWPORT
from tests.second_factor import demo_code

pytestmark = pytest.mark.browser

TITLE = "Levee overtopping at Smithfield Road"


@pytest.fixture
def second_browser(browser: Browser, live_server):  # noqa: F811 - the fixture imported above
    """Another person's browser, on its own context (cookies, session) beside the `page` fixture's."""
    contexts = []

    def open_as(username: str) -> Page:
        context = browser.new_context(
            base_url=live_server.url,
            viewport=VIEWPORT,
            locale="en-US",
            timezone_id="America/New_York",
            reduced_motion="reduce",
        )
        context.set_default_timeout(TIMEOUT_MS)
        contexts.append(context)
        other = context.new_page()
        other.goto("/sign-in/")
        other.get_by_label("Username").fill(username)
        other.get_by_label("Password").fill(DEMO_PASSWORD)
        with other.expect_navigation():
            other.get_by_role("button", name="Sign in").click()
        other.get_by_label("Code").fill(demo_code(username))
        with other.expect_navigation():
            other.get_by_role("button", name="Sign in").click()
        expect(other.get_by_test_id("person")).to_be_attached()
        return other

    yield open_as
    for context in contexts:
        context.close()


def post_entry_through_the_form(page: Page, check_page, title: str) -> None:
    form = page.get_by_test_id("entry-form")
    page.get_by_text("Post an entry").click()
    form.get_by_label("Kind").select_option(label="Warning")
    form.get_by_text("Flash", exact=True).click()
    form.get_by_label("Title").fill(title)
    form.get_by_label("Details").fill("Water over the road; residents moving to Knightdale High School.")
    with page.expect_navigation():
        form.get_by_role("button", name="Post the entry").click()
    check_page()


def test_entry_posted_in_one_browser_appears_in_the_other_within_2_seconds(
    page, visit, check_page, sign_in_as, second_browser, demo_region
):
    flood, _ = seed_incidents(demo_region)
    watcher = second_browser("coordinator.le")
    watcher.goto(f"/incidents/{flood.pk}/")
    feed = watcher.locator("[data-feed-list]")
    expect(feed).to_have_attribute("data-live-state", "open")
    assert_accessible(watcher)

    sign_in_as("coordinator")
    visit(f"/incidents/{flood.pk}/")
    post_entry_through_the_form(page, check_page, TITLE)
    expect(page.get_by_role("heading", name=TITLE)).to_be_visible()

    entry = watcher.locator("li[data-entry-id]", has=watcher.get_by_role("heading", name=TITLE))
    expect(entry).to_be_visible(timeout=2000)
    expect(entry).to_have_class(re.compile(r"\bfh-entry--flash\b.*\bfh-entry--new\b"))
    expect(feed.locator("li[data-entry-id]").first).to_contain_text(TITLE)  # at the top
    expect(watcher.locator("[data-feed-announcer]")).to_have_text(f"New flash entry: {TITLE}")
    assert watcher.url.endswith(f"/incidents/{flood.pk}/")  # no reload
    assert_accessible(watcher)

    # Acknowledging swaps the entry in place (htmx) and keeps the keyboard on it.
    entry.get_by_role("button", name=f"Acknowledge “{TITLE}”").press("Enter")
    acknowledged = entry.get_by_test_id("acknowledged")
    expect(acknowledged).to_have_text("Acknowledged")
    expect(acknowledged).to_be_focused()
    expect(entry.get_by_test_id("acknowledgement-count")).to_have_text("1 acknowledged")
    expect(watcher.get_by_role("heading", name=TITLE)).to_have_count(1)


def test_a_filtered_feed_shows_only_matching_live_entries(
    page, visit, check_page, sign_in_as, second_browser, demo_region
):
    flood, _ = seed_incidents(demo_region)
    watcher = second_browser("coordinator.le")
    watcher.goto(f"/incidents/{flood.pk}/?priority=routine")
    expect(watcher.locator("[data-feed-list]")).to_have_attribute("data-live-state", "open")

    sign_in_as("coordinator")
    visit(f"/incidents/{flood.pk}/")
    post_entry_through_the_form(page, check_page, TITLE)
    form = page.get_by_test_id("entry-form")
    page.get_by_text("Post an entry").click()
    form.get_by_label("Kind").select_option(label="Situation update")
    form.get_by_label("Title").fill("Neuse at Clayton 17.1 ft")
    with page.expect_navigation():
        form.get_by_role("button", name="Post the entry").click()
    check_page()

    expect(watcher.get_by_role("heading", name="Neuse at Clayton 17.1 ft")).to_be_visible(timeout=2000)
    expect(watcher.get_by_role("heading", name=TITLE)).to_have_count(0)


def test_when_the_stream_fails_the_page_polls_instead(page, visit, check_page, sign_in_as, second_browser, demo_region):
    flood, _ = seed_incidents(demo_region)
    watcher = second_browser("coordinator.le")
    # The stream answers 503 (a proxy that does not pass event streams, say): EventSource gives up.
    watcher.route("**/feed/stream/**", lambda route: route.fulfill(status=503, body="unavailable"))
    watcher.goto(f"/incidents/{flood.pk}/")
    feed = watcher.locator("[data-feed-list]")
    expect(feed).to_have_attribute("data-live-mode", "polling")

    sign_in_as("coordinator")
    visit(f"/incidents/{flood.pk}/")
    post_entry_through_the_form(page, check_page, TITLE)

    # One polling round (5 s) and the entry is there, still without a reload.
    entry = watcher.locator("li[data-entry-id]", has=watcher.get_by_role("heading", name=TITLE))
    expect(entry).to_be_visible(timeout=7000)
    expect(feed.locator("li[data-entry-id]").first).to_contain_text(TITLE)
    assert watcher.url.endswith(f"/incidents/{flood.pk}/")


def test_eoc_wide_feed_shows_entries_of_its_incidents_live(
    page, visit, check_page, sign_in_as, second_browser, demo_region
):
    flood, _ = seed_incidents(demo_region)
    wake = demo_region.agencies["WAKE-EOC"]
    watcher = second_browser("coordinator.le")
    watcher.goto(f"/eocs/{wake.pk}/feed/")
    expect(watcher.locator("[data-feed-list]")).to_have_attribute("data-live-state", "open")
    assert_accessible(watcher)

    sign_in_as("coordinator")
    visit(f"/incidents/{flood.pk}/")
    post_entry_through_the_form(page, check_page, TITLE)

    entry = watcher.locator("li[data-entry-id]", has=watcher.get_by_role("heading", name=TITLE))
    expect(entry).to_be_visible(timeout=2000)
    expect(entry.get_by_role("link", name=f"{flood.number} {flood.name}")).to_be_visible()
