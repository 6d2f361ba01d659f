"""The Content-Security-Policy in a real browser: the main pages of the demo, the second step of
sign-in, the API docs and the admin load under it, and the browser reports no violation."""

from __future__ import annotations

import pytest
from playwright.sync_api import ConsoleMessage, Page, Route

from eoc.demo import seed_incidents
from sharing.demo import seed_products

pytestmark = pytest.mark.browser

VIOLATION = "Content Security Policy"


def watch_for_violations(page: Page) -> list[str]:
    """Chromium reports each blocked script, style or image on the console, as an error."""
    violations: list[str] = []

    def console(message: ConsoleMessage) -> None:
        if VIOLATION in message.text:
            violations.append(f"{page.url}: {message.text}")

    page.on("console", console)
    return violations


def assert_policy(response) -> None:
    policy = response.headers.get("content-security-policy", "")
    assert "script-src 'self'" in policy, policy
    assert "style-src 'self'" in policy, policy


def test_a_blocked_inline_script_is_reported(page, visit, demo_region):
    """The watch below can fail: an inline script on a page of the site is blocked and reported."""
    violations = watch_for_violations(page)
    response = page.request.get("/sign-in/")
    html = response.text().replace("</body>", "<script>document.title = 'inline';</script></body>")

    policy = {"Content-Security-Policy": response.headers["content-security-policy"]}

    def fulfil(route: Route) -> None:
        route.fulfill(status=200, content_type="text/html", body=html, headers=policy)

    page.route("**/checks/inline", fulfil)
    page.goto("/checks/inline")
    page.wait_for_load_state("load")

    assert page.title() != "inline"
    assert violations, "the browser reported no violation"
    visit("/sign-in/")  # leave on a page of the site, checked as every page is


def test_main_pages_load_without_a_csp_violation(page, visit, sign_in_as, demo_region):
    seed_products(demo_region)
    flood = next(incident for incident in seed_incidents(demo_region) if incident.name == "Neuse River flooding")
    violations = watch_for_violations(page)

    assert_policy(visit("/sign-in/"))
    sign_in_as("coordinator")
    for path in (
        "/",
        "/eoc/",
        "/incidents/",
        f"/incidents/{flood.pk}/",
        f"/incidents/{flood.pk}/resources/",
        "/products/",
        "/inbox/",
        "/profile/",
    ):
        assert_policy(visit(path))
    with page.expect_navigation():
        page.get_by_role("button", name="Sign out").click()

    sign_in_as("sysadmin")
    for path in ("/admin/", "/admin/agencies/user/", "/api/v1/docs/"):
        assert_policy(visit(path))
    # Swagger UI drew the API from its start-up script, which came from the site, not inline.
    page.get_by_text("FusionHub API").first.wait_for()

    assert not violations, "\n".join(violations)
