"""Who a product's audience would reach, before it is saved: the audience preview of the product form.

It counts with the semantics of `agencies.visibility` (a test holds the two together): active people
of active agencies outside the originating one;
TLP:RED the named people; TLP:AMBER+STRICT the named agencies and people; TLP:AMBER the agencies named or
matched by level, discipline or jurisdiction (with the jurisdictions under it) and the named people;
TLP:GREEN and TLP:CLEAR everyone, if the audience names anyone at all. Under LES, people without
law-enforcement status get the tearline if there is one, and nothing otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count, Q

from agencies.markings import TLP, Caveat
from agencies.models import Agency, User

from .services.products import ProductContent


@dataclass(frozen=True)
class AudienceReach:
    people: int
    agencies: int
    tearline_only: int


def _names_anyone(content: ProductContent) -> bool:
    return bool(
        content.audience_agencies
        or content.audience_levels
        or content.audience_disciplines
        or content.audience_jurisdictions
        or content.audience_people
    )


def _reach(content: ProductContent) -> Q | None:
    """People the markings and audience reach, as a condition on User; None for nobody."""
    named_people = Q(pk__in=[person.pk for person in content.audience_people])
    named_agencies = Q(agency__in=[agency.pk for agency in content.audience_agencies])
    if content.tlp == TLP.RED:
        return named_people
    if content.tlp == TLP.AMBER_STRICT:
        return named_agencies | named_people
    if content.tlp == TLP.AMBER:
        in_audience = (
            named_agencies
            | named_people
            | Q(agency__level__in=content.audience_levels)
            | Q(agency__discipline__in=content.audience_disciplines)
        )
        for jurisdiction in content.audience_jurisdictions:
            in_audience |= Q(agency__jurisdiction__path__startswith=jurisdiction.path)
        return in_audience
    if content.tlp in (TLP.GREEN, TLP.CLEAR):
        return Q() if _names_anyone(content) else None
    return None


def audience_reach(*, content: ProductContent, originating_agency: Agency) -> AudienceReach:
    """How many people in how many agencies outside the originator would receive the product once
    published, and how many of them would read only its tearline."""
    reach = _reach(content)
    if reach is None:
        return AudienceReach(people=0, agencies=0, tearline_only=0)
    people = (
        User.objects.filter(is_active=True, agency__is_active=True).exclude(agency=originating_agency).filter(reach)
    )
    is_les = Caveat.LES in content.caveats
    if is_les and not content.tearline.strip():
        people = people.filter(is_law_enforcement=True)
    counts = people.aggregate(
        people=Count("pk"),
        agencies=Count("agency", distinct=True),
        without_status=Count("pk", filter=Q(is_law_enforcement=False)),
    )
    return AudienceReach(
        people=counts["people"],
        agencies=counts["agencies"],
        tearline_only=counts["without_status"] if is_les else 0,
    )
