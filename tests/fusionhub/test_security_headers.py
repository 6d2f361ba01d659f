"""The headers every page carries (CSP, framing, referrer, content type) and the session and CSRF
cookies' flags; with DEBUG off the cookies are Secure and HSTS is on (test_settings.py)."""

import pytest

from fusionhub.settings import _tile_source
from tests.csp import assert_strict_csp, inline_code_in


def test_sign_in_page_carries_the_security_headers(client, db):
    response = client.get("/sign-in/")

    assert response.status_code == 200
    assert_strict_csp(response)
    policy = response["Content-Security-Policy"]
    for directive in ("default-src 'self'", "object-src 'none'", "base-uri 'self'", "form-action 'self'"):
        assert directive in policy
    assert response["X-Frame-Options"] == "DENY"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert 'name="csrfmiddlewaretoken"' in response.content.decode()


def test_session_cookie_is_http_only_and_same_site(client, sign_in, analyst):
    sign_in(analyst)

    cookie = client.cookies["sessionid"]
    assert cookie["httponly"]
    assert cookie["samesite"] == "Lax"


def test_a_form_post_without_the_csrf_token_is_refused(analyst):
    from tests.second_factor import VerifiedClient

    browser = VerifiedClient(enforce_csrf_checks=True)
    browser.force_login(analyst)

    assert browser.post("/profile/tokens/").status_code == 403


def test_the_inline_code_finder_finds_what_the_policy_blocks():
    page = """
      <script src="/static/js/feed.js"></script>
      <script type="application/json" id="data">{"a": 1}</script>
      <script>alert(1)</script>
      <button onclick="go()">Go</button>
      <p style="color: red">Red</p>
      <style>p { color: red }</style>
      <a href="javascript:void(0)">Nowhere</a>
    """

    found = inline_code_in(page)

    assert [item.split(":")[0] for item in found] == [
        "inline script",
        "event handler onclick",
        "style attribute",
        "inline <style>",
        "javascript",
    ]


@pytest.mark.parametrize(
    ("template", "source"),
    [
        ("", []),
        ("https://tiles.example.gov/{z}/{x}/{y}.png", ["https://tiles.example.gov"]),
        ("https://{s}.tile.example.org/{z}/{x}/{y}.png", ["https://*.tile.example.org"]),
    ],
)
def test_the_map_tile_server_is_the_only_other_image_source(template, source):
    assert _tile_source(template) == source
