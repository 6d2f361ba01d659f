"""STIX 2.1 export: bundles that the OASIS validator accepts in strict mode, marked with TLP 2.0."""

import json
import uuid

import pytest
from stix2validator import ValidationOptions, validate_string

from agencies.markings import TLP, Caveat
from sharing.models import ThreatProduct
from sharing.services.products import (
    approve_product,
    create_product,
    retract_product,
    start_update,
    submit_for_review,
)
from tests.sharing.conftest import content

TLP_EXTENSION = "extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d"
# As OASIS publishes them (cti-stix-common-objects, extension-definition-specifications/tlp-2.0).
TLP_MARKINGS = {
    TLP.CLEAR: ("marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487", "TLP:CLEAR", "clear"),
    TLP.GREEN: ("marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb", "TLP:GREEN", "green"),
    TLP.AMBER: ("marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421", "TLP:AMBER", "amber"),
    TLP.AMBER_STRICT: ("marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003", "TLP:AMBER+STRICT", "amber+strict"),
    TLP.RED: ("marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1", "TLP:RED", "red"),
}


def stix_of(client, person, product, **extra):
    client.force_login(person)
    return client.get(f"/api/v1/products/{product.pk}/stix/", **extra)


def bundle_of(client, person, product) -> dict:
    response = stix_of(client, person, product)
    assert response.status_code == 200, response.content
    return response.json()


def assert_valid(bundle: dict) -> None:
    """Valid for the OASIS validator in strict mode, where every recommendation ("SHOULD") counts as
    an error: no warnings are left to allow."""
    results = validate_string(json.dumps(bundle), ValidationOptions(version="2.1", strict=True))
    assert results.is_valid, [str(error) for error in results.errors]
    assert not results.warnings


def objects_by_type(bundle: dict, kind: str) -> list[dict]:
    return [o for o in bundle["objects"] if o["type"] == kind]


def report_of(bundle: dict) -> dict:
    (report,) = objects_by_type(bundle, "report")
    return report


def assert_references_resolve(bundle: dict) -> None:
    """Every object and marking a bundle's objects point at travels in the bundle."""
    ids = {o["id"] for o in bundle["objects"]}
    for obj in bundle["objects"]:
        refs = [*obj.get("object_refs", []), *obj.get("object_marking_refs", [])]
        refs += [obj["created_by_ref"]] if "created_by_ref" in obj else []
        assert set(refs) <= ids, obj["id"]


def test_the_validator_refuses_a_broken_bundle():
    """The checks below can fail: a report without its required `published` is refused."""
    broken = {
        "type": "bundle",
        "id": f"bundle--{uuid.uuid4()}",
        "objects": [
            {
                "type": "report",
                "spec_version": "2.1",
                "id": f"report--{uuid.uuid4()}",
                "created": "2026-01-01T00:00:00.000Z",
                "modified": "2026-01-01T00:00:00.000Z",
                "name": "No publication date",
                "object_refs": [f"identity--{uuid.uuid4()}"],
            }
        ],
    }
    results = validate_string(json.dumps(broken), ValidationOptions(version="2.1", strict=True))
    assert not results.is_valid
    assert any("published" in str(error) for error in results.errors)


@pytest.mark.parametrize("tlp", list(TLP))
def test_each_tlp_level_is_marked_with_its_tlp_2_marking_definition(
    client, analyst, coordinator, county_eoc, publish, tlp
):
    audience = {"audience_people": [coordinator]} if tlp == TLP.RED else {"audience_agencies": [county_eoc]}
    product = publish(analyst, tlp=tlp, **audience)
    bundle = bundle_of(client, coordinator, product)
    assert_valid(bundle)

    marking_id, name, value = TLP_MARKINGS[tlp]
    report = report_of(bundle)
    assert report["object_marking_refs"] == [marking_id]
    (marking,) = objects_by_type(bundle, "marking-definition")
    assert marking == {
        "type": "marking-definition",
        "spec_version": "2.1",
        "id": marking_id,
        "created": "2022-10-01T00:00:00.000Z",
        "name": name,
        "extensions": {TLP_EXTENSION: {"extension_type": "property-extension", "tlp_2_0": value}},
    }
    assert_references_resolve(bundle)


def test_the_report_carries_the_product(client, analyst, coordinator, county_eoc, publish):
    product = publish(analyst, audience_agencies=[county_eoc], tags=["copper"])
    bundle = bundle_of(client, coordinator, product)
    assert_valid(bundle)
    report = report_of(bundle)
    assert report["name"] == product.title
    assert report["description"] == product.summary
    assert report["report_types"] == ["threat-report"]
    assert report["published"].startswith(product.published_at.strftime("%Y-%m-%dT"))
    assert report["labels"] == ["copper"]
    assert report["external_references"][0]["external_id"] == product.number

    (identity,) = objects_by_type(bundle, "identity")
    assert identity["name"] == product.originating_agency.name
    assert report["created_by_ref"] == identity["id"]
    (note,) = objects_by_type(bundle, "note")
    assert note["content"] == product.body
    assert note["object_marking_refs"] == report["object_marking_refs"]
    assert report["object_refs"] == [identity["id"], note["id"]]
    assert_references_resolve(bundle)


