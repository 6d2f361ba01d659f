"""A request for information in a real browser: asked by an EOC coordinator, assigned by the fusion
center's supervisor, answered by an analyst, closed by the coordinator; every page checked."""

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from sharing.models import RequestForInformation
from sharing.services.requests import submit_request

pytestmark = pytest.mark.browser

QUESTION = "Is there any threat reporting on the State Fair parade route?"


def sign_out(page, check_page):
    with page.expect_navigation():
        page.get_by_role("button", name="Sign out").click()
    check_page()


def test_a_request_from_question_to_closed_answer(page, visit, check_page, sign_in_as, demo_region):
    # An older request, now past its due date, so the queue shows how overdue requests stand out.
    late = submit_request(
        by=demo_region.people["rpd.partner"],
        question="Older question about copper theft",
        due_date=timezone.localdate(),
    )
    RequestForInformation.objects.filter(pk=late.pk).update(due_date=timezone.localdate() - timedelta(days=2))

    sign_in_as("coordinator")
    with page.expect_navigation():
        page.get_by_role("navigation", name="Primary navigation").get_by_role("link", name="Requests").click()
    check_page()
    expect(page.get_by_role("heading", level=1)).to_have_text("Your agency's requests for information")
    with page.expect_navigation():
        page.get_by_role("link", name="Ask the fusion center").click()
    check_page()
    page.get_by_label("Question").fill(QUESTION)
    page.get_by_label("Priority").select_option("priority")
    page.get_by_label("Answer needed by").fill((timezone.localdate() - timedelta(days=1)).isoformat())
    with page.expect_navigation():
        page.get_by_role("button", name="Send the request").click()
    check_page()
    expect(page.get_by_text("The due date cannot be in the past.")).to_be_visible()
    page.get_by_label("Answer needed by").fill((timezone.localdate() + timedelta(days=2)).isoformat())
    with page.expect_navigation():
        page.get_by_role("button", name="Send the request").click()
    check_page()
    rfi = RequestForInformation.objects.get(question=QUESTION)
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Request for information {rfi.number}")
    expect(page.get_by_test_id("rfi-state")).to_have_text("Submitted")
    sign_out(page, check_page)

    sign_in_as("supervisor")
    visit("/requests/")
    rows = page.get_by_test_id("rfi-row")
    expect(rows.first).to_contain_text(late.number)
    expect(rows.first.get_by_test_id("overdue")).to_have_text("Overdue")
    with page.expect_navigation():
        page.get_by_role("link", name=rfi.number).click()
    check_page()
    page.get_by_role("combobox", name="Analyst").select_option(label="Dana Whitfield")
    with page.expect_navigation():
        page.get_by_role("button", name="Assign").click()
    check_page()
    expect(page.get_by_test_id("assignee")).to_have_text("Dana Whitfield")
    sign_out(page, check_page)

    sign_in_as("analyst")
    visit(f"/requests/{rfi.pk}/")
    page.get_by_label("Answer", exact=True).fill("No threat reporting on the parade route as of today.")
    with page.expect_navigation():
        page.get_by_role("button", name="Send the answer").click()
    check_page()
    expect(page.get_by_test_id("rfi-state")).to_have_text("Answered")
    sign_out(page, check_page)

    sign_in_as("coordinator")
    visit(f"/requests/{rfi.pk}/")
    expect(page.get_by_test_id("answer")).to_contain_text("No threat reporting on the parade route")
    with page.expect_navigation():
        page.get_by_role("button", name=f"Close {rfi.number}").click()
    check_page()
    expect(page.get_by_test_id("rfi-state")).to_have_text("Closed")
    expect(page.get_by_test_id("history").get_by_role("listitem")).to_have_count(4)
