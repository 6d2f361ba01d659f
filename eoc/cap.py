"""CAP 1.2 (OASIS Common Alerting Protocol): warning entries out as alerts, alerts in as entries.

Parsing refuses DTDs, entities and external references (defusedxml), documents over the size
limit, and anything that is not a CAP 1.2 alert with its required elements; every refusal says
which element is wrong.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from xml.etree.ElementTree import Element, SubElement, tostring

import defusedxml.ElementTree as SafeET
from defusedxml import DefusedXmlException
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import timezone

from agencies.markings import TLP

from .models import FeedEntry, Incident

CAP_NS = "urn:oasis:names:tc:emergency:cap:1.2"
NS = {"cap": CAP_NS}

STATUSES = {"Actual", "Exercise", "System", "Test", "Draft"}
MSG_TYPES = {"Alert", "Update", "Cancel", "Ack", "Error"}
SCOPES = {"Public", "Restricted", "Private"}
CATEGORIES = {"Geo", "Met", "Safety", "Security", "Rescue", "Fire", "Health", "Env", "Transport", "Infra", "CBRNE",
              "Other"}  # fmt: skip
URGENCIES = {"Immediate", "Expected", "Future", "Past", "Unknown"}
SEVERITIES = {"Extreme", "Severe", "Moderate", "Minor", "Unknown"}
CERTAINTIES = {"Observed", "Likely", "Possible", "Unlikely", "Unknown"}

CATEGORY_OF_INCIDENT = {
    Incident.Type.FLOOD: "Met",
    Incident.Type.SEVERE_WEATHER: "Met",
    Incident.Type.HURRICANE: "Met",
    Incident.Type.WILDFIRE: "Fire",
    Incident.Type.EARTHQUAKE: "Geo",
    Incident.Type.HAZMAT: "CBRNE",
    Incident.Type.MASS_CASUALTY: "Rescue",
    Incident.Type.ACTIVE_THREAT: "Security",
    Incident.Type.CIVIL_UNREST: "Security",
    Incident.Type.INFRASTRUCTURE_FAILURE: "Infra",
    Incident.Type.CYBER: "Security",
    Incident.Type.PUBLIC_HEALTH: "Health",
    Incident.Type.PLANNED_EVENT: "Safety",
    Incident.Type.OTHER: "Other",
}
# Without values received in an alert, an entry's priority says how urgent and severe it is.
CAP_OF_PRIORITY = {
    FeedEntry.Priority.FLASH: ("Immediate", "Severe", "Observed"),
    FeedEntry.Priority.PRIORITY: ("Expected", "Moderate", "Likely"),
    FeedEntry.Priority.ROUTINE: ("Future", "Minor", "Possible"),
}
PRIORITY_OF_URGENCY = {"Immediate": FeedEntry.Priority.FLASH, "Expected": FeedEntry.Priority.PRIORITY}


def cap_datetime(value: datetime) -> str:
    """CAP's date-time: seconds and an explicit offset; the schema refuses "Z"."""
    return timezone.localtime(value).replace(microsecond=0).isoformat()


# --- Export -------------------------------------------------------------------------------------


def entry_identifier(entry: FeedEntry) -> str:
    return f"{settings.CAP_SENDER}.entry.{entry.pk}"


def _text(parent: Element, tag: str, value: str) -> Element:
    element = SubElement(parent, tag)
    element.text = value
    return element


