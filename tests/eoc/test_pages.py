"""The EOC's browser pages: who may open them, what they show, and bad input redisplayed with its
message and nothing saved."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from eoc.cap import entry_to_cap
from eoc.models import (
    ActivationChange,
    EocStatus,
    FeedAcknowledgement,
    FeedEntry,
    Incident,
    ResourceRequest,
    SituationReport,
    Task,
)
from eoc.services.feed import EntryContent, post_entry
from eoc.services.incidents import (
    IncidentDetails,
    change_activation,
    change_incident_status,
    open_incident,
    start_operational_period,
)
from eoc.services.logistics import (
    RequestDetails,
    TaskDetails,
    assign_task,
    move_resource_request,
    publish_situation_report,
    request_resource,
    write_situation_report,
)
from tests.factories import AgencyFactory

pytestmark = pytest.mark.django_db


def text_of(response) -> str:
    return response.content.decode()


@pytest.fixture
def as_person(client):
    def _as(person):
        client.force_login(person)
        return client

    return _as


@pytest.fixture
def drill(coordinator, county):
    return open_incident(
        by=coordinator,
        details=IncidentDetails(
            name="Hurricane drill",
            incident_type=Incident.Type.HURRICANE,
            is_exercise=True,
            affected_jurisdictions=[county],
            latitude="35.5",
            longitude="-78.5",
        ),
    )


@pytest.fixture
def partner_eoc(other_county):
    return AgencyFactory(name="Other County EOC", acronym="OEOC", kind="eoc", jurisdiction=other_county)


def request_for(incident, by, **overrides):
    values = {
        "resource_kind": "Swift-water rescue team",
        "quantity": 2,
        "needed_by": timezone.now() + timedelta(hours=3),
        "deliver_to": "Staging: Knightdale Station Park",
        "nims_type": "Type 2",
    }
    values.update(overrides)
    return request_resource(incident=incident, by=by, details=RequestDetails(**values))


# --- The incident list -------------------------------------------------------------------------


def test_incident_list_shows_open_incidents_and_filters_them(as_person, coordinator, flood, drill):
    closed = open_incident(by=coordinator, details=IncidentDetails(name="Old chemical spill", incident_type="hazmat"))
    change_incident_status(incident=closed, by=coordinator, status="closed")
    client = as_person(coordinator)

    page = text_of(client.get("/incidents/"))
    assert "Neuse River flooding" in page
    assert "Hurricane drill" in page
    assert "Old chemical spill" not in page
    assert "Open an incident" in page

    assert "Old chemical spill" in text_of(client.get("/incidents/?status=all"))
    exercises = text_of(client.get("/incidents/?exercise=yes"))
    assert "Hurricane drill" in exercises
    assert "Neuse River flooding" not in exercises
    floods = text_of(client.get("/incidents/?incident_type=flood"))
    assert "Neuse River flooding" in floods
    assert "Hurricane drill" not in floods


def test_incident_list_hides_exercises_from_outsiders_and_is_paginated(as_person, coordinator, outsider, drill):
    for number in range(27):
        open_incident(by=coordinator, details=IncidentDetails(name=f"Water main break {number}", incident_type="other"))
    client = as_person(outsider)
    first = text_of(client.get("/incidents/"))
    assert "27 incidents" in first
    assert "Hurricane drill" not in first
    assert "Page 1 of 2" in first
    assert "Open an incident" not in first
    second = text_of(client.get("/incidents/?page=2"))
    assert "Water main break 0" in second


def test_only_eoc_coordinators_open_incidents(as_person, analyst, coordinator):
    assert as_person(analyst).get("/incidents/new/").status_code == 403
    assert as_person(coordinator).get("/incidents/new/").status_code == 200


def test_coordinator_opens_an_incident_through_the_form(as_person, coordinator, county, partner_eoc):
    response = as_person(coordinator).post(
        "/incidents/new/",
        {
            "incident_type": "flood",
            "name": "Crabtree Creek flooding",
            "priority": "high",
            "address": "Crabtree Valley Mall",
            "latitude": "35.8402",
            "longitude": "-78.6797",
            "affected_jurisdictions": [county.pk],
            "supporting_agencies": [partner_eoc.pk],
        },
    )
    incident = Incident.objects.get(name="Crabtree Creek flooding")
    assert response.status_code == 302
    assert response["Location"] == f"/incidents/{incident.pk}/"
    assert list(incident.supporting_agencies.all()) == [partner_eoc]
    assert incident.operational_periods.count() == 1


@pytest.mark.parametrize(
    ("latitude", "longitude", "message"),
    [
        ("95", "-78.6", "Latitude is between -90 and 90 degrees."),
        ("35.8", "-190", "Longitude is between -180 and 180 degrees."),
        ("35.8", "", "Give both latitude and longitude, or neither."),
        ("north", "-78.6", "Enter a number."),
    ],
)
def test_bad_location_redisplays_the_incident_form(as_person, coordinator, latitude, longitude, message):
    response = as_person(coordinator).post(
        "/incidents/new/",
        {
            "incident_type": "flood",
            "name": "Crabtree Creek flooding",
            "priority": "high",
            "latitude": latitude,
            "longitude": longitude,
        },
    )
    page = text_of(response)
    assert response.status_code == 200
    assert message in page
    assert 'value="Crabtree Creek flooding"' in page  # nothing typed is lost
    assert not Incident.objects.filter(name="Crabtree Creek flooding").exists()


# --- The incident page ---------------------------------------------------------------------------


def test_incident_page_brings_feed_reports_requests_and_tasks_together(as_person, coordinator, flood, post):
    post(flood, title="Neuse at Clayton 16.2 ft")
    post(flood, kind="warning", priority="flash", title="Evacuate Mial Plantation Road")
    request_for(flood, coordinator)
    assign_task(
        incident=flood,
        by=coordinator,
        details=TaskDetails(title="Open a shelter", esf=6, due_at=timezone.now() - timedelta(hours=1)),
    )
    write_situation_report(
        incident=flood, period=flood.operational_periods.get(), by=coordinator, sections={"situation_summary": "Rising"}
    )
    page = text_of(as_person(coordinator).get(f"/incidents/{flood.pk}/"))

    assert flood.number in page
    assert "Neuse at Clayton 16.2 ft" in page
    assert "fh-entry--flash" in page
    assert page.index("Evacuate Mial Plantation Road") < page.index("Neuse at Clayton 16.2 ft")  # newest first
    assert "Situation report 1" in page
    assert "Requested" in page
    assert "Open a shelter" in page
    assert "Overdue" in page
    assert "Period 1" in page
    assert "Make it active" in page
    assert "Close the incident" in page
    assert "Post an entry" in page
    assert f'data-stream-url="/incidents/{flood.pk}/feed/stream/"' in page
    assert "EXERCISE" not in page


def test_people_who_may_only_read_see_no_actions(as_person, analyst, flood, post):
    post(flood, title="Neuse at Clayton 16.2 ft")
    page = text_of(as_person(analyst).get(f"/incidents/{flood.pk}/"))
    assert "Neuse at Clayton 16.2 ft" in page
    assert "Make it active" not in page
    assert "Post an entry" not in page
    assert "Start the next period" not in page
    assert "Acknowledge" in page


def test_exercise_pages_say_exercise_and_outsiders_get_404(as_person, coordinator, outsider, drill, post):
    entry = post(drill, title="Simulated surge")
    report = write_situation_report(incident=drill, period=drill.operational_periods.get(), by=coordinator, sections={})
    request = request_for(drill, coordinator)
    task = assign_task(
        incident=drill,
        by=coordinator,
        details=TaskDetails(title="Drill task", esf=6, due_at=timezone.now() + timedelta(hours=1)),
    )
    pages = [
        f"/incidents/{drill.pk}/",
        f"/incidents/{drill.pk}/sitreps/",
        f"/incidents/{drill.pk}/resources/",
        f"/incidents/{drill.pk}/tasks/",
        f"/sitreps/{report.pk}/",
        f"/sitreps/{report.pk}/print/",
        f"/resource-requests/{request.pk}/move/",
        f"/entries/{entry.pk}/correct/",
    ]
    client = as_person(coordinator)
    for path in pages:
        response = client.get(path)
        assert response.status_code == 200, path
        assert "EXERCISE" in text_of(response), path
    outsider_client = as_person(outsider)
    for path in [*pages, f"/incidents/{drill.pk}/feed/fragment/", f"/incidents/{drill.pk}/sitreps/new/"]:
        assert outsider_client.get(path).status_code == 404, path
    for path in [f"/entries/{entry.pk}/acknowledge/", f"/tasks/{task.pk}/status/", f"/incidents/{drill.pk}/entries/"]:
        assert outsider_client.post(path, {"status": "done"}).status_code == 404, path
    assert not FeedAcknowledgement.objects.exists()


def test_status_buttons_follow_the_transition_table(as_person, coordinator, analyst, flood):
    client = as_person(coordinator)
    response = client.post(f"/incidents/{flood.pk}/status/", {"status": "active"}, follow=True)
    assert "is now active" in text_of(response)
    flood.refresh_from_db()
    assert flood.status == "active"
    page = text_of(client.get(f"/incidents/{flood.pk}/"))
    assert "Make it recovery" in page
    assert "Make it active" not in page

    change_incident_status(incident=flood, by=coordinator, status="closed")
    response = client.post(f"/incidents/{flood.pk}/status/", {"status": "active"}, follow=True)
    assert "An incident that is closed cannot become active." in text_of(response)
    flood.refresh_from_db()
    assert flood.status == "closed"

    assert as_person(analyst).post(f"/incidents/{flood.pk}/status/", {"status": "closed"}).status_code == 403


def test_next_operational_period_starts_and_bad_times_are_refused(as_person, coordinator, flood):
    client = as_person(coordinator)
    start = timezone.localtime().replace(second=0, microsecond=0)
    bad = client.post(
        f"/incidents/{flood.pk}/periods/",
        {
            "starts_at": f"{start:%Y-%m-%dT%H:%M}",
            "ends_at": f"{start - timedelta(hours=1):%Y-%m-%dT%H:%M}",
            "objectives": "Keep people off flooded roads",
        },
    )
    assert bad.status_code == 200
    assert "An operational period ends after it starts." in text_of(bad)
    assert "Keep people off flooded roads" in text_of(bad)
    assert flood.operational_periods.count() == 1

    good = client.post(
        f"/incidents/{flood.pk}/periods/",
        {
            "starts_at": f"{start:%Y-%m-%dT%H:%M}",
            "ends_at": f"{start + timedelta(hours=12):%Y-%m-%dT%H:%M}",
            "objectives": "Keep people off flooded roads",
        },
    )
    assert good.status_code == 302
    periods = [(period.number, period.is_closed) for period in flood.operational_periods.order_by("number")]
    assert periods == [(1, True), (2, False)]


# --- The feed ------------------------------------------------------------------------------------


def test_feed_filters_by_kind_priority_and_agency(as_person, coordinator, liaison_officer, flood, post):
    post(flood, title="River at 18 ft")
    post(flood, kind="warning", priority="flash", title="Levee overtopping")
    post(flood, by=liaison_officer, kind="relayed_item", title="Threat to shelters")
    client = as_person(coordinator)

    warnings = text_of(client.get(f"/incidents/{flood.pk}/?kind=warning"))
    assert "Levee overtopping" in warnings
    assert "River at 18 ft" not in warnings
    assert 'data-filter-kind="warning"' in warnings
    flash = text_of(client.get(f"/incidents/{flood.pk}/?priority=flash"))
    assert "Levee overtopping" in flash
    assert "River at 18 ft" not in flash
    relayed = text_of(client.get(f"/incidents/{flood.pk}/?agency={liaison_officer.agency_id}"))
    assert "Threat to shelters" in relayed
    assert "Levee overtopping" not in relayed


def test_feed_agency_filter_offers_the_agencies_of_the_latest_entries(
    as_person, coordinator, liaison_officer, flood, post, monkeypatch
):
    monkeypatch.setattr("eoc.selectors.AUTHOR_AGENCIES_FROM", 1)
    post(flood, by=liaison_officer, kind="relayed_item", title="Threat to shelters")
    post(flood, title="River at 18 ft")

    page = as_person(coordinator).get(f"/incidents/{flood.pk}/").content.decode()

    choices = re.search(r'(?s)<select name="agency".*?</select>', page).group(0)
    assert re.findall(r'<option value="(\d+)"', choices) == [str(coordinator.agency_id)]


def test_feed_pages_by_keyset_with_older_entries_link(as_person, coordinator, flood, post):
    entries = [post(flood, title=f"Gauge reading {number:02d}") for number in range(35)]
    client = as_person(coordinator)
    first = text_of(client.get(f"/incidents/{flood.pk}/"))
    assert "Gauge reading 34" in first
    assert "Gauge reading 05" in first
    assert "Gauge reading 04" not in first
    cursor = entries[5].pk
    assert f"?before={cursor}" in first
    older = text_of(client.get(f"/incidents/{flood.pk}/?before={cursor}"))
    assert "Gauge reading 04" in older
    assert "Gauge reading 00" in older
    assert "Gauge reading 05" not in older
    assert 'data-live="off"' in older
    assert "Back to the newest entries" in older


@pytest.fixture
def count_queries(as_person, settings, django_assert_max_num_queries):
    """How many queries a page costs, signed in as the person. The session rides in a signed cookie
    and the cache lives in this process, so that only the page's own queries count: the test Redis is
    shared, and whether a session or a cached count is found there would change the number."""
    settings.SESSION_ENGINE = "django.contrib.sessions.backends.signed_cookies"
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

    def _count(person, path: str, at_most: int = 40) -> int:
        client = as_person(person)
        client.get(path)  # the session's clocks are stamped on the first request
        with django_assert_max_num_queries(at_most) as queries:
            assert client.get(path).status_code == 200
        return len(queries.captured_queries)

    return _count


def test_incident_page_costs_a_fixed_number_of_queries(count_queries, coordinator, liaison_officer, flood, post):
    post(flood, title="first")
    page = f"/incidents/{flood.pk}/"
    few = count_queries(coordinator, page)
    original = post(flood, title="to be corrected")
    for number in range(30):
        content = EntryContent(kind="situation_update", title=f"more {number}", caveats=["LES"] if number % 3 else [])
        post_entry(
            by=liaison_officer if number % 2 else coordinator, incident=flood, content=content, corrects=original
        )
        request_for(flood, coordinator)
        assign_task(
            incident=flood, by=coordinator, details=TaskDetails(title=f"task {number}", esf=6, due_at=timezone.now())
        )
    FeedAcknowledgement.objects.create(entry=original, person=liaison_officer)
    count_queries(coordinator, page, at_most=few)
    count_queries(coordinator, f"{page}?before={original.pk + 20}&kind=situation_update", at_most=few)


def test_eoc_feed_costs_a_fixed_number_of_queries(count_queries, coordinator, county_eoc, flood, post):
    page = f"/eocs/{county_eoc.pk}/feed/"
    post(flood, title="first")
    few = count_queries(coordinator, page)
    for number in range(40):
        post(flood, title=f"more {number}")
    count_queries(coordinator, page, at_most=few)


def test_posting_an_entry_through_the_form(as_person, coordinator, flood):
    response = as_person(coordinator).post(
        f"/incidents/{flood.pk}/entries/",
        {
            "kind": "warning",
            "priority": "flash",
            "title": "Levee overtopping at Smithfield",
            "body": "Move now",
            "tlp": "green",
            "latitude": "35.74",
            "longitude": "-78.48",
        },
        follow=True,
    )
    entry = FeedEntry.objects.get(title="Levee overtopping at Smithfield")
    assert entry.priority == "flash"
    assert entry.author == coordinator
    page = text_of(response)
    assert "Posted “Levee overtopping at Smithfield”." in page
    assert f'id="entry-{entry.pk}"' in page


def test_bad_entry_redisplays_with_messages_and_saves_nothing(as_person, coordinator, flood):
    response = as_person(coordinator).post(
        f"/incidents/{flood.pk}/entries/",
        {
            "kind": "warning",
            "priority": "flash",
            "title": "Levee overtopping",
            "tlp": "green",
            "latitude": "95",
            "longitude": "-78.4",
        },
    )
    page = text_of(response)
    assert response.status_code == 200
    assert "Latitude is between -90 and 90 degrees." in page
    assert 'value="Levee overtopping"' in page
    assert '<details class="fh-post" open>' in page
    assert not FeedEntry.objects.exists()


def test_entry_to_a_closed_incident_is_refused_on_the_page(as_person, coordinator, flood):
    change_incident_status(incident=flood, by=coordinator, status="closed")
    client = as_person(coordinator)
    assert "Post an entry" not in text_of(client.get(f"/incidents/{flood.pk}/"))
    response = client.post(
        f"/incidents/{flood.pk}/entries/", {"kind": "warning", "priority": "routine", "title": "Late", "tlp": "green"}
    )
    assert response.status_code == 200
    assert f"Incident {flood.number} is closed: no new entries can be posted to it." in text_of(response)
    assert 'value="Late"' in text_of(response)
    assert not FeedEntry.objects.exists()


def test_partners_cannot_post_to_the_feed(as_person, analyst, flood):
    response = as_person(analyst).post(
        f"/incidents/{flood.pk}/entries/", {"kind": "warning", "priority": "routine", "title": "X", "tlp": "green"}
    )
    assert response.status_code == 403
    assert not FeedEntry.objects.exists()


def test_acknowledge_with_htmx_returns_the_entry_acknowledged(as_person, coordinator, analyst, flood, post):
    entry = post(flood, title="Levee overtopping")
    FeedAcknowledgement.objects.create(entry=entry, person=coordinator)
    response = as_person(analyst).post(f"/entries/{entry.pk}/acknowledge/", HTTP_HX_REQUEST="true")
    fragment = text_of(response)
    assert response.status_code == 200
    assert fragment.lstrip().startswith('<li class="fh-entry fh-entry--routine fh-entry--acknowledged"')
    assert f'data-entry-id="{entry.pk}"' in fragment
    assert "Acknowledged" in fragment
    assert "2 acknowledged" in fragment
    assert 'hx-post="' not in fragment  # no second button
    # Twice is once.
    as_person(analyst).post(f"/entries/{entry.pk}/acknowledge/", HTTP_HX_REQUEST="true")
    assert FeedAcknowledgement.objects.filter(entry=entry).count() == 2


def test_acknowledge_without_javascript_returns_to_the_entry(as_person, analyst, flood, post):
    entry = post(flood, title="Levee overtopping")
    response = as_person(analyst).post(f"/entries/{entry.pk}/acknowledge/")
    assert response.status_code == 302
    assert response["Location"] == f"/incidents/{flood.pk}/#entry-{entry.pk}"
    assert FeedAcknowledgement.objects.filter(entry=entry, person=analyst).exists()
    assert as_person(analyst).get(f"/entries/{entry.pk}/acknowledge/").status_code == 405


def test_correction_is_a_new_entry_referencing_the_original(as_person, coordinator, analyst, flood, post):
    original = post(flood, title="Neuse at Clayton 16.2 ft", body="Gauge 0208")
    client = as_person(coordinator)
    form = text_of(client.get(f"/entries/{original.pk}/correct/"))
    assert 'value="Neuse at Clayton 16.2 ft"' in form
    response = client.post(
        f"/entries/{original.pk}/correct/",
        {"kind": "situation_update", "priority": "routine", "title": "Neuse at Clayton 17.2 ft", "tlp": "green"},
        follow=True,
    )
    correction = FeedEntry.objects.get(title="Neuse at Clayton 17.2 ft")
    assert correction.corrects == original
    original.refresh_from_db()
    assert original.title == "Neuse at Clayton 16.2 ft"
    assert "Corrects: " in text_of(response)
    assert as_person(analyst).get(f"/entries/{original.pk}/correct/").status_code == 403


def test_correction_with_bad_input_saves_nothing(as_person, coordinator, flood, post):
    original = post(flood, title="Neuse at Clayton 16.2 ft")
    response = as_person(coordinator).post(
        f"/entries/{original.pk}/correct/",
        {"kind": "situation_update", "priority": "routine", "title": "", "tlp": "green"},
    )
    assert response.status_code == 200
    assert "Say what happened, in a line." in text_of(response)
    assert FeedEntry.objects.count() == 1


def test_fragment_returns_newer_entries_newest_first_within_the_filters(as_person, coordinator, flood, post):
    seen = post(flood, title="Seen already")
    post(flood, title="Newer routine")
    post(flood, kind="warning", title="Newer warning")
    client = as_person(coordinator)
    fragment = text_of(client.get(f"/incidents/{flood.pk}/feed/fragment/?after={seen.pk}"))
    assert "Seen already" not in fragment
    assert fragment.index("Newer warning") < fragment.index("Newer routine")
    warnings = text_of(client.get(f"/incidents/{flood.pk}/feed/fragment/?after={seen.pk}&kind=warning"))
    assert "Newer warning" in warnings
    assert "Newer routine" not in warnings


def test_les_entry_shows_only_its_tearline_to_people_without_law_enforcement_status(
    as_person, coordinator, analyst, flood, post
):
    post(flood, title="Suspect device", body="Detail for police", caveats=["LES"], tearline="Area closed")
    page = text_of(as_person(coordinator).get(f"/incidents/{flood.pk}/"))
    assert "Area closed" in page
    assert "Detail for police" not in page
    assert "Detail for police" in text_of(as_person(analyst).get(f"/incidents/{flood.pk}/"))


def test_eoc_feed_spans_open_incidents_and_eoc_wide_entries(as_person, coordinator, county_eoc, flood, post):
    post(flood, title="Flood entry")
    other = open_incident(by=coordinator, details=IncidentDetails(name="Spill", incident_type="hazmat"))
    post(other, title="Spill entry")
    change_incident_status(incident=other, by=coordinator, status="closed")
    client = as_person(coordinator)
    response = client.post(
        f"/eocs/{county_eoc.pk}/entries/",
        {"kind": "decision", "priority": "priority", "title": "EOC moves to 24-hour staffing", "tlp": "green"},
    )
    assert response.status_code == 302
    page = text_of(client.get(f"/eocs/{county_eoc.pk}/feed/"))
    assert "Flood entry" in page
    assert "EOC moves to 24-hour staffing" in page
    assert "Spill entry" not in page
    assert f'data-stream-url="/eocs/{county_eoc.pk}/feed/stream/"' in page
    assert client.get("/eocs/999999/feed/").status_code == 404


def test_eoc_feed_of_an_agency_that_is_no_eoc_is_404(as_person, analyst, fusion_center):
    assert as_person(analyst).get(f"/eocs/{fusion_center.pk}/feed/").status_code == 404
    assert as_person(analyst).get(f"/eocs/{fusion_center.pk}/").status_code == 404


# --- CAP upload ----------------------------------------------------------------------------------


def test_cap_upload_imports_once_and_explains_a_bad_document(as_person, coordinator, county_eoc, flood, post):
    from django.core.files.uploadedfile import SimpleUploadedFile

    other = open_incident(by=coordinator, details=IncidentDetails(name="Elsewhere", incident_type="flood"))
    source = post(other, kind="warning", priority="flash", title="Flash flood warning for Wake County")
    alert = entry_to_cap(source, full_access=True).replace(b"fusionhub@localhost", b"w-nws.webmaster@noaa.gov")
    client = as_person(coordinator)

    response = client.post(
        f"/incidents/{flood.pk}/cap/", {"document": SimpleUploadedFile("alert.xml", alert)}, follow=True
    )
    assert "Alert imported as the warning entry" in text_of(response)
    assert flood.entries.filter(title="Flash flood warning for Wake County").count() == 1

    again = client.post(
        f"/incidents/{flood.pk}/cap/", {"document": SimpleUploadedFile("alert.xml", alert)}, follow=True
    )
    assert "already imported" in text_of(again)
    assert flood.entries.count() == 1

    bad = client.post(f"/incidents/{flood.pk}/cap/", {"document": SimpleUploadedFile("bad.xml", b"<alert>no</alert>")})
    assert bad.status_code == 200
    assert 'id="id_document-error"' in text_of(bad)
    assert flood.entries.count() == 1


# --- Activation ----------------------------------------------------------------------------------


def test_activation_page_shows_the_level_as_the_jurisdiction_labels_it(
    as_person, analyst, coordinator, county_eoc, flood
):
    change_activation(eoc=county_eoc, by=coordinator, level=2, reason="River above flood stage", incident=flood)
    client = as_person(analyst)
    page = text_of(client.get(f"/eocs/{county_eoc.pk}/activation/"))
    assert "Level 2 — partial activation" in page
    assert "River above flood stage" in page
    assert flood.number in page
    assert "Change the level" not in page  # an analyst reads, a coordinator of this EOC changes

    EocStatus.objects.filter(eoc=county_eoc).update(numbering=EocStatus.Numbering.REVERSED, level=1)
    assert "Level 3 — full activation" in text_of(client.get(f"/eocs/{county_eoc.pk}/activation/"))


def test_coordinator_raises_the_level_for_an_incident(as_person, coordinator, county_eoc, flood):
    client = as_person(coordinator)
    form = text_of(client.get(f"/eocs/{county_eoc.pk}/activation/"))
    assert "Change the level" in form
    assert flood.name in form
    response = client.post(
        f"/eocs/{county_eoc.pk}/activation/",
        {"level": "2", "reason": "River forecast above flood stage", "incident": flood.pk},
        follow=True,
    )
    assert "CEOC is now at Level 2 — partial activation." in text_of(response)
    status = EocStatus.objects.get(eoc=county_eoc)
    assert (status.level, status.incident) == (2, flood)
    assert ActivationChange.objects.get().reason == "River forecast above flood stage"


@pytest.mark.parametrize("reason", ["", "   "])
def test_deactivation_without_reason_is_refused(as_person, coordinator, county_eoc, flood, reason):
    change_activation(eoc=county_eoc, by=coordinator, level=2, reason="River above flood stage", incident=flood)
    response = as_person(coordinator).post(f"/eocs/{county_eoc.pk}/activation/", {"level": "3", "reason": reason})
    assert response.status_code == 200
    assert "Give the reason for the change of activation level." in text_of(response)
    assert EocStatus.objects.get(eoc=county_eoc).level == 2
    assert ActivationChange.objects.count() == 1


def test_only_the_eocs_coordinators_change_its_level(as_person, analyst, coordinator, partner_eoc):
    response = as_person(coordinator).post(f"/eocs/{partner_eoc.pk}/activation/", {"level": "1", "reason": "x"})
    assert response.status_code == 403
    assert (
        as_person(analyst).post(f"/eocs/{partner_eoc.pk}/activation/", {"level": "1", "reason": "x"}).status_code == 403
    )
    assert not ActivationChange.objects.exists()


def test_activation_for_an_exercise_is_hidden_from_outsiders(as_person, coordinator, outsider, county_eoc, drill):
    change_activation(eoc=county_eoc, by=coordinator, level=2, reason="Drill stand-up", incident=drill)
    page = text_of(as_person(outsider).get(f"/eocs/{county_eoc.pk}/activation/"))
    assert "Hurricane drill" not in page
    assert "Drill stand-up" not in page
    assert "Drill stand-up" in text_of(as_person(coordinator).get(f"/eocs/{county_eoc.pk}/activation/"))


# --- Situation reports -----------------------------------------------------------------------------


def test_situation_report_is_written_edited_published_and_then_never_changes(as_person, coordinator, flood):
    client = as_person(coordinator)
    response = client.post(
        f"/incidents/{flood.pk}/sitreps/new/",
        {"operational_period": flood.operational_periods.get().pk, "situation_summary": "River cresting at 18 ft"},
    )
    report = SituationReport.objects.get()
    assert response["Location"] == f"/sitreps/{report.pk}/"
    client.post(f"/sitreps/{report.pk}/edit/", {"situation_summary": "River crested at 18.4 ft", "weather": "Dry"})
    report.refresh_from_db()
    assert (report.situation_summary, report.weather) == ("River crested at 18.4 ft", "Dry")
    detail = text_of(client.get(f"/sitreps/{report.pk}/"))
    assert "River crested at 18.4 ft" in detail
    assert "Publish" in detail

    response = client.post(f"/sitreps/{report.pk}/publish/", follow=True)
    assert "published. It no longer changes." in text_of(response)
    edit = client.get(f"/sitreps/{report.pk}/edit/", follow=True)
    assert "A published situation report never changes" in text_of(edit)
    client.post(f"/sitreps/{report.pk}/edit/", {"situation_summary": "Changed after the fact"})
    report.refresh_from_db()
    assert report.situation_summary == "River crested at 18.4 ft"
    assert "Situation report 1" in text_of(client.get(f"/incidents/{flood.pk}/sitreps/"))


def test_situation_report_for_a_closed_period_is_refused(as_person, coordinator, flood):
    first = flood.operational_periods.get()
    start_operational_period(
        incident=flood, by=coordinator, starts_at=timezone.now(), ends_at=timezone.now() + timedelta(hours=12)
    )
    client = as_person(coordinator)
    form = text_of(client.get(f"/incidents/{flood.pk}/sitreps/new/"))
    assert "Period 1" in form
    assert "(closed)" in form
    response = client.post(
        f"/incidents/{flood.pk}/sitreps/new/", {"operational_period": first.pk, "situation_summary": "Late report"}
    )
    assert response.status_code == 200
    assert "Operational period 1 is closed: write the report for the current period." in text_of(response)
    assert "Late report" in text_of(response)
    assert not SituationReport.objects.exists()


def test_publishing_without_a_summary_is_refused(as_person, coordinator, flood):
    report = write_situation_report(incident=flood, period=flood.operational_periods.get(), by=coordinator, sections={})
    response = as_person(coordinator).post(f"/sitreps/{report.pk}/publish/", follow=True)
    assert "A situation report needs its situation summary." in text_of(response)
    report.refresh_from_db()
    assert report.state == "draft"


def test_print_view_of_a_report(as_person, coordinator, analyst, flood, drill):
    report = write_situation_report(
        incident=flood, period=flood.operational_periods.get(), by=coordinator, sections={"situation_summary": "Up"}
    )
    publish_situation_report(report=report, by=coordinator)
    page = text_of(as_person(analyst).get(f"/sitreps/{report.pk}/print/"))
    assert "ICS-209" in page
    assert "EXERCISE" not in page
    drill_report = write_situation_report(
        incident=drill, period=drill.operational_periods.get(), by=coordinator, sections={}
    )
    drill_page = text_of(as_person(coordinator).get(f"/sitreps/{drill_report.pk}/print/"))
    assert drill_page.count("EXERCISE") >= 3
    assert "DRAFT" in drill_page
    assert as_person(analyst).get(f"/sitreps/{report.pk}/edit/").status_code == 403


# --- Resource requests -----------------------------------------------------------------------------


def test_board_groups_requests_by_state_and_overdue_ones_stand_out(as_person, coordinator, analyst, flood):
    late = request_for(flood, coordinator, resource_kind="Sandbags", needed_by=timezone.now() - timedelta(hours=1))
    approved = request_for(flood, coordinator, resource_kind="Generators")
    move_resource_request(request=approved, by=coordinator, state="approved")
    client = as_person(coordinator)
    page = text_of(client.get(f"/incidents/{flood.pk}/resources/"))
    assert page.index('data-state="requested"') < page.index('data-state="approved"')
    card = page[page.index(f'id="request-{late.pk}"') :]
    assert card.startswith(f'id="request-{late.pk}"')
    assert "fh-card fh-card--overdue" in page
    assert "Overdue" in card[: card.index("</li>")]
    assert "Approve" in page
    assert "Start sourcing" in page
    reader = text_of(as_person(analyst).get(f"/incidents/{flood.pk}/resources/"))
    assert "Sandbags" in reader
    assert "Start sourcing" not in reader
    assert "Request a resource" not in reader


def test_request_is_filed_through_the_form_and_bad_input_is_refused(as_person, coordinator, flood):
    client = as_person(coordinator)
    needed = f"{timezone.localtime() + timedelta(hours=4):%Y-%m-%dT%H:%M}"
    bad = client.post(
        f"/incidents/{flood.pk}/resources/new/",
        {"resource_kind": "Light towers", "quantity": "0", "priority": "urgent", "needed_by": needed, "deliver_to": ""},
    )
    assert bad.status_code == 200
    assert "The quantity is a whole number, at least 1." in text_of(bad)
    assert "Say where to deliver it." in text_of(bad)
    assert 'value="Light towers"' in text_of(bad)
    assert not ResourceRequest.objects.exists()
    good = client.post(
        f"/incidents/{flood.pk}/resources/new/",
        {
            "resource_kind": "Light towers",
            "nims_type": "Type 1",
            "quantity": "4",
            "priority": "urgent",
            "needed_by": needed,
            "deliver_to": "Knightdale Station Park",
        },
    )
    assert good.status_code == 302
    assert ResourceRequest.objects.get().quantity == 4


def test_request_moves_along_ics_213rr_to_delivered(as_person, coordinator, flood, partner_eoc):
    request = request_for(flood, coordinator)
    client = as_person(coordinator)
    url = f"/resource-requests/{request.pk}/move/"
    for state in ("approved", "sourcing"):
        assert client.post(url, {"state": state}).status_code == 302
    form = text_of(client.get(f"{url}?state=assigned"))
    assert "Agency that fills the request" in form
    refused = client.post(url, {"state": "assigned"})
    assert "Say which agency fills the request." in text_of(refused)
    request.refresh_from_db()
    assert request.state == "sourcing"
    client.post(url, {"state": "assigned", "assigned_agency": partner_eoc.pk})
    for state in ("en_route", "delivered"):
        client.post(url, {"state": state})
    request.refresh_from_db()
    assert (request.state, request.assigned_agency) == ("delivered", partner_eoc)
    assert list(request.events.values_list("to_state", flat=True)) == [
        "requested",
        "approved",
        "sourcing",
        "assigned",
        "en_route",
        "delivered",
    ]


def test_invalid_transition_and_denial_without_note_are_refused(as_person, coordinator, analyst, flood):
    request = request_for(flood, coordinator)
    client = as_person(coordinator)
    url = f"/resource-requests/{request.pk}/move/"
    jump = client.post(url, {"state": "delivered"})
    assert jump.status_code == 200
    assert "A request that is requested cannot be moved to delivered." in text_of(jump)
    denied = client.post(url, {"state": "denied", "note": " "})
    assert "Say why the request is denied or cancelled." in text_of(denied)
    request.refresh_from_db()
    assert request.state == "requested"
    assert request.events.count() == 1
    assert as_person(analyst).post(url, {"state": "approved"}).status_code == 403


def test_board_costs_a_fixed_number_of_queries(count_queries, coordinator, flood, partner_eoc):
    page = f"/incidents/{flood.pk}/resources/"
    request_for(flood, coordinator)
    few = count_queries(coordinator, page)
    for number in range(25):
        request = request_for(flood, coordinator, resource_kind=f"Pump {number}")
        for state in ("approved", "sourcing", "assigned")[: number % 4]:
            move_resource_request(request=request, by=coordinator, state=state, assigned_agency=partner_eoc)
    count_queries(coordinator, page, at_most=few)


# --- Tasks -------------------------------------------------------------------------------------


def test_tasks_are_listed_with_overdue_ones_standing_out_and_change_status(as_person, coordinator, flood):
    late = assign_task(
        incident=flood,
        by=coordinator,
        details=TaskDetails(title="Open a shelter", esf=6, due_at=timezone.now() - timedelta(hours=1)),
    )
    assign_task(
        incident=flood,
        by=coordinator,
        details=TaskDetails(
            title="Close Rock Quarry Road", section="operations", due_at=timezone.now() + timedelta(hours=5)
        ),
    )
    client = as_person(coordinator)
    page = text_of(client.get(f"/incidents/{flood.pk}/tasks/"))
    assert page.index("Open a shelter") < page.index("Close Rock Quarry Road")
    row = page[page.rindex("<tr", 0, page.index("Open a shelter")) : page.index("Open a shelter")]
    assert "fh-row--overdue" in row
    assert "ESF 6 — Mass care" in page
    assert "Operations section" in page

    client.post(f"/tasks/{late.pk}/status/", {"status": "done"})
    late.refresh_from_db()
    assert late.status == "done"
    refused = client.post(f"/tasks/{late.pk}/status/", {"status": "in_progress"}, follow=True)
    assert "A task that is done cannot become that." in text_of(refused)
    late.refresh_from_db()
    assert late.status == "done"


def test_task_form_needs_an_assignee(as_person, coordinator, analyst, flood):
    client = as_person(coordinator)
    due = f"{timezone.localtime() + timedelta(hours=2):%Y-%m-%dT%H:%M}"
    bad = client.post(f"/incidents/{flood.pk}/tasks/new/", {"title": "Sandbag the pump station", "due_at": due})
    assert bad.status_code == 200
    assert "Assign the task to an agency, an ESF or a section." in text_of(bad)
    assert not Task.objects.exists()
    good = client.post(
        f"/incidents/{flood.pk}/tasks/new/", {"title": "Sandbag the pump station", "due_at": due, "esf": "3"}
    )
    assert good.status_code == 302
    assert Task.objects.get().esf == 3
    assert as_person(analyst).get(f"/incidents/{flood.pk}/tasks/new/").status_code == 403


# --- The dashboard ---------------------------------------------------------------------------------


def busy_eoc(coordinator, incident, count):
    """Flash and priority entries, overdue requests and overdue tasks in the incident."""
    for number in range(count):
        content = EntryContent(kind="warning", priority="flash" if number % 2 else "priority", title=f"Alert {number}")
        post_entry(by=coordinator, incident=incident, content=content)
        late = timezone.now() - timedelta(hours=1)
        request_for(incident, coordinator, resource_kind=f"Boat {number}", needed_by=late)
        assign_task(incident=incident, by=coordinator, details=TaskDetails(title=f"Levee {number}", esf=3, due_at=late))


def test_dashboard_shows_the_common_operating_picture(as_person, coordinator, county_eoc, flood, drill, post):
    change_activation(eoc=county_eoc, by=coordinator, level=2, reason="River above flood stage", incident=flood)
    post(flood, kind="warning", priority="flash", title="Evacuate Mial Plantation Road")
    post(flood, title="Routine gauge reading")
    request_for(flood, coordinator, needed_by=timezone.now() - timedelta(hours=1))
    assign_task(
        incident=flood,
        by=coordinator,
        details=TaskDetails(title="Open a shelter", esf=6, due_at=timezone.now() - timedelta(hours=1)),
    )
    page = text_of(as_person(coordinator).get(f"/eocs/{county_eoc.pk}/"))
    assert "Level 2 — partial activation" in page
    assert "Neuse River flooding" in page
    assert "Evacuate Mial Plantation Road" in page
    assert "Routine gauge reading" not in page
    assert "Requested" in page
    assert "Open a shelter" in page
    assert 'id="incident-map-data" type="application/json"' in page
    assert '"lat": 35.7796' in page
    assert "Hurricane drill" in page
    assert "/static/vendor/leaflet/leaflet.js" in page


def test_dashboard_hides_exercises_from_outsiders(as_person, outsider, county_eoc, drill):
    page = text_of(as_person(outsider).get(f"/eocs/{county_eoc.pk}/"))
    assert "Hurricane drill" not in page
    assert "incident-map-data" not in page


def test_own_dashboard_leads_to_the_persons_eoc(as_person, coordinator, analyst, county_eoc):
    assert as_person(coordinator).get("/eoc/")["Location"] == f"/eocs/{county_eoc.pk}/"
    choice = as_person(analyst).get("/eoc/")
    assert choice.status_code == 200
    assert "County EOC" in text_of(choice)


def test_dashboard_costs_a_fixed_number_of_queries(count_queries, coordinator, county_eoc, flood, client):
    page = f"/eocs/{county_eoc.pk}/"
    busy_eoc(coordinator, flood, 1)
    few = count_queries(coordinator, page)
    for number in range(6):
        details = IncidentDetails(name=f"Flood {number}", incident_type="flood", latitude="35.1", longitude="-78.1")
        busy_eoc(coordinator, open_incident(by=coordinator, details=details), 3)
    count_queries(coordinator, page, at_most=few)
    assert "Flood 5" in text_of(client.get(page))


def test_lists_cost_a_fixed_number_of_queries(count_queries, coordinator, county_eoc, flood):
    def add_rows(count):
        for number in range(count):
            incident = open_incident(
                by=coordinator, details=IncidentDetails(name=f"Spill {number}", incident_type="hazmat")
            )
            period = flood.operational_periods.order_by("-number").first()
            write_situation_report(incident=flood, period=period, by=coordinator, sections={})
            details = TaskDetails(title=f"Task {number}", assigned_agency=county_eoc, due_at=timezone.now())
            assign_task(incident=flood, by=coordinator, details=details)
            level = 2 if number % 2 == 0 else 3
            change_activation(eoc=county_eoc, by=coordinator, level=level, reason=f"Change {number}", incident=incident)

    pages = [
        "/incidents/",
        f"/incidents/{flood.pk}/tasks/",
        f"/incidents/{flood.pk}/sitreps/",
        f"/eocs/{county_eoc.pk}/activation/",
    ]
    add_rows(1)
    few = {page: count_queries(coordinator, page) for page in pages}
    add_rows(20)
    for page in pages:
        count_queries(coordinator, page, at_most=few[page])