def test_report_ids_are_stable_and_differ_between_versions(client, analyst, supervisor, county_eoc, publish):
    first = publish(analyst, audience_agencies=[county_eoc])
    report_id = report_of(bundle_of(client, analyst, first))["id"]
    assert report_of(bundle_of(client, supervisor, first))["id"] == report_id
    assert uuid.UUID(report_id.removeprefix("report--"))

    draft = start_update(product=first, by=analyst)
    submit_for_review(product=draft, by=analyst)
    second = approve_product(product=draft, reviewer=supervisor)
    assert report_of(bundle_of(client, analyst, second))["id"] not in (report_id, None)
    assert report_of(bundle_of(client, analyst, first))["id"] == report_id  # the superseded version keeps its id


def test_les_is_a_statement_marking_and_tearline_readers_get_only_the_tearline(
    client, analyst, coordinator, county_eoc, publish
):
    product = publish(
        analyst,
        audience_agencies=[county_eoc],
        caveats=[Caveat.LES],
        summary="Informant reports the ring sells to a scrap yard on Route 9.",
        body="The informant, a yard employee, saw 400 lb of cut ground wire.",
        tearline="Copper thefts at substations: report suspicious activity near substations.",
        tags=["informant-led"],
    )
    response = stix_of(client, coordinator, product)
    assert response.status_code == 200
    bundle = response.json()
    assert_valid(bundle)
    report = report_of(bundle)
    assert report["description"] == product.tearline
    assert not objects_by_type(bundle, "note")
    assert "labels" not in report
    for secret in ("scrap yard", "informant", "ground wire"):
        assert secret not in response.content.decode().lower()

    statements = [m for m in objects_by_type(bundle, "marking-definition") if m.get("definition_type") == "statement"]
    assert len(statements) == 1
    assert statements[0]["definition"]["statement"].startswith("LES")
    assert report["object_marking_refs"] == [TLP_MARKINGS[TLP.AMBER][0], statements[0]["id"]]
    assert_references_resolve(bundle)

    # Someone with law-enforcement status gets the full text, under the same markings.
    full = bundle_of(client, analyst, product)
    assert_valid(full)
    assert report_of(full)["description"] == product.summary
    assert objects_by_type(full, "note")[0]["content"] == product.body
    assert report_of(full)["object_marking_refs"] == report["object_marking_refs"]


@pytest.mark.parametrize("kind", list(ThreatProduct.Kind))
def test_every_kind_exports_a_valid_report(client, analyst, county_eoc, publish, kind):
    bundle = bundle_of(client, analyst, publish(analyst, audience_agencies=[county_eoc], kind=kind))
    assert_valid(bundle)
    assert report_of(bundle)["report_types"]


def test_a_retracted_product_is_a_revoked_report(client, analyst, supervisor, coordinator, county_eoc, publish):
    product = publish(analyst, audience_agencies=[county_eoc])
    retract_product(product=product, by=supervisor, reason="The source withdrew the report.")
    bundle = bundle_of(client, coordinator, product)
    assert_valid(bundle)
    assert report_of(bundle)["revoked"] is True


def test_stix_is_for_those_who_may_see_the_product_and_only_once_published(
    client, analyst, outsider, county_eoc, publish
):
    product = publish(analyst, audience_agencies=[county_eoc])
    assert stix_of(client, outsider, product).status_code == 404
    draft = create_product(author=analyst, content=content(audience_agencies=[county_eoc]))
    response = stix_of(client, analyst, draft)
    assert response.status_code == 400
    assert "state" in response.json()["errors"]


def test_stix_media_types(client, analyst, county_eoc, publish):
    product = publish(analyst, audience_agencies=[county_eoc])
    assert stix_of(client, analyst, product)["Content-Type"] == "application/stix+json;version=2.1"
    asked = stix_of(client, analyst, product, HTTP_ACCEPT="application/stix+json;version=2.1")
    assert asked["Content-Type"] == "application/stix+json;version=2.1"
    bare = stix_of(client, analyst, product, HTTP_ACCEPT="application/stix+json")
    assert bare["Content-Type"] == "application/stix+json;version=2.1"
    plain = stix_of(client, analyst, product, HTTP_ACCEPT="application/json")
    assert plain["Content-Type"] == "application/json"
    assert report_of(plain.json())["name"] == product.title
