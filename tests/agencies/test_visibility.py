"""The visibility policy as a table: markings x audience x person -> none, tearline or full."""

import pytest

from agencies.markings import TLP
from agencies.models import Agency, Role
from agencies.visibility import Access, access_of
from sharing.models import ThreatProduct
from tests.factories import AgencyFactory, UserFactory

NONE, TEAR, FULL = Access.NONE, Access.TEARLINE, Access.FULL


@pytest.fixture
def people(fusion_center, county, other_county, county_eoc):
    """One person for each column of the table."""
    police = AgencyFactory(name="County Police", acronym="CPD", jurisdiction=county)
    city = county.children.create(name="County Seat", kind="city", fips_code="3799999")
    city_fire = AgencyFactory(
        name="City Fire", acronym="CFD", jurisdiction=city, kind=Agency.Kind.FIRE, discipline=Agency.Discipline.FIRE
    )
    utility = AgencyFactory(
        name="Utility",
        acronym="UTIL",
        jurisdiction=other_county,
        level=Agency.Level.PRIVATE_SECTOR,
        kind=Agency.Kind.CRITICAL_INFRASTRUCTURE,
        discipline=Agency.Discipline.CRITICAL_INFRASTRUCTURE,
    )
    outside = AgencyFactory(name="Far Police", acronym="FPD", jurisdiction=other_county)
    dormant = AgencyFactory(name="Dormant", acronym="DORM", jurisdiction=county, is_active=False)
    return {
        "author": UserFactory(agency=fusion_center, roles=[Role.ANALYST], is_law_enforcement=True),
        "center_non_le": UserFactory(agency=fusion_center, roles=[Role.LIAISON_OFFICER]),
        "eoc": UserFactory(agency=county_eoc, roles=[Role.EOC_COORDINATOR]),
        "eoc_le": UserFactory(agency=county_eoc, roles=[Role.EOC_COORDINATOR], is_law_enforcement=True),
        "police": UserFactory(agency=police, roles=[Role.PARTNER], is_law_enforcement=True),
        "city_fire": UserFactory(agency=city_fire, roles=[Role.PARTNER]),
        "utility": UserFactory(agency=utility, roles=[Role.PARTNER]),
        "outside": UserFactory(agency=outside, roles=[Role.PARTNER], is_law_enforcement=True),
        "inactive": UserFactory(agency=police, roles=[Role.PARTNER], is_law_enforcement=True, is_active=False),
        "dormant_agency": UserFactory(agency=dormant, roles=[Role.PARTNER], is_law_enforcement=True),
        "named": UserFactory(agency=outside, roles=[Role.PARTNER]),
    }


def product(people, county_eoc, county, *, tlp, audience, caveats=(), tearline=""):
    item = ThreatProduct.objects.create(
        kind=ThreatProduct.Kind.INTELLIGENCE_BULLETIN,
        title="Table row",
        tlp=tlp,
        caveats=list(caveats),
        tearline=tearline,
        state=ThreatProduct.State.PUBLISHED,
        number=f"SFC-2026-{ThreatProduct.objects.count() + 1:04d}",
        author=people["author"],
        originating_agency=people["author"].agency,
    )
    if "eoc" in audience:
        item.audience_agencies.add(county_eoc)
    if "county" in audience:
        item.audience_jurisdictions.add(county)
    if "private" in audience:
        item.audience_levels = [Agency.Level.PRIVATE_SECTOR]
        item.save()
    if "fire" in audience:
        item.audience_disciplines = [Agency.Discipline.FIRE]
        item.save()
    if "named" in audience:
        item.audience_people.add(people["named"])
    return item


COLUMNS = [
    "author",
    "center_non_le",
    "eoc",
    "eoc_le",
    "police",
    "city_fire",
    "utility",
    "outside",
    "inactive",
    "dormant_agency",
    "named",
]

