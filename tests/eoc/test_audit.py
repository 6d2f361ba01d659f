"""What the audit trail records of the EOC: one view per feed page shown (naming its entries), CAP
exports of entries, and refusals of incidents and entries the person may not see."""

from agencies.models import AuditAction, AuditEntry
from eoc.models import Incident
from eoc.services.incidents import IncidentDetails, open_incident

ADDRESS = "192.0.2.9"


def test_an_incident_page_is_one_view_naming_the_entries_it_showed(client, analyst, flood, post):
    first, second = post(flood), post(flood, title="Shelter open at the high school")
    client.force_login(analyst)
    assert client.get(f"/incidents/{flood.pk}/", REMOTE_ADDR=ADDRESS).status_code == 200
    [view] = AuditEntry.objects.filter(action=AuditAction.VIEW)
    assert (view.person, view.item_type, view.item_id, view.address) == (analyst, "eoc.incident", flood.pk, ADDRESS)
    assert view.detail == {"feed": "page", "entries": [second.pk, first.pk]}


def test_a_polling_update_is_recorded_only_when_it_brings_entries(client, analyst, flood, post):
    first = post(flood)
    client.force_login(analyst)
    client.get(f"/incidents/{flood.pk}/feed/fragment/", {"after": first.pk})
    assert not AuditEntry.objects.filter(action=AuditAction.VIEW).exists()
    second = post(flood, title="Second update")
    client.get(f"/incidents/{flood.pk}/feed/fragment/", {"after": first.pk})
    [view] = AuditEntry.objects.filter(action=AuditAction.VIEW)
    assert view.detail == {"feed": "update", "entries": [second.pk]}


def test_the_eoc_feed_page_and_the_api_feed_are_recorded(client, analyst, coordinator, county_eoc, flood, post):
    entry = post(flood)
    client.force_login(analyst)
    client.get(f"/eocs/{county_eoc.pk}/feed/")
    assert AuditEntry.objects.get(action=AuditAction.VIEW, item_type="agencies.agency").item_id == county_eoc.pk
    client.get(f"/api/v1/incidents/{flood.pk}/feed/")
    api_view = AuditEntry.objects.get(action=AuditAction.VIEW, item_type="eoc.incident")
    assert api_view.detail == {"feed": "api", "entries": [entry.pk]}


def test_a_cap_export_is_recorded_and_a_refused_one_too(client, coordinator, outsider, county, flood, post):
    entry = post(flood)
    client.force_login(coordinator)
    assert client.get(f"/api/v1/feed-entries/{entry.pk}/cap/", REMOTE_ADDR=ADDRESS).status_code == 200
    [export] = AuditEntry.objects.filter(action=AuditAction.EXPORT)
    assert (export.person, export.item_type, export.item_id, export.detail["format"], export.address) == (
        coordinator,
        "eoc.feedentry",
        entry.pk,
        "cap",
        ADDRESS,
    )
    drill = open_incident(
        by=coordinator,
        details=IncidentDetails(
            name="Drill", incident_type=Incident.Type.FLOOD, is_exercise=True, affected_jurisdictions=[county]
        ),
    )
    secret = post(drill)
    client.force_login(outsider)
    assert client.get(f"/api/v1/feed-entries/{secret.pk}/cap/").status_code == 404
    refused = AuditEntry.objects.get(action=AuditAction.EXPORT, outcome="denied")
    assert (refused.person, refused.item_id) == (outsider, secret.pk)
    assert client.get(f"/incidents/{drill.pk}/").status_code == 404
    denied_view = AuditEntry.objects.get(action=AuditAction.VIEW, outcome="denied")
    assert (denied_view.item_type, denied_view.item_id) == ("eoc.incident", drill.pk)
