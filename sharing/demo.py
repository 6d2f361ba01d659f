"""Demo threat products for the demo region, written through the real services (idempotent)."""

from __future__ import annotations

from agencies.demo import DemoRegion
from agencies.markings import TLP, Caveat
from agencies.models import Agency

from .models import InformationNeed, ThreatProduct
from .services.products import ProductContent, approve_product, create_product, submit_for_review

K = ThreatProduct.Kind


def seed_products(region: DemoRegion) -> list[ThreatProduct]:
    """A few published products of different markings, and one draft waiting for review."""
    people, agencies, places = region.people, region.agencies, region.jurisdictions
    needs = {
        code: InformationNeed.objects.get_or_create(code=code, defaults={"title": title, "agency": agencies[owner]})[0]
        for code, title, owner in [
            ("SIN-NC-001", "Threats to critical infrastructure", "NCISAAC"),
            ("SIN-NC-004", "Hazards to first responders", "NCISAAC"),
            ("PIR-WAKE-02", "Conditions affecting evacuation routes", "WAKE-EOC"),
        ]
    }
    specs = [
        dict(
            kind=K.SITUATIONAL_AWARENESS,
            title="Tropical Storm Helene remnants: flooding expected along the Neuse River",
            summary="Heavy rain over the Triangle through Thursday; river flooding likely in Wake and Johnston.",
            body="The National Weather Service expects **4 to 6 inches** of rain.\n\n"
            "- Low-water crossings on NC-42 and US-70 are likely to close.\n"
            "- Shelters: Wake County has opened two.",
            tlp=TLP.GREEN,
            audience_jurisdictions=[places["nc"]],
            tags=["flood", "weather"],
            information_needs=[needs["PIR-WAKE-02"]],
            release_reason="Partners across the state prepare for flooding.",
            publish=True,
        ),
        dict(
            kind=K.INTELLIGENCE_BULLETIN,
            title="Copper theft at electrical substations in Wake County",
            summary="Five substations were entered since October; ground wires were cut at three.",
            body="Suspects enter at night, cut fences and remove **copper grounding**. A vehicle seen twice: "
            "white pickup, partial plate ending 4KD.",
            tearline="Several electrical substations in Wake County were broken into and copper was stolen. "
            "Report suspicious activity near substations to law enforcement.",
            tlp=TLP.AMBER,
            caveats=[Caveat.LES],
            audience_jurisdictions=[places["wake"]],
            audience_agencies=[agencies["DEC"]],
            tags=["critical-infrastructure", "theft"],
            information_needs=[needs["SIN-NC-001"]],
            release_reason="Law enforcement and the utility protect the substations; the EOC plans for outages.",
            publish=True,
        ),
        dict(
            kind=K.OFFICER_SAFETY,
            title="Officer safety: armed suspect in Raleigh pursuit",
            summary="A suspect fled a traffic stop and is believed armed.",
            body="Suspect: adult male, 30s. Vehicle: grey sedan. Approach with caution.",
            tlp=TLP.AMBER_STRICT,
            caveats=[Caveat.LES],
            audience_agencies=[agencies["RPD"], agencies["WCSO"]],
            tags=["officer-safety"],
            information_needs=[needs["SIN-NC-004"]],
            release_reason="Officers of the two agencies may meet the suspect.",
            publish=True,
        ),
        dict(
            kind=K.SPECIAL_EVENT,
            title="Special event threat assessment: State Fair",
            summary="No specific threat; crowd safety and weather are the main concerns.",
            body="Draft assessment for the State Fair at the fairgrounds in Raleigh.",
            tlp=TLP.GREEN,
            audience_levels=[Agency.Level.LOCAL, Agency.Level.STATE],
            tags=["special-event"],
            release_reason="Local and state agencies support the event.",
            publish=False,
        ),
    ]
    products = []
    for spec in specs:
        existing = ThreatProduct.objects.filter(title=spec["title"]).first()
        if existing is not None:
            products.append(existing)
            continue
        publish = spec.pop("publish")
        product = create_product(author=people["analyst"], content=ProductContent(**spec))
        submit_for_review(product=product, by=people["analyst"])
        if publish:
            product = approve_product(product=product, reviewer=people["supervisor"])
        products.append(product)
    return products