# (tlp, audience, caveats, tearline) -> access per column, in COLUMNS order.
TABLE = [
    (TLP.RED, {"named"}, (), "", [FULL, FULL, NONE, NONE, NONE, NONE, NONE, NONE, NONE, NONE, FULL]),
    (TLP.AMBER_STRICT, {"eoc"}, (), "", [FULL, FULL, FULL, FULL, NONE, NONE, NONE, NONE, NONE, NONE, NONE]),
    # AMBER+STRICT does not widen to the jurisdiction: only agencies named.
    (TLP.AMBER_STRICT, {"county"}, (), "", [FULL, FULL, NONE, NONE, NONE, NONE, NONE, NONE, NONE, NONE, NONE]),
    # AMBER to a county reaches agencies in it and in the cities under it.
    (TLP.AMBER, {"county"}, (), "", [FULL, FULL, FULL, FULL, FULL, FULL, NONE, NONE, NONE, NONE, NONE]),
    (TLP.AMBER, {"private"}, (), "", [FULL, FULL, NONE, NONE, NONE, NONE, FULL, NONE, NONE, NONE, NONE]),
    (TLP.AMBER, {"fire"}, (), "", [FULL, FULL, NONE, NONE, NONE, FULL, NONE, NONE, NONE, NONE, NONE]),
    (TLP.AMBER, {"named"}, (), "", [FULL, FULL, NONE, NONE, NONE, NONE, NONE, NONE, NONE, NONE, FULL]),
    # GREEN reaches every active partner once it has any audience...
    (TLP.GREEN, {"eoc"}, (), "", [FULL, FULL, FULL, FULL, FULL, FULL, FULL, FULL, NONE, NONE, FULL]),
    # ...but an empty audience reaches nobody beyond the originator, never everyone.
    (TLP.GREEN, set(), (), "", [FULL, FULL, NONE, NONE, NONE, NONE, NONE, NONE, NONE, NONE, NONE]),
    (TLP.CLEAR, set(), (), "", [FULL, FULL, NONE, NONE, NONE, NONE, NONE, NONE, NONE, NONE, NONE]),
    (TLP.AMBER, set(), (), "", [FULL, FULL, NONE, NONE, NONE, NONE, NONE, NONE, NONE, NONE, NONE]),
    # LES: full text for law enforcement, the tearline for the others...
    (
        TLP.AMBER,
        {"county"},
        ("LES",),
        "Tearline text",
        [FULL, TEAR, TEAR, FULL, FULL, TEAR, NONE, NONE, NONE, NONE, NONE],
    ),
    # ...and without a tearline, nothing for them.
    (TLP.AMBER, {"county"}, ("LES",), "", [FULL, NONE, NONE, FULL, FULL, NONE, NONE, NONE, NONE, NONE, NONE]),
    (TLP.AMBER, {"county"}, ("FOUO",), "", [FULL, FULL, FULL, FULL, FULL, FULL, NONE, NONE, NONE, NONE, NONE]),
]


@pytest.mark.parametrize(("tlp", "audience", "caveats", "tearline", "expected"), TABLE)
def test_visibility_table(people, county_eoc, county, tlp, audience, caveats, tearline, expected):
    item = product(people, county_eoc, county, tlp=tlp, audience=audience, caveats=caveats, tearline=tearline)
    got = {column: access_of(item, people[column]) for column in COLUMNS}
    assert got == dict(zip(COLUMNS, expected, strict=True))


def test_list_and_detail_agree(people, county_eoc, county):
    for tlp, audience, caveats, tearline, _ in TABLE:
        product(people, county_eoc, county, tlp=tlp, audience=audience, caveats=caveats, tearline=tearline)
    for person in people.values():
        listed = set(ThreatProduct.objects.visible_to(person).values_list("pk", flat=True))
        opened = {
            pk
            for pk in ThreatProduct.objects.values_list("pk", flat=True)
            if ThreatProduct.objects.visible_to(person).filter(pk=pk).exists()
        }
        assert listed == opened


def test_drafts_are_seen_only_by_author_and_center_workers(people, analyst, supervisor, county_eoc, coordinator):
    draft = ThreatProduct.objects.create(
        kind=ThreatProduct.Kind.BOLO,
        title="Draft",
        tlp=TLP.GREEN,
        author=analyst,
        originating_agency=analyst.agency,
    )
    draft.audience_agencies.add(county_eoc)
    assert access_of(draft, analyst) == FULL
    assert access_of(draft, supervisor) == FULL
    assert access_of(draft, people["center_non_le"]) == NONE  # a liaison officer, not a writer
    assert access_of(draft, coordinator) == NONE


def test_anonymous_sees_nothing(people, county_eoc, county):
    from django.contrib.auth.models import AnonymousUser

    product(people, county_eoc, county, tlp=TLP.CLEAR, audience={"eoc"})
    assert not ThreatProduct.objects.visible_to(AnonymousUser()).exists()
    assert not ThreatProduct.objects.visible_to(None).exists()


@pytest.mark.parametrize(("tlp", "audience", "caveats", "tearline", "expected"), TABLE)
def test_recipients_agree_with_visibility(people, county_eoc, county, tlp, audience, caveats, tearline, expected):
    """Dissemination reaches only people who may see the item, with the same access; for every level
    but GREEN and CLEAR (which every partner may look up) they are exactly those who may see it."""
    from agencies.visibility import recipients_of

    item = product(people, county_eoc, county, tlp=tlp, audience=audience, caveats=caveats, tearline=tearline)
    recipients = {p.pk: (FULL if p.full_access else TEAR) for p in recipients_of(item)}
    originators = {p.pk for p in people.values() if p.agency_id == item.originating_agency_id}
    visible = {p.pk: access_of(item, p) for p in people.values() if p.pk not in originators}
    visible = {pk: access for pk, access in visible.items() if access != NONE}
    for pk, access in recipients.items():
        assert visible.get(pk) == access
    if tlp not in (TLP.GREEN, TLP.CLEAR):
        assert recipients == visible
    elif audience:
        assert people["eoc"].pk in recipients
        assert people["outside"].pk not in recipients  # may look it up, but is not sent it
    else:
        assert recipients == {}
