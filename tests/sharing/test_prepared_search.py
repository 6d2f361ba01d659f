"""Searches read through prepared queries (sharing.selectors.product_search): the same ranked rows as the
search's own queryset (product_list) for every reader, page and filter, with the words and candidates of
each search, and never a policy kept past a change of the person."""

from __future__ import annotations

import pytest

from agencies.markings import TLP, Caveat
from agencies.models import User
from sharing import selectors
from sharing.selectors import ProductFilters

pytestmark = pytest.mark.django_db


def fresh(person: User) -> User:
    return User.objects.select_related("agency__jurisdiction").get(pk=person.pk)


def shown(rows) -> list[tuple]:
    return [(p.pk, p.full_access, round(p.rank, 6), p.snippet) for p in rows]


@pytest.fixture
def library(analyst, publish, county_eoc, fusion_center):
    """Products about pipelines and levees, some LES with a tearline, some for the center alone."""
    for n in range(9):
        markings = [
            {"tlp": TLP.GREEN, "audience_agencies": [county_eoc, fusion_center]},
            {"tlp": TLP.AMBER, "caveats": [Caveat.LES], "tearline": f"Pipeline tearline {n}",
             "audience_agencies": [county_eoc, fusion_center]},
            {"tlp": TLP.AMBER_STRICT, "audience_agencies": [fusion_center]},
        ][n % 3]  # fmt: skip
        topic = "pipeline valve" if n % 2 else "levee breach"
        publish(analyst, title=f"Bulletin {n} on a {topic}", body=f"The {topic} was reported.", **markings)


@pytest.mark.parametrize("words", ["pipeline", "levee breach", "pipeline OR levee", "nothing-matches"])
def test_a_prepared_search_reads_what_the_searchs_queryset_reads(library, coordinator, analyst, outsider, words):
    for person in (coordinator, analyst, outsider):
        reader = fresh(person)
        filters = ProductFilters(q=words)
        expected = list(selectors.product_list(person=reader, filters=filters))
        search = selectors.product_search(person=reader, filters=filters)

        assert len(search) == len(expected)
        assert shown(search.rows(0, 50)) == shown(expected)
        assert shown(search.rows(1, 3)) == shown(expected[1:3])


def test_the_filters_and_read_marks_are_part_of_what_is_prepared(library, coordinator):
    reader = fresh(coordinator)
    green = selectors.product_search(person=reader, filters=ProductFilters(q="pipeline OR levee", tlp=TLP.GREEN))
    everything = selectors.product_search(person=reader, filters=ProductFilters(q="pipeline OR levee"), read_marks=True)

    assert {p.tlp for p in green.rows(0, 50)} == {TLP.GREEN}
    assert len(everything) > len(green)
    assert all(p.is_read is False for p in everything.rows(0, 50))


def test_a_change_of_law_enforcement_status_shows_at_the_next_search(library, coordinator):
    filters = ProductFilters(q="pipeline")
    before = {
        p.pk: p.full_access for p in selectors.product_search(person=fresh(coordinator), filters=filters).rows(0, 50)
    }
    User.objects.filter(pk=coordinator.pk).update(is_law_enforcement=True)
    after = {
        p.pk: p.full_access for p in selectors.product_search(person=fresh(coordinator), filters=filters).rows(0, 50)
    }

    assert False in before.values()
    assert set(after.values()) == {True}
