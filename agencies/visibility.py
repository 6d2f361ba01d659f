"""The one visibility policy: who may see a marked item, and whether in full or only its tearline.

Every list, detail page, search, export, feed, API endpoint and dissemination asks here, through
`MarkedQuerySet.visible_to(person)`. It denies by default:

- nobody outside an active agency, and no inactive person, sees anything;
- the originating agency's people always see their own items;
- TLP:RED: the named people only;
- TLP:AMBER+STRICT: people of the agencies named in the audience, and named people;
- TLP:AMBER: people of agencies in the audience (named, or by level, discipline or jurisdiction,
  a jurisdiction including every jurisdiction under it), and named people;
- TLP:GREEN and TLP:CLEAR: every active partner — but an item whose audience is empty reaches
  nobody beyond its originator, never everyone;
- LES: only people with law-enforcement status read the full text; the others who pass the rules
  above see the tearline if there is one, else nothing. The author always reads what they wrote.
"""

from __future__ import annotations

from enum import Enum
from typing import TYPE_CHECKING

from django.db import models
from django.db.models import Exists, OuterRef, Q

from .markings import TLP, Caveat

if TYPE_CHECKING:
    from .models import User


class Access(Enum):
    NONE = "none"
    TEARLINE = "tearline"
    FULL = "full"


def _audience_exists(model, field_name: str, **match) -> Q:
    """Whether a row of `model` has an audience link in `field_name` matching `match` (on the through table)."""
    field = model._meta.get_field(field_name)
    links = field.remote_field.through.objects.filter(**{f"{field.m2m_field_name()}_id": OuterRef("pk")}, **match)
    return Q(Exists(links))


def _has_audience(model) -> Q:
    return (
        _audience_exists(model, "audience_agencies")
        | _audience_exists(model, "audience_jurisdictions")
        | _audience_exists(model, "audience_people")
        | ~Q(audience_levels=[])
        | ~Q(audience_disciplines=[])
    )


def person_may_see_anything(person: User | None) -> bool:
    return bool(
        person is not None
        and person.is_authenticated
        and person.is_active
        and person.agency_id is not None
        and person.agency.is_active
    )


def marking_conditions(model, person: User) -> tuple[Q, Q]:
    """(may see at least the tearline, may read the full text) as conditions on `model`'s rows."""
    agency = person.agency
    named = _audience_exists(model, "audience_people", user_id=person.pk)
    agency_named = _audience_exists(model, "audience_agencies", agency_id=agency.pk)
    jurisdiction_ids = agency.jurisdiction.ancestor_ids if agency.jurisdiction_id else []
    in_audience = (
        agency_named
        | named
        | Q(audience_levels__contains=[agency.level])
        | Q(audience_disciplines__contains=[agency.discipline])
        | _audience_exists(model, "audience_jurisdictions", jurisdiction_id__in=jurisdiction_ids)
    )
    by_tlp = (
        Q(tlp=TLP.RED) & named
        | Q(tlp=TLP.AMBER_STRICT) & (agency_named | named)
        | Q(tlp=TLP.AMBER) & in_audience
        | Q(tlp__in=[TLP.GREEN, TLP.CLEAR]) & _has_audience(model)
    )
    own = Q(originating_agency_id=agency.pk)
    les = Q(caveats__contains=[Caveat.LES])
    has_tearline = ~Q(tearline="")
    reaches = own | by_tlp
    if person.is_law_enforcement:
        return reaches, reaches
    return reaches & (~les | has_tearline), reaches & ~les


class MarkedQuerySet(models.QuerySet):
    """Reads of marked items. Models add their own lifecycle rules by extending `visibility_conditions`."""

    def visibility_conditions(self, person: User) -> tuple[Q, Q]:
        return marking_conditions(self.model, person)

    def visible_to(self, person: User | None):
        """Items the person may see at all (in full or as tearline), annotated with `full_access`."""
        if not person_may_see_anything(person):
            return self.none()
        may_see, full = self.visibility_conditions(person)
        return self.filter(may_see).annotate(
            full_access=models.ExpressionWrapper(full, output_field=models.BooleanField())
        )


def access_of(item, person: User | None) -> Access:
    """How a person may read one item already fetched through `visible_to` (or NONE)."""
    full = getattr(item, "full_access", None)
    if full is None:
        fetched = type(item)._default_manager.visible_to(person).filter(pk=item.pk).first()
        if fetched is None:
            return Access.NONE
        full = fetched.full_access
    return Access.FULL if full else Access.TEARLINE


def recipients_of(item) -> models.QuerySet:
    """The people an item is disseminated to: its audience (never everyone, whatever the TLP), as the
    policy above lets them see it, outside the originating agency. Annotated with `full_access`;
    people who may read only the tearline get it, and without a tearline they are not recipients.

    This is the same rule as `marking_conditions`, seen from the item's side, so that a fan-out
    is one query over people instead of one visibility check per person.
    """
    from .models import User

    people = User.objects.filter(is_active=True, agency__is_active=True).exclude(agency_id=item.originating_agency_id)
    named = Q(pk__in=[p.pk for p in item.audience_people.all()])
    agency_named = Q(agency_id__in=[a.pk for a in item.audience_agencies.all()])
    in_audience = agency_named | named
    if item.audience_levels:
        in_audience |= Q(agency__level__in=item.audience_levels)
    if item.audience_disciplines:
        in_audience |= Q(agency__discipline__in=item.audience_disciplines)
    for jurisdiction in item.audience_jurisdictions.all():
        in_audience |= Q(agency__jurisdiction__path__startswith=jurisdiction.path)
    by_tlp = {TLP.RED: named, TLP.AMBER_STRICT: agency_named | named}.get(item.tlp, in_audience)
    people = people.filter(by_tlp)
    full = Q(pk__isnull=False)
    if Caveat.LES in item.caveats:
        full = Q(is_law_enforcement=True)
        if item.tearline == "":
            people = people.filter(full)
    return people.annotate(full_access=models.ExpressionWrapper(full, output_field=models.BooleanField()))
