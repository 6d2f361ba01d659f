"""Liaison defaults of the demo region, through the real services (idempotent): the liaison
officer assigned to Wake County EOC, the fusion center's contacts of the week, and routing rules
so that a product about the county reaches its EOC once activated, and EOC warnings reach the
fusion center."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from agencies.demo import DemoRegion

from .models import DutyContact, LiaisonAssignment, RoutingRule
from .services import RuleDetails, assign_liaison, create_rule, set_duty_contact


def seed_liaison(region: DemoRegion) -> list[RoutingRule]:
    people, agencies, places = region.people, region.agencies, region.jurisdictions
    liaison, supervisor = people["liaison"], people["supervisor"]
    if not LiaisonAssignment.objects.filter(officer=liaison, eoc=agencies["WAKE-EOC"]).exists():
        assign_liaison(
            by=liaison,
            officer=liaison,
            eoc=agencies["WAKE-EOC"],
            phone="919-555-0142",
            note="Sits with ESF 13 during activations.",
        )
    today = timezone.localdate()
    for offset in range(7):
        day = today + timedelta(days=offset)
        if not DutyContact.objects.filter(fusion_center=liaison.agency, on_date=day).exists():
            set_duty_contact(by=liaison, person=supervisor, on_date=day, phone="919-555-0100")
    specs = [
        RuleDetails(
            name="Threat information about the county to Wake County EOC while activated",
            target_eoc=agencies["WAKE-EOC"],
            direction=RoutingRule.Direction.TO_EOC,
            match_incident_jurisdictions=True,
            mode=RoutingRule.Mode.PROPOSED,
            when=RoutingRule.When.ACTIVATED,
        ),
        RuleDetails(
            name="Officer safety bulletins and BOLOs to every EOC in North Carolina",
            target_jurisdiction=places["nc"],
            direction=RoutingRule.Direction.TO_EOC,
            product_kinds=["officer_safety", "bolo"],
            mode=RoutingRule.Mode.PROPOSED,
        ),
        RuleDetails(
            name="EOC warnings, flash entries and situation reports to the fusion center",
            target_jurisdiction=places["nc"],
            direction=RoutingRule.Direction.TO_FUSION_CENTER,
            mode=RoutingRule.Mode.AUTOMATIC,
        ),
    ]
    rules = []
    for details in specs:
        rule = RoutingRule.objects.filter(name=details.name).first()
        rules.append(rule or create_rule(by=liaison, details=details))
    return rules
