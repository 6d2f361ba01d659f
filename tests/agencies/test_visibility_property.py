"""The visibility policy against an independent oracle, on random small worlds (hypothesis).

The oracle below restates the rules of issue 3 in plain Python over plain data, without importing
the policy: whatever the policy's QuerySet answers for a (person, product) pair must be what the
oracle answers, for every pair of every generated world.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import pytest
from django.contrib.auth.models import Group
from django.db import transaction
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from agencies.models import Agency, Role, User, role_group
from agencies.visibility import Access, access_of
from sharing.models import ThreatProduct
from tests.factories import JurisdictionFactory

NONE, TEAR, FULL = Access.NONE, Access.TEARLINE, Access.FULL
S = ThreatProduct.State

# A fixed tree: the state (0) > two counties (1, 2) > one city under each (3 under 1, 4 under 2).
JURISDICTION_PARENTS = {0: None, 1: 0, 2: 0, 3: 1, 4: 2}
# Agencies sit mostly low in the tree and audiences name mostly high, as in life: so that reaching
# an agency through a jurisdiction above its own is tried often.
AGENCY_JURISDICTIONS = [0, 1, 2, 3, 4, 3, 4]
AUDIENCE_JURISDICTIONS = [0, 1, 2, 3, 4, 0, 1, 2]

TLPS = ["clear", "green", "amber", "amber", "amber_strict", "red"]  # AMBER has the most ways in: twice
CAVEATS = ["LES", "FOUO"]
STATES = [S.PUBLISHED, S.RETRACTED, S.SUPERSEDED, S.DRAFT, S.IN_REVIEW]
# Few levels and disciplines, so that agencies and audiences often meet on each of them.
LEVELS = [Agency.Level.STATE, Agency.Level.LOCAL, Agency.Level.PRIVATE_SECTOR]
DISCIPLINES = [Agency.Discipline.LAW_ENFORCEMENT, Agency.Discipline.FIRE, Agency.Discipline.EMERGENCY_MANAGEMENT]
RUNS = itertools.count()  # unique names across examples
ROLES = [Role.ANALYST, Role.SUPERVISOR, Role.EOC_COORDINATOR, Role.LIAISON_OFFICER, Role.PARTNER, Role.AGENCY_ADMIN]


@dataclass
class AgencySpec:
    level: str
    discipline: str
    kind: str
    jurisdiction: int
    is_active: bool


@dataclass
class PersonSpec:
    agency: int
    is_law_enforcement: bool
    is_active: bool
    roles: frozenset[str]


@dataclass
class ProductSpec:
    tlp: str
    caveats: list[str]
    has_tearline: bool
    origin: int
    author: int
    state: str
    audience_agencies: set[int] = field(default_factory=set)
    audience_levels: set[str] = field(default_factory=set)
    audience_disciplines: set[str] = field(default_factory=set)
    audience_jurisdictions: set[int] = field(default_factory=set)
    audience_people: set[int] = field(default_factory=set)


@dataclass
class World:
    agencies: list[AgencySpec]
    people: list[PersonSpec]
    products: list[ProductSpec]


def subset(values, max_size=2):
    return st.sets(st.sampled_from(values), max_size=max_size)


@st.composite
def audience_part(draw, values, max_size=1) -> set:
    """Empty three times in four: each way into an audience is then often the only one, and a
    quarter of the products have no audience at all (where peer systems have leaked)."""
    if draw(st.integers(0, 3)):
        return set()
    return draw(st.sets(st.sampled_from(values), min_size=1, max_size=max_size))


def mostly_true():
    return st.integers(0, 4).map(bool)


def person_spec(agency: int):
    return st.builds(
        PersonSpec,
        agency=st.just(agency),
        is_law_enforcement=st.booleans(),
        is_active=mostly_true(),
        roles=st.frozensets(st.sampled_from(ROLES), max_size=2),
    )


@st.composite
def worlds(draw) -> World:
    agency = st.builds(
        AgencySpec,
        level=st.sampled_from(LEVELS),
        discipline=st.sampled_from(DISCIPLINES),
        kind=st.sampled_from(Agency.Kind.values),
        jurisdiction=st.sampled_from(AGENCY_JURISDICTIONS),
        is_active=mostly_true(),
    )
    agencies = draw(st.lists(agency, min_size=3, max_size=6))
    agencies[0].kind = Agency.Kind.FUSION_CENTER  # at least one center to originate products
    centers = [i for i, a in enumerate(agencies) if a.kind == Agency.Kind.FUSION_CENTER]
    people = draw(
        st.lists(st.integers(0, len(agencies) - 1).flatmap(person_spec), min_size=4, max_size=8),
    )
    products = []
    for _ in range(draw(st.integers(4, 10))):
        origin = draw(st.sampled_from(centers))
        # Authors write at their own center (the services see to it); add one if the center has nobody.
        colleagues = [i for i, p in enumerate(people) if p.agency == origin]
        if colleagues and draw(st.integers(0, 3)):
            author = draw(st.sampled_from(colleagues))
        else:
            people.append(draw(person_spec(origin)))
            author = len(people) - 1
        product = ProductSpec(
            tlp=draw(st.sampled_from(TLPS)),
            caveats=sorted(draw(subset(CAVEATS))),
            has_tearline=draw(st.booleans()),
            origin=origin,
            author=author,
            state=draw(st.sampled_from(STATES)),
        )
        product.audience_agencies = draw(audience_part(range(len(agencies)), max_size=2))
        product.audience_levels = draw(audience_part(LEVELS))
        product.audience_disciplines = draw(audience_part(DISCIPLINES))
        product.audience_jurisdictions = draw(audience_part(AUDIENCE_JURISDICTIONS))
        product.audience_people = draw(audience_part(range(len(people)), max_size=3))
        products.append(product)
    return World(agencies=agencies, people=people, products=products)


# --- The oracle: the rules of issue 3, stated again over plain data --------------------------


def ancestors_and_self(jurisdiction: int) -> set[int]:
    found = set()
    while jurisdiction is not None:
        found.add(jurisdiction)
        jurisdiction = JURISDICTION_PARENTS[jurisdiction]
    return found


def has_audience(product: ProductSpec) -> bool:
    return bool(
        product.audience_agencies
        or product.audience_levels
        or product.audience_disciplines
        or product.audience_jurisdictions
        or product.audience_people
    )


def reaches_by_tlp(world: World, person_index: int, product: ProductSpec) -> bool:
    person = world.people[person_index]
    agency = world.agencies[person.agency]
    named = person_index in product.audience_people
    agency_named = person.agency in product.audience_agencies
    if product.tlp == "red":
        return named
    if product.tlp == "amber_strict":
        return named or agency_named
    if product.tlp == "amber":
        return (
            named
            or agency_named
            or agency.level in product.audience_levels
            or agency.discipline in product.audience_disciplines
            or bool(ancestors_and_self(agency.jurisdiction) & product.audience_jurisdictions)
        )
    # GREEN and CLEAR: every active partner, but an empty audience reaches nobody.
    return has_audience(product)


def oracle(world: World, person_index: int, product: ProductSpec) -> Access:
    person = world.people[person_index]
    if not person.is_active or not world.agencies[person.agency].is_active:
        return NONE
    is_author = person_index == product.author
    if product.state in (S.DRAFT, S.IN_REVIEW):
        center_worker = person.agency == product.origin and bool({Role.ANALYST, Role.SUPERVISOR} & person.roles)
        return FULL if is_author or center_worker else NONE
    if is_author:
        return FULL
    if not (person.agency == product.origin or reaches_by_tlp(world, person_index, product)):
        return NONE
    if "LES" in product.caveats and not person.is_law_enforcement:
        return TEAR if product.has_tearline else NONE
    return FULL


# --- The world in the database ---------------------------------------------------------------


def build(world: World, jurisdictions, roles: dict[str, Group]):
    """The world as rows, with a few bulk inserts: an example costs milliseconds, not seconds."""
    run = next(RUNS)
    agencies = Agency.objects.bulk_create(
        Agency(
            name=f"Agency {run}-{i}", acronym=f"W{run}-{i}", level=a.level, discipline=a.discipline, kind=a.kind,
            jurisdiction=jurisdictions[a.jurisdiction], is_active=a.is_active,
        )
        for i, a in enumerate(world.agencies)
    )  # fmt: skip
    people = User.objects.bulk_create(
        User(
            username=f"person-{run}-{i}", agency=agencies[p.agency], is_law_enforcement=p.is_law_enforcement,
            is_active=p.is_active,
        )
        for i, p in enumerate(world.people)
    )  # fmt: skip
    User.groups.through.objects.bulk_create(
        User.groups.through(user=person, group=roles[role])
        for person, spec in zip(people, world.people, strict=True)
        for role in spec.roles
    )
    products = ThreatProduct.objects.bulk_create(
        ThreatProduct(
            kind=ThreatProduct.Kind.INTELLIGENCE_BULLETIN,
            title=f"Product {number}",
            tlp=spec.tlp,
            caveats=spec.caveats,
            tearline="The releasable facts." if spec.has_tearline else "",
            state=spec.state,
            number="" if spec.state in (S.DRAFT, S.IN_REVIEW) else f"W{run}-2026-{number:04d}",
            author=people[spec.author],
            originating_agency=agencies[spec.origin],
            audience_levels=sorted(spec.audience_levels),
            audience_disciplines=sorted(spec.audience_disciplines),
        )
        for number, spec in enumerate(world.products, start=1)
    )
    for name, rows in (
        ("audience_agencies", agencies),
        ("audience_jurisdictions", jurisdictions),
        ("audience_people", people),
    ):
        field = ThreatProduct._meta.get_field(name)
        through = field.remote_field.through
        through.objects.bulk_create(
            through(**{field.m2m_field_name(): product, field.m2m_reverse_field_name(): rows[i]})
            for product, spec in zip(products, world.products, strict=True)
            for i in getattr(spec, name)
        )
    return people, products


@pytest.fixture
def roles(db) -> dict[str, Group]:
    return {role: role_group(role) for role in ROLES}


@pytest.fixture
def jurisdictions(db):
    built = {}
    for index, parent in JURISDICTION_PARENTS.items():
        built[index] = JurisdictionFactory(parent=built[parent] if parent is not None else None)
    return built


@settings(
    max_examples=60,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(world=worlds())
# Found by this test: an author without law-enforcement status could not open their own released
# LES product when it had no tearline (and read it in full when it had one).
@example(
    world=World(
        agencies=[
            AgencySpec(Agency.Level.STATE, Agency.Discipline.HOMELAND_SECURITY, Agency.Kind.FUSION_CENTER, 0, True)
        ],
        people=[PersonSpec(agency=0, is_law_enforcement=False, is_active=True, roles=frozenset({Role.ANALYST}))],
        products=[ProductSpec(tlp="amber", caveats=["LES"], has_tearline=False, origin=0, author=0, state=S.PUBLISHED)],
    )
)
def test_policy_agrees_with_the_oracle_for_every_person_and_product(jurisdictions, roles, world):
    with transaction.atomic():
        people, products = build(world, jurisdictions, roles)
        pairs = list(zip(world.products, products, strict=True))
        for person_index, person in enumerate(people):
            # The list: the QuerySet and its `full_access`, for every product of the world.
            listed = {p.pk: access_of(p, person) for p in ThreatProduct.objects.visible_to(person)}
            for spec, product in pairs:
                assert listed.get(product.pk, NONE) == oracle(world, person_index, spec), (person_index, spec)
            # The detail: `access_of` on an item not fetched through the policy asks it again, one
            # query a pair; one product per person (in turn) keeps an example fast.
            spec, product = pairs[person_index % len(pairs)]
            assert access_of(product, person) == oracle(world, person_index, spec), ("detail", person_index, spec)
        transaction.set_rollback(True)
