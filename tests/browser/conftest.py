"""Browser journeys: Playwright drives Debian's Chromium, headless, against the live server on the test database.

Every page a journey reaches is checked (`visit`, or `check_page` after a click or a key press):
Section 508 / WCAG 2.1 AA by axe-core, no script errors, no asset that failed to load. A failing
test leaves a screenshot, the page's HTML and the browser's log under test-output/browser/.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, Request, Response, expect, sync_playwright
from playwright.sync_api import Error as PlaywrightError

from agencies.demo import DEMO_PASSWORD, DemoRegion, seed_region
from tests.browser.axe import assert_accessible
from tests.second_factor import demo_code

CHROMIUM = os.environ.get("FUSIONHUB_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-sync",
    "--disable-background-networking",
    "--disable-component-update",
]
VIEWPORT = {"width": 1280, "height": 800}
OUTPUT_DIR = Path(__file__).resolve().parents[2] / "test-output" / "browser"
# Long enough for a loaded machine, short enough that a missing element fails the test quickly.
TIMEOUT_MS = 10_000

test_reports = pytest.StashKey[dict[str, pytest.TestReport]]()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Iterator[pytest.TestReport]:
    """Keep each phase's report on the test, so the page fixture knows at teardown whether it failed."""
    report = yield
    item.stash.setdefault(test_reports, {})[report.when] = report
    return report


@pytest.fixture(scope="package")
def browser() -> Iterator[Browser]:
    """One headless Chromium for all the browser tests, closed when they are done.

    Scoped to this package rather than the session: the async tests elsewhere must not run
    while Playwright's event loop is open on the same thread.
    """
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"{CHROMIUM} is missing: run scripts/ensure-chromium.sh (make test does).")
    # While Playwright's sync API is open, its event loop counts as running on this thread, and
    # Django would refuse the tests' own database calls as if they came from async code. They
    # are plain sync code; the loop is stopped before any other test runs.
    with pytest.MonkeyPatch.context() as patch, sync_playwright() as playwright:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@dataclass
class PageLog:
    """What the browser reported: the whole log, the problems on the page on screen, pages not yet checked."""

    lines: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    unchecked: list[str] = field(default_factory=list)

    def note(self, line: str, *, problem: bool = False) -> None:
        self.lines.append(line)
        if problem:
            self.problems.append(line)


def _watch(page: Page, origin: str, log: PageLog) -> None:
    def requested(request: Request) -> None:
        # A new page is on its way: what went wrong on the previous one stays in the log only.
        if request.is_navigation_request() and request.frame == page.main_frame and request.redirected_from is None:
            log.problems.clear()

    def loaded(loaded_page: Page) -> None:
        # Only a new document fires this: jumps to an anchor and htmx swaps do not.
        log.note(f"loaded {loaded_page.url}")
        log.unchecked.append(loaded_page.url)

    def responded(response: Response) -> None:
        request = response.request
        if response.status >= 400 and request.resource_type != "document" and request.url.startswith(origin):
            log.note(f"{request.method} {request.url} answered {response.status}", problem=True)

    def request_failed(request: Request) -> None:
        # Leaving a page aborts its pending requests (an event stream, say); that is not a fault.
        if request.failure != "net::ERR_ABORTED":
            log.note(f"{request.method} {request.url} failed: {request.failure}", problem=True)

    def console(message: ConsoleMessage) -> None:
        # "Failed to load resource" repeats what `responded` reports, and also covers the error
        # pages that a test visits on purpose.
        is_problem = message.type == "error" and not message.text.startswith("Failed to load resource")
        log.note(f"console {message.type}: {message.text}", problem=is_problem)

    page.on("request", requested)
    page.on("domcontentloaded", loaded)
    page.on("response", responded)
    page.on("requestfailed", request_failed)
    page.on("console", console)
    page.on("pageerror", lambda error: log.note(f"script error: {error}", problem=True))


def _failure_files(name: str) -> Path:
    """test-output/browser/<test name>, to which a failed test's .png, .html and .log are added."""
    return OUTPUT_DIR / re.sub(r"[^\w.-]+", "_", name)