def entry_to_cap(entry: FeedEntry, *, full_access: bool) -> bytes:
    """The entry as a CAP 1.2 alert, as the reader may see it (the tearline if not in full)."""
    is_exercise = bool(entry.incident and entry.incident.is_exercise)
    restricted = entry.tlp != TLP.CLEAR or bool(entry.caveats)
    alert = Element("alert", xmlns=CAP_NS)
    _text(alert, "identifier", entry_identifier(entry))
    _text(alert, "sender", settings.CAP_SENDER)
    _text(alert, "sent", cap_datetime(entry.posted_at))
    _text(alert, "status", "Exercise" if is_exercise else "Actual")
    _text(alert, "msgType", "Update" if entry.corrects_id else "Alert")
    _text(alert, "scope", "Restricted" if restricted else "Public")
    if restricted:
        _text(alert, "restriction", " ".join([entry.tlp_label, *entry.caveat_labels]))
    if is_exercise:
        _text(alert, "note", "EXERCISE EXERCISE EXERCISE")
    if entry.corrects_id:
        corrected = entry.corrects
        _text(
            alert,
            "references",
            f"{settings.CAP_SENDER},{entry_identifier(corrected)},{cap_datetime(corrected.posted_at)}",
        )
    if entry.incident_id:
        _text(alert, "incidents", entry.incident.number)
    info = SubElement(alert, "info")
    _text(info, "language", "en-US")
    incident_type = entry.incident.incident_type if entry.incident_id else Incident.Type.OTHER
    _text(info, "category", CATEGORY_OF_INCIDENT[incident_type])
    _text(info, "event", Incident.Type(incident_type).label if entry.incident_id else entry.get_kind_display())
    urgency, severity, certainty = CAP_OF_PRIORITY[entry.priority]
    _text(info, "urgency", entry.cap_urgency or urgency)
    _text(info, "severity", entry.cap_severity or severity)
    _text(info, "certainty", entry.cap_certainty or certainty)
    _text(info, "senderName", entry.eoc.name)
    prefix = "EXERCISE: " if is_exercise else ""
    _text(info, "headline", f"{prefix}{entry.title}"[:160])
    description = entry.body if full_access else entry.tearline
    if description:
        _text(info, "description", description)
    _area(info, entry)
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + tostring(alert, encoding="unicode").encode()


def _area(info: Element, entry: FeedEntry) -> None:
    jurisdictions = list(entry.incident.affected_jurisdictions.all()) if entry.incident_id else []
    lat, lon = entry.latitude, entry.longitude
    if lat is None and entry.incident_id:
        lat, lon = entry.incident.latitude, entry.incident.longitude
    description = ", ".join(j.name for j in jurisdictions) or (entry.incident.address if entry.incident_id else "")
    area = SubElement(info, "area")
    _text(area, "areaDesc", description or entry.eoc.jurisdiction.name)
    if lat is not None and lon is not None:
        _text(area, "circle", f"{lat},{lon} 1.0")
    for jurisdiction in jurisdictions:
        if jurisdiction.same_code:
            geocode = SubElement(area, "geocode")
            _text(geocode, "valueName", "SAME")
            _text(geocode, "value", jurisdiction.same_code)


# --- Import -------------------------------------------------------------------------------------


@dataclass
class ParsedAlert:
    identifier: str
    sender: str
    sent: datetime
    status: str
    msg_type: str
    scope: str
    references: list[tuple[str, str]]
    headline: str
    description: str
    instruction: str
    event: str
    urgency: str
    severity: str
    certainty: str
    areas: list[dict] = field(default_factory=list)


def _refuse(message: str) -> ValidationError:
    return ValidationError({"document": message})


def _child_text(parent, tag: str, *, required: bool, where: str) -> str:
    element = parent.find(f"cap:{tag}", NS)
    text = (element.text or "").strip() if element is not None else ""
    if required and not text:
        raise _refuse(f"The CAP alert has no <{tag}> in {where}: it is required.")
    return text


def _choice(parent, tag: str, allowed: set[str], where: str) -> str:
    value = _child_text(parent, tag, required=True, where=where)
    if value not in allowed:
        raise _refuse(f"<{tag}> in {where} is {value!r}; CAP 1.2 allows {', '.join(sorted(allowed))}.")
    return value


