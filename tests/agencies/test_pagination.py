"""Pages of long lists: counted only up to a limit, and paged on past it without a count."""

import pytest
from django.core.paginator import EmptyPage
from django.db import connection
from django.test.utils import CaptureQueriesContext

from agencies.models import Jurisdiction
from agencies.pagination import CappedPaginator, capped_count
from tests.factories import JurisdictionFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def places():
    JurisdictionFactory.create_batch(7)
    return Jurisdiction.objects.order_by("pk")


def test_a_short_list_is_counted_exactly(places):
    assert capped_count(places, limit=10) == (7, True)
    assert capped_count(places, limit=7) == (7, True)


def test_a_long_list_is_counted_up_to_the_limit_in_one_query_that_stops_there(places):
    with CaptureQueriesContext(connection) as queries:
        assert capped_count(places, limit=3) == (3, False)
    assert len(queries) == 1
    assert "LIMIT 4" in queries[0]["sql"]


def test_pages_go_on_past_the_count_limit(places):
    paginator = CappedPaginator(places, 2, count_limit=3)
    first = paginator.page(1)
    assert [p.pk for p in first] == [p.pk for p in places[:2]]
    assert (paginator.count_label, paginator.num_pages, first.has_next()) == ("more than 3", None, True)
    last = CappedPaginator(places, 2, count_limit=3).page(4)
    assert [p.pk for p in last] == [places[6].pk]
    assert not last.has_next()
    assert last.has_previous()


def test_the_page_that_shows_the_end_knows_the_count_without_counting(places):
    paginator = CappedPaginator(places, 5, count_limit=3)
    with CaptureQueriesContext(connection) as queries:
        page = paginator.page(2)
        assert (paginator.count, paginator.count_is_exact, paginator.num_pages) == (7, True, 2)
    assert len(queries) == 1
    assert (page.start_index(), page.end_index()) == (6, 7)


def test_a_page_past_the_end_is_refused_and_get_page_falls_back(places):
    with pytest.raises(EmptyPage):
        CappedPaginator(places, 5).page(3)
    assert CappedPaginator(places, 5).get_page(99).number == 2
    assert CappedPaginator(places, 2, count_limit=3).get_page(99).number == 1
    assert CappedPaginator(places, 2).get_page("x").number == 1
    with pytest.raises(EmptyPage):
        CappedPaginator(places, 5).page(21745487693768081408)


def test_a_list_ends_at_max_rows(places):
    paginator = CappedPaginator(places, 2, max_rows=5)
    third = paginator.page(3)
    assert [p.pk for p in third] == [places[4].pk]
    assert not third.has_next()
    assert (paginator.count, paginator.count_is_exact, paginator.count_label) == (5, False, "more than 5")
    with pytest.raises(EmptyPage):
        paginator.page(4)


def test_a_list_of_exactly_max_rows_is_counted_exactly(places):
    paginator = CappedPaginator(places, 2, max_rows=7)
    paginator.page(1)
    assert (paginator.count, paginator.count_is_exact) == (7, True)
