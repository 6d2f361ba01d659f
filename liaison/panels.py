"""The liaison app's panels on other apps' pages (agencies/panels.py): who the EOC's liaison is, what
an incident can ask the fusion center, and where a product was relayed. Each costs a few queries."""

from __future__ import annotations

from django.http import HttpRequest
from django.template.loader import render_to_string

from agencies.models import Agency
from eoc.models import Incident
from sharing.models import ThreatProduct

from . import selectors


def eoc_dashboard_panel(request: HttpRequest, eoc: Agency) -> str:
    """On an EOC's dashboard: its liaison officers now, and the fusion center's contact of the day."""
    assignments = selectors.current_assignments(eoc=eoc)
    centers = sorted({a.fusion_center_id for a in assignments}) or None
    return render_to_string(
        "liaison/panels/eoc_dashboard.html",
        {"eoc": eoc, "assignments": assignments, "contacts": selectors.contacts_of_the_day(fusion_center_ids=centers)},
        request=request,
    )


def incident_panel(request: HttpRequest, incident: Incident) -> str:
    """On an incident's page: its liaison, the way to ask the fusion center, relays to acknowledge."""
    person = request.user
    return render_to_string(
        "liaison/panels/incident.html",
        {
            "incident": incident,
            "assignments": selectors.current_assignments(eoc=incident.lead_eoc, incident=incident),
            "may_ask": selectors.may_raise_request(person, incident),
            "waiting": selectors.waiting_in_incident(incident),
        },
        request=request,
    )


def product_panel(request: HttpRequest, product: ThreatProduct) -> str:
    """On a product's page, for the people of its fusion center: where this version was relayed and who
    acknowledged it; liaison officers get the way to relay it."""
    person = request.user
    if person.agency_id != product.originating_agency_id and not person.is_system_admin:
        return ""
    return render_to_string(
        "liaison/panels/product.html",
        {
            "product": product,
            "relays": selectors.relays_of_product(product),
            "may_relay": selectors.may_relay(person)
            and product.state == ThreatProduct.State.PUBLISHED
            and not product.is_purged,
        },
        request=request,
    )


def register() -> None:
    from agencies.panels import register_panel

    register_panel("eoc_dashboard", eoc_dashboard_panel)
    register_panel("incident", incident_panel)
    register_panel("product", product_panel)