def _parse_sent(value: str) -> datetime:
    if value.endswith("Z") or "T" not in value:
        raise _refuse(
            f"<sent> is {value!r}: CAP 1.2 needs a date-time with an explicit offset, e.g. "
            "2026-11-24T22:10:00-05:00 ('Z' is not allowed)."
        )
    try:
        sent = datetime.fromisoformat(value)
    except ValueError:
        raise _refuse(f"<sent> is {value!r}, which is not a date-time.") from None
    if sent.tzinfo is None:
        raise _refuse(f"<sent> is {value!r}: the offset is missing.")
    return sent


def parse_cap(data: bytes) -> ParsedAlert:
    """Read a CAP 1.2 alert; raises ValidationError({"document": ...}) saying what is wrong."""
    limit = settings.CAP_MAX_BYTES
    if len(data) > limit:
        raise _refuse(f"The document is {len(data):,} bytes; CAP alerts up to {limit:,} bytes are accepted.")
    try:
        root = SafeET.fromstring(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException:
        raise _refuse("The document declares a DTD or entities, which are refused for safety.") from None
    except SafeET.ParseError as error:
        raise _refuse(f"The document is not well-formed XML: {error}.") from None
    if root.tag != f"{{{CAP_NS}}}alert":
        raise _refuse(f"The root element is {root.tag!r}; a CAP 1.2 document is an <alert> in the namespace {CAP_NS}.")
    where = "<alert>"
    identifier = _child_text(root, "identifier", required=True, where=where)
    sender = _child_text(root, "sender", required=True, where=where)
    sent = _parse_sent(_child_text(root, "sent", required=True, where=where))
    status = _choice(root, "status", STATUSES, where)
    msg_type = _choice(root, "msgType", MSG_TYPES, where)
    scope = _choice(root, "scope", SCOPES, where)
    references = []
    for reference in _child_text(root, "references", required=False, where=where).split():
        parts = reference.split(",")
        if len(parts) == 3:
            references.append((parts[0], parts[1]))
    infos = root.findall("cap:info", NS)
    if not infos and msg_type in {"Alert", "Update"}:
        raise _refuse("The CAP alert has no <info> block.")
    # The first <info> speaks for the entry (often en-US); every area of every block is kept.
    first = infos[0] if infos else None
    values = {"event": "", "urgency": "", "severity": "", "certainty": "", "headline": "", "description": "",
              "instruction": ""}  # fmt: skip
    areas: list[dict] = []
    for number, info in enumerate(infos, start=1):
        info_where = f"<info> {number}"
        if not info.findall("cap:category", NS):
            raise _refuse(f"{info_where} has no <category>: it is required.")
        for category in info.findall("cap:category", NS):
            if (category.text or "").strip() not in CATEGORIES:
                raise _refuse(f"<category> in {info_where} is {category.text!r}; not a CAP 1.2 category.")
        block = {
            "event": _child_text(info, "event", required=True, where=info_where),
            "urgency": _choice(info, "urgency", URGENCIES, info_where),
            "severity": _choice(info, "severity", SEVERITIES, info_where),
            "certainty": _choice(info, "certainty", CERTAINTIES, info_where),
        }
        for area in info.findall("cap:area", NS):
            areas.append(
                {
                    "areaDesc": _child_text(area, "areaDesc", required=True, where=f"<area> of {info_where}"),
                    "polygons": [(p.text or "").strip() for p in area.findall("cap:polygon", NS)],
                    "circles": [(c.text or "").strip() for c in area.findall("cap:circle", NS)],
                    "geocodes": [
                        {
                            "valueName": _child_text(g, "valueName", required=False, where="<geocode>"),
                            "value": _child_text(g, "value", required=False, where="<geocode>"),
                        }
                        for g in area.findall("cap:geocode", NS)
                    ],
                }
            )
        if info is first:
            values.update(block)
            for tag in ("headline", "description", "instruction"):
                values[tag] = _child_text(info, tag, required=False, where=info_where)
    return ParsedAlert(
        identifier=identifier,
        sender=sender,
        sent=sent,
        status=status,
        msg_type=msg_type,
        scope=scope,
        references=references,
        areas=areas,
        **values,
    )
