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
from django.db.models import Exists, OuterRef, Q, Subquery
from django.db.models.lookups import IsNull

from .markings import TLP, Caveat

if TYPE_CHECKING:
    from .models import User


class Access(Enum):
    NONE = "none"
    TEARLINE = "tearline"
    FULL = "full"


def _audience_links(model, field_name: str, **match) -> models.QuerySet:
    """The audience links in `field_name` of a row of `model` (on the through table) that match `match`."""
    field = model._meta.get_field(field_name)
    return field.remote_field.through.objects.filter(**{f"{field.m2m_field_name()}_id": OuterRef("pk")}, **match)


def _audience_exists(model, field_name: str, **match) -> Q:
    """Whether a row of `model` has an audience link in `field_name` matching `match`."""
    return Q(Exists(_audience_links(model, field_name, **match)))


def _has_links(model, field_name: str) -> Q:
    """Whether a row of `model` has any audience link in `field_name`: one probe of the link table's index
    per row asked, never a scan of the whole table (which PostgreSQL may choose for an EXISTS to build a
    hash of every link ever made, however few rows the query then reads)."""
    first = _audience_links(model, field_name).order_by().values("pk")[:1]
    return Q(IsNull(Subquery(first), False))


def _has_audience(model) -> Q:
    # The cheap tests of the row itself first: PostgreSQL tries the alternatives of an OR in order.
    return (
        ~Q(audience_levels=[])
        | ~Q(audience_disciplines=[])
        | _has_links(model, "audience_agencies")
        | _has_links(model, "audience_jurisdictions")
        | _has_links(model, "audience_people")
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
    """(may see at least the tearline, reads the full text) as conditions on `model`'s rows; the second
    holds only for rows that pass the first (it is what `visible_to` annotates them with).

    Built once per person object (a request's user) and what they depend on, however many reads of
    the request ask.
    """
    key = (model, *policy_key(person))
    built = person.__dict__.setdefault("_marking_conditions", {})
    if key not in built:
        built[key] = _marking_conditions(model, person)
    return built[key]


def policy_key(person: User) -> tuple:
    """Everything of the person that the conditions of `marking_conditions` are built from: two people
    with the same key get the same conditions. The check made before any condition
    (`person_may_see_anything`) is not in it, nor what a model's own rules add (a product's read by
    role, for one): a read prepared once per key (agencies.prepared) adds those inputs to its key."""
    agency = person.agency
    jurisdiction_path = agency.jurisdiction.path if agency.jurisdiction_id else ""
    return (person.pk, person.is_law_enforcement, agency.pk, agency.level, agency.discipline, jurisdiction_path)


def _marking_conditions(model, person: User) -> tuple[Q, Q]:
    """The rules of the module's docstring, grouped by what lets a person in, so that each audience table
    is asked at most once per row: the originating agency; the agency's level, discipline or
    jurisdiction (TLP:AMBER); any audience at all (TLP:GREEN and CLEAR); the agency named (every TLP
    but RED); the person named (every TLP). Whoever may see an item reads it in full unless it is LES
    and they have no law-enforcement status."""
    agency = person.agency
    by_agency = Q(audience_levels__contains=[agency.level]) | Q(audience_disciplines__contains=[agency.discipline])
    if agency.jurisdiction_id:
        ancestors = agency.jurisdiction.ancestor_ids
        by_agency |= _audience_exists(model, "audience_jurisdictions", jurisdiction_id__in=ancestors)
    # The tests of the row itself before those of the audience tables: PostgreSQL tries them in order.
    reaches = (
        Q(originating_agency_id=agency.pk)
        | (Q(tlp=TLP.AMBER) & by_agency)
        | (Q(tlp__in=[TLP.GREEN, TLP.CLEAR]) & _has_audience(model))
        | (~Q(tlp=TLP.RED) & _audience_exists(model, "audience_agencies", agency_id=agency.pk))
        | _audience_exists(model, "audience_people", user_id=person.pk)
    )
    if person.is_law_enforcement:
        return reaches, Q(pk__isnull=False)
    les = Q(caveats__contains=[Caveat.LES])
    return reaches & (~les | ~Q(tearline="")), ~les


class MarkedQuerySet(models.QuerySet):
    """Reads of marked items. Models add their own lifecycle rules by extending `visibility_conditions`."""

    def visibility_conditions(self, person: User) -> tuple[Q, Q]:
        """(may see, reads in full — of a row that may be seen); see `marking_conditions`."""
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
