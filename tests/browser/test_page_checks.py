"""The checks every browser journey relies on fail when they should, Content-Security-Policy or not."""

import pytest
from playwright.sync_api import Route

pytestmark = pytest.mark.browser

# What the site's Content-Security-Policy will allow at most: nothing inline, nothing from elsewhere.
STRICT_CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'"


def serve(page, path: str, body: str, content_type: str = "text/html") -> None:
    """Answer `path` on the live server's address from the browser itself, with a strict CSP."""

    def fulfil(route: Route) -> None:
        route.fulfill(status=200, content_type=content_type, body=body, headers={"Content-Security-Policy": STRICT_CSP})

    page.route(f"**{path}", fulfil)


def document(body: str, head: str = "") -> str:
    head = f"<title>Check</title>{head}"
    return f'<!DOCTYPE html><html lang="en"><head>{head}</head><body><main>{body}</main></body></html>'


def test_an_accessible_page_under_a_strict_csp_passes(page, visit):
    serve(page, "/checks/accessible", document('<h1>Fine</h1><label for="name">Name</label><input id="name">'))

    visit("/checks/accessible")


def test_serious_violations_are_named_with_rule_and_place(page, visit):
    close_icon = "/static/vendor/uswds/img/usa-icons/close.svg"
    serve(page, "/checks/inaccessible", document(f'<h1>Not fine</h1><input id="unlabelled"><img src="{close_icon}">'))

    with pytest.raises(AssertionError) as failure:
        visit("/checks/inaccessible")

    message = str(failure.value)
    assert "- label (critical)" in message
    assert "at #unlabelled" in message
    assert "- image-alt (critical)" in message


def test_script_errors_and_missing_assets_fail_the_page(page, visit):
    head = '<link rel="stylesheet" href="/static/css/not-there.css"><script src="/checks/broken.js"></script>'
    serve(page, "/checks/broken.js", "throw new Error('broken on purpose');", content_type="text/javascript")
    serve(page, "/checks/broken", document("<h1>Broken</h1>", head=head))

    with pytest.raises(AssertionError) as failure:
        visit("/checks/broken")

    message = str(failure.value)
    assert "/static/css/not-there.css answered 404" in message
    assert "broken on purpose" in message