def _save_failure(page: Page, name: str, log: PageLog) -> None:
    OUTPUT_DIR.mkdir(parents=True, exist_ok=True)
    stem = _failure_files(name)
    stem.with_suffix(".log").write_text("\n".join([f"at {page.url}", *log.lines]) + "\n", encoding="utf-8")
    # The test has already failed; a page too broken to photograph must not hide why.
    try:
        stem.with_suffix(".html").write_text(page.content(), encoding="utf-8")
        page.screenshot(path=stem.with_suffix(".png"), full_page=True)
    except PlaywrightError as error:
        stem.with_suffix(".log").open("a", encoding="utf-8").write(f"could not save the page: {error}\n")


@pytest.fixture
def _page_log() -> PageLog:
    return PageLog()


@pytest.fixture
def page(
    request: pytest.FixtureRequest, browser: Browser, live_server, django_db_serialized_rollback, _page_log: PageLog
) -> Iterator[Page]:
    """A fresh browser context and page on the live server; `page.goto("/")` opens the dashboard.

    The test database is flushed after each browser test, data migrations included (the role
    groups); serialized rollback puts that reference data back before the next one.
    """
    if request.node.get_closest_marker("browser") is None:
        pytest.fail("Browser tests carry @pytest.mark.browser, so that `-m 'not browser'` leaves them out.")
    # What an earlier failure of this test left behind would only mislead.
    for suffix in (".png", ".html", ".log"):
        _failure_files(request.node.name).with_suffix(suffix).unlink(missing_ok=True)
    context = browser.new_context(
        base_url=live_server.url,
        viewport=VIEWPORT,
        locale="en-US",
        timezone_id="America/New_York",
        reduced_motion="reduce",
    )
    context.set_default_timeout(TIMEOUT_MS)
    opened = context.new_page()
    _watch(opened, live_server.url, _page_log)
    yield opened
    reports = request.node.stash.get(test_reports, {})
    if any(report.failed for report in reports.values()):
        _save_failure(opened, request.node.name, _page_log)
    context.close()
    if not reports.get("call") or reports["call"].failed:
        return
    if _page_log.unchecked:
        pytest.fail(
            "These pages were reached but never checked (use `visit`, or `check_page` after a click):\n"
            + "\n".join(_page_log.unchecked)
        )


@pytest.fixture
def check_page(page: Page, _page_log: PageLog) -> Callable[[], None]:
    """Check the page on screen once it has loaded: accessible, no script errors, every asset loaded.

    After a click or a key press that leads to a new page, wait for it first
    (`with page.expect_navigation():`) so that the check sees the new page, not the old one.
    """

    def check() -> None:
        page.wait_for_load_state("load")
        _page_log.unchecked.clear()
        assert_accessible(page)
        assert not _page_log.problems, f"Problems on {page.url}:\n" + "\n".join(_page_log.problems)

    return check


@pytest.fixture
def visit(page: Page, check_page: Callable[[], None]) -> Callable[[str], Response | None]:
    """Open a path on the live server (redirects followed), check the page, and return the response."""

    def open_and_check(path: str) -> Response | None:
        response = page.goto(path)
        check_page()
        return response

    return open_and_check


@pytest.fixture
def sign_in_as(page: Page, visit, check_page) -> Callable[..., Page]:
    """Sign a person of the demo region in through the real sign-in form and its second step (the
    code `manage.py demo_code` prints), and return the page they land on."""

    def sign_in(username: str, password: str = DEMO_PASSWORD) -> Page:
        visit("/sign-in/")
        page.get_by_label("Username").fill(username)
        page.get_by_label("Password").fill(password)
        with page.expect_navigation():
            page.get_by_role("button", name="Sign in").click()
        check_page()
        page.get_by_label("Code").fill(demo_code(username))
        with page.expect_navigation():
            page.get_by_role("button", name="Sign in").click()
        check_page()
        expect(page.get_by_test_id("person")).to_be_attached()
        return page

    return sign_in


@pytest.fixture
def demo_region(transactional_db) -> DemoRegion:
    """The demo region (agencies.demo), committed so that the live server sees it."""
    return seed_region()
