"""What a page must not carry under the site's Content-Security-Policy: inline script, event-handler
attributes, javascript: links, inline styles."""

from __future__ import annotations

from html.parser import HTMLParser

DATA_SCRIPT_TYPES = {"application/json", "application/ld+json"}


class _InlineFinder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        where = f"<{tag} {' '.join(f'{name}={value!r}' for name, value in attrs)}>"[:160]
        if tag == "script" and not attributes.get("src") and attributes.get("type") not in DATA_SCRIPT_TYPES:
            self.found.append(f"inline script: {where}")
        if tag == "style":
            self.found.append(f"inline <style>: {where}")
        for name, value in attrs:
            if name.startswith("on"):
                self.found.append(f"event handler {name}: {where}")
            elif name == "style":
                self.found.append(f"style attribute: {where}")
            elif name in ("href", "src", "action") and (value or "").strip().lower().startswith("javascript:"):
                self.found.append(f"javascript: address: {where}")


def inline_code_in(html: str) -> list[str]:
    """Every piece of the page that a CSP without 'unsafe-inline' would block."""
    finder = _InlineFinder()
    finder.feed(html)
    finder.close()
    return finder.found


def assert_strict_csp(response) -> None:
    """The response carries the site's policy, and its HTML nothing inline that the policy blocks."""
    policy = response.get("Content-Security-Policy", "")
    directives = {part.split()[0]: part.split()[1:] for part in policy.split(";") if part.strip()}
    assert directives.get("script-src") == ["'self'"], f"script-src in {policy!r}"
    assert directives.get("style-src") == ["'self'"], f"style-src in {policy!r}"
    assert directives.get("frame-ancestors") == ["'none'"], f"frame-ancestors in {policy!r}"
    found = inline_code_in(response.content.decode())
    assert not found, "\n".join(found)
