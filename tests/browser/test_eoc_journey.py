"""The EOC coordinator's journey from the issue, in a real browser with every page checked: open a
flood incident (a mistyped latitude first), raise the activation to Level 2 for it, post a flash
entry, request a resource and move it to delivered, and find it all on the dashboard and its map.

The site comes from uvicorn here (tests/browser/asgi.py), so that the pages' live feeds connect.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from eoc.models import Incident, ResourceRequest
from tests.browser.asgi import asgi_live_server as live_server  # noqa: F401 - this module's live server

pytestmark = pytest.mark.browser

FLASH = "Evacuate low-lying homes along Mial Plantation Road"


def click_and_check(page: Page, check_page, locator) -> None:
    with page.expect_navigation():
        locator.click()
    check_page()


def press_and_check(page: Page, check_page, key: str = "Enter") -> None:
    with page.expect_navigation():
        page.keyboard.press(key)
    check_page()


def test_coordinator_runs_a_flood_from_opening_to_delivered_resources(page, visit, check_page, sign_in_as, demo_region):
    wake = demo_region.agencies["WAKE-EOC"]
    sign_in_as("coordinator")

    # Open the incident from the incident list, by keyboard: typed fields, Tab between them, Enter sends.
    navigation = page.get_by_role("navigation", name="Primary navigation")
    click_and_check(page, check_page, navigation.get_by_role("link", name="Incidents"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Incidents")
    click_and_check(page, check_page, page.get_by_role("link", name="Open an incident"))
    page.get_by_label("Type").select_option(label="Flood")
    page.get_by_label("Name").focus()
    page.keyboard.type("Crabtree Creek flooding")
    page.keyboard.press("Tab")
    expect(page.get_by_label("Priority")).to_be_focused()
    page.get_by_label("Priority").select_option(label="High")
    page.get_by_label("Address or place").focus()
    page.keyboard.type("Crabtree Valley Mall, Raleigh")
    page.keyboard.press("Tab")
    expect(page.get_by_label("Latitude")).to_be_focused()
    page.keyboard.type("95.84")
    page.keyboard.press("Tab")
    expect(page.get_by_label("Longitude")).to_be_focused()
    page.keyboard.type("-78.6797")
    page.get_by_label("Affected jurisdictions").select_option(label="— Wake County")
    page.get_by_label("Supporting agencies").select_option(label="Raleigh Fire Department (RFD)")
    page.get_by_label("Longitude").focus()
    press_and_check(page, check_page)
    expect(page.get_by_text("Latitude is between -90 and 90 degrees.")).to_be_visible()
    expect(page.get_by_label("Name")).to_have_value("Crabtree Creek flooding")
    page.get_by_label("Latitude").fill("35.8402")
    click_and_check(page, check_page, page.get_by_role("button", name="Open the incident"))
    incident = Incident.objects.get(name="Crabtree Creek flooding")
    expect(page.get_by_test_id("incident-heading")).to_have_text(f"{incident.number} Crabtree Creek flooding")
    expect(page.get_by_test_id("incident-status")).to_have_text("Monitoring")

    # Raise the EOC to Level 2 for it: from the dashboard to the activation page.
    visit(f"/eocs/{wake.pk}/")
    expect(page.get_by_test_id("activation-level")).to_have_text("Level 3 — steady state / monitoring")
    click_and_check(page, check_page, page.get_by_role("link", name="Change the level or see its history"))
    page.get_by_text("Level 2 — partial activation", exact=True).click()
    page.get_by_label("Reason").fill("Crabtree Creek forecast 3 ft above flood stage")
    page.get_by_label("For the incident").select_option(label=f"{incident.number} Crabtree Creek flooding")
    click_and_check(page, check_page, page.get_by_role("button", name="Change the level"))
    expect(page.get_by_test_id("activation-level")).to_have_text("Level 2 — partial activation")
    history = page.get_by_test_id("activation-history")
    expect(history).to_contain_text("Crabtree Creek forecast 3 ft above flood stage")

    # Post a flash entry to its feed: the disclosure opens by keyboard.
    visit(f"/incidents/{incident.pk}/")
    click_and_check(page, check_page, page.get_by_role("button", name="Make it active"))
    expect(page.get_by_test_id("incident-status")).to_have_text("Active")
    page.get_by_text("Post an entry").focus()
    page.keyboard.press("Enter")
    form = page.get_by_test_id("entry-form")
    form.get_by_label("Kind").select_option(label="Warning")
    form.get_by_text("Flash", exact=True).click()
    form.get_by_label("Title").fill(FLASH)
    form.get_by_label("Details").fill("Water expected over the road by 18:00.")
    click_and_check(page, check_page, form.get_by_role("button", name="Post the entry"))
    entry = page.locator("li[data-entry-id]", has=page.get_by_role("heading", name=FLASH))
    expect(entry).to_have_class(re.compile(r"\bfh-entry--flash\b"))
    expect(entry.locator(".fh-tag--priority-flash")).to_have_text("Flash")

    # Request a resource and move it along ICS-213RR to delivered.
    click_and_check(page, check_page, page.get_by_role("link", name="Request a resource"))
    page.get_by_label("Resource").fill("Swift-water rescue team")
    page.get_by_label("NIMS type").fill("Type 2")
    page.get_by_label("Quantity").fill("2")
    page.get_by_label("Priority").select_option(label="Urgent")
    needed = timezone.localtime() + timedelta(hours=3)
    page.get_by_label("Needed by").fill(f"{needed:%Y-%m-%dT%H:%M}")
    page.get_by_label("Deliver to").fill("Staging: Crabtree Valley Mall, lot C")
    click_and_check(page, check_page, page.get_by_role("button", name="File the request"))
    request = ResourceRequest.objects.get(incident=incident)
    card = page.locator(f"#request-{request.pk}")
    expect(card.locator("xpath=ancestor::section[1]")).to_have_attribute("data-state", "requested")
    for verb in ("Approve", "Start sourcing"):
        click_and_check(page, check_page, card.get_by_role("button", name=verb))
    click_and_check(page, check_page, card.get_by_role("link", name="Assign…"))
    page.get_by_label("Agency that fills the request").select_option(label="Raleigh Fire Department (RFD)")
    click_and_check(page, check_page, page.get_by_role("button", name="Move the request"))
    for verb in ("Mark en route", "Mark delivered"):
        click_and_check(page, check_page, card.get_by_role("button", name=verb))
    expect(card.locator("xpath=ancestor::section[1]")).to_have_attribute("data-state", "delivered")
    expect(card).to_contain_text("RFD")
    request.refresh_from_db()
    assert request.state == ResourceRequest.State.DELIVERED

    # The dashboard and its map show the incident, its activation and its flash entry.
    visit("/eoc/")
    assert page.url.endswith(f"/eocs/{wake.pk}/")
    expect(page.get_by_test_id("activation-level")).to_have_text("Level 2 — partial activation")
    expect(page.get_by_test_id("activation")).to_contain_text(f"{incident.number} Crabtree Creek flooding")
    expect(page.get_by_test_id("dashboard-incidents")).to_contain_text("Crabtree Creek flooding")
    expect(page.get_by_test_id("dashboard-alerts").get_by_role("heading", name=FLASH)).to_be_visible()
    map_area = page.get_by_test_id("incident-map")
    marker = map_area.locator(".leaflet-marker-icon")
    expect(marker).to_have_count(1)
    expect(marker).to_have_attribute("alt", re.compile(rf"^{re.escape(incident.number)} Crabtree Creek flooding"))
    expect(map_area.locator(".leaflet-tooltip")).to_contain_text("Wake County")
    marker.focus()
    page.keyboard.press("Enter")
    popup = map_area.locator(".leaflet-popup")
    expect(popup.get_by_role("link", name=re.compile("Crabtree Creek flooding"))).to_be_visible()
