"""Accessibility checks with axe-core: Section 508 and WCAG 2.1 level A and AA, on the page as rendered.

axe-core comes from the npm registry (package.json) like the rest of the front end, so the rules
in force are the ones pinned in package-lock.json.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from playwright.sync_api import Page

AXE_SCRIPT = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"

# The rule sets Section 508 (as refreshed in 2017) and WCAG 2.1 AA call for.
STANDARDS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "section508"]
BLOCKING_IMPACTS = ("serious", "critical")

RUN_AXE = """(standards) => axe.run(document, {
    runOnly: {type: 'tag', values: standards},
    resultTypes: ['violations'],
}).then((results) => results.violations.map((violation) => ({
    id: violation.id,
    impact: violation.impact,
    help: violation.help,
    helpUrl: violation.helpUrl,
    nodes: violation.nodes.map((node) => ({
        target: node.target.join(' '),
        html: node.html,
        summary: node.failureSummary,
    })),
})))"""


@cache
def axe_source() -> str:
    if not AXE_SCRIPT.exists():
        raise FileNotFoundError(f"{AXE_SCRIPT} is missing: run `npm ci` (make test does) to install axe-core.")
    return AXE_SCRIPT.read_text(encoding="utf-8")


def accessibility_violations(page: Page) -> list[dict]:
    """Every Section 508 / WCAG 2.1 AA violation axe finds on the page, whatever its impact."""
    # Evaluated through DevTools rather than added as a <script> element, so that a
    # Content-Security-Policy forbidding inline scripts does not stop the check.
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(axe_source())
    return page.evaluate(RUN_AXE, STANDARDS)


def describe(violations: list[dict]) -> str:
    lines = []
    for violation in violations:
        lines.append(f"- {violation['id']} ({violation['impact']}): {violation['help']} <{violation['helpUrl']}>")
        for node in violation["nodes"]:
            lines.append(f"    at {node['target']}: {node['html'][:200]}")
            lines.extend(f"      {line}" for line in (node["summary"] or "").splitlines())
    return "\n".join(lines)


def assert_accessible(page: Page) -> None:
    """Fail with each serious or critical violation: its rule, what it asks for, and where it occurs."""
    blocking = [v for v in accessibility_violations(page) if v["impact"] in BLOCKING_IMPACTS]
    assert not blocking, f"Accessibility violations on {page.url}:\n{describe(blocking)}"
