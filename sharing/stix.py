"""A threat product as a STIX 2.1 bundle: a `report` marked with the TLP 2.0 marking definitions and
the caveats as statement markings, written as plain JSON (the `stix2` package knows only TLP 1.0)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from django.core.exceptions import ValidationError

from agencies.markings import CAVEAT_DESCRIPTIONS, TLP, Caveat
from agencies.models import Agency

from .models import ThreatProduct

MEDIA_TYPE = "application/stix+json;version=2.1"

# The TLP 2.0 marking definitions OASIS publishes as an extension (cti-stix-common-objects,
# extension-definition-specifications/tlp-2.0). STIX 2.1 does not predefine them, so every bundle
# carries the ones it references, exactly as published.
TLP_EXTENSION = "extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d"
TLP_MARKING_CREATED = "2022-10-01T00:00:00.000Z"
TLP_MARKINGS: dict[str, tuple[str, str]] = {
    TLP.CLEAR: ("marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487", "clear"),
    TLP.GREEN: ("marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb", "green"),
    TLP.AMBER: ("marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421", "amber"),
    TLP.AMBER_STRICT: ("marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003", "amber+strict"),
    TLP.RED: ("marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1", "red"),
}

# Our own objects (agency identities, caveat statements) never change, so they carry fixed times:
# the same object is then byte-for-byte the same in every bundle.
FIXED_CREATED = "2024-01-01T00:00:00.000Z"

REPORT_TYPES: dict[str, list[str]] = {
    ThreatProduct.Kind.SITUATIONAL_AWARENESS: ["threat-report"],
    ThreatProduct.Kind.INTELLIGENCE_BULLETIN: ["threat-report"],
    ThreatProduct.Kind.INTELLIGENCE_ASSESSMENT: ["threat-report"],
    ThreatProduct.Kind.OFFICER_SAFETY: ["threat-report", "threat-actor"],
    ThreatProduct.Kind.BOLO: ["threat-actor"],
    ThreatProduct.Kind.SPECIAL_EVENT: ["threat-report"],
    ThreatProduct.Kind.SAR_SUMMARY: ["observed-data"],
}

SECTORS: dict[str, list[str]] = {
    Agency.Level.FEDERAL: ["government-national"],
    Agency.Level.STATE: ["government-regional"],
    Agency.Level.TERRITORIAL: ["government-regional"],
    Agency.Level.LOCAL: ["government-local"],
    Agency.Level.TRIBAL: ["government-local"],
}

# The name space of FusionHub's identifiers; fixed forever, or every exported id would change.
NAMESPACE = uuid.UUID("8f1d6c2e-3b7a-4c55-9e0f-5a2d4b6c7e81")


def stable_id(object_type: str, name: str) -> str:
    """`<type>--<uuid>` derived from a name alone, so the same product version always has the same id.

    The UUID is the name-based UUIDv5 of our name space and the name, re-marked as version 4: STIX 2.1
    asks that domain and meta objects use UUIDv4 (the validator's strict mode enforces it), and the
    SHA-1 digest behind a UUIDv5 is as unpredictable as random bits for that purpose.
    """
    name_based = uuid.uuid5(NAMESPACE, name)
    return f"{object_type}--{uuid.UUID(bytes=name_based.bytes, version=4)}"


def timestamp(moment: datetime) -> str:
    """A STIX timestamp: UTC, to the millisecond, with the Z suffix."""
    moment = moment.astimezone(UTC)
    return f"{moment:%Y-%m-%dT%H:%M:%S}.{moment.microsecond // 1000:03d}Z"


def tlp_marking(tlp: str) -> dict:
    marking_id, value = TLP_MARKINGS[TLP(tlp)]
    return {
        "type": "marking-definition",
        "spec_version": "2.1",
        "id": marking_id,
        "created": TLP_MARKING_CREATED,
        "name": TLP(tlp).label,
        "extensions": {TLP_EXTENSION: {"extension_type": "property-extension", "tlp_2_0": value}},
    }


def caveat_marking(caveat: str) -> dict:
    caveat = Caveat(caveat)
    return {
        "type": "marking-definition",
        "spec_version": "2.1",
        "id": stable_id("marking-definition", f"caveat/{caveat.value}"),
        "created": FIXED_CREATED,
        "name": caveat.label,
        "definition_type": "statement",
        "definition": {"statement": f"{caveat.label}: {CAVEAT_DESCRIPTIONS[caveat]}"},
    }


def agency_identity(agency: Agency) -> dict:
    identity = {
        "type": "identity",
        "spec_version": "2.1",
        "id": stable_id("identity", f"agency/{agency.acronym}"),
        "created": FIXED_CREATED,
        "modified": FIXED_CREATED,
        "name": agency.name,
        "identity_class": "organization",
    }
    if agency.level in SECTORS:
        identity["sectors"] = SECTORS[agency.level]
    if agency.email:
        identity["contact_information"] = agency.email
    return identity


def product_bundle(product: ThreatProduct, *, full_access: bool) -> dict:
    """The bundle of one released product version, as a reader with or without full access may see it.

    A reader without full access gets the tearline as the description and nothing of the summary,
    body or tags. A retracted version is a revoked report.
    """
    if not product.is_released:
        state = product.get_state_display().lower()
        raise ValidationError({"state": f"A product that is {state} has no STIX report yet: publish it first."})
    markings = [tlp_marking(product.tlp)] + [caveat_marking(c) for c in product.caveats]
    marking_refs = [marking["id"] for marking in markings]
    identity = agency_identity(product.originating_agency)
    report_id = stable_id("report", f"product/{product.number}/{product.version}")
    created = timestamp(product.published_at)
    modified = timestamp(product.retracted_at) if product.retracted_at else created

    report = {
        "type": "report",
        "spec_version": "2.1",
        "id": report_id,
        "created": created,
        "modified": modified,
        "created_by_ref": identity["id"],
        "name": product.title,
        "published": created,
        "report_types": REPORT_TYPES[product.kind],
        "object_refs": [identity["id"]],
        "object_marking_refs": marking_refs,
        "external_references": [
            {
                "source_name": product.originating_agency.acronym,
                "external_id": product.display_number,
                "description": product.get_kind_display(),
            }
        ],
    }
    objects = [*markings, identity, report]
    description = product.summary if full_access else product.tearline
    if description:
        report["description"] = description
    if product.state == ThreatProduct.State.RETRACTED:
        report["revoked"] = True
    if full_access:
        if product.tags:
            report["labels"] = list(product.tags)
        if product.body:
            note = {
                "type": "note",
                "spec_version": "2.1",
                "id": stable_id("note", f"product/{product.number}/{product.version}/body"),
                "created": created,
                "modified": modified,
                "created_by_ref": identity["id"],
                "abstract": product.title,
                "content": product.body,
                "object_refs": [report_id],
                "object_marking_refs": marking_refs,
            }
            report["object_refs"].append(note["id"])
            if product.state == ThreatProduct.State.RETRACTED:
                note["revoked"] = True
            objects.append(note)
    return {"type": "bundle", "id": f"bundle--{uuid.uuid4()}", "objects": objects}
