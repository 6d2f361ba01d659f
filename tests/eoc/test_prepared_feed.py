"""Feed pages read through prepared queries (eoc.selectors.read_feed_page, agencies.prepared): the same
rows as the feed's own queryset, for every reader and page shape, and never a policy kept past a change
of the person or their agency."""

from __future__ import annotations

import pytest
from django.db import connection

from agencies.markings import TLP, Caveat
from agencies.models import Agency, User
from agencies.prepared import Placeholder, PreparedReads
from eoc import selectors
from eoc.models import FeedEntry, Incident

pytestmark = pytest.mark.django_db


def fresh(person: User) -> User:
    """The person as the next request loads them (a new object, nothing kept from the last one)."""
    return User.objects.select_related("agency__jurisdiction").get(pk=person.pk)


def shown(page: selectors.FeedPage) -> list[tuple[int, bool]]:
    return [(entry.pk, entry.full_access) for entry in page.entries]


@pytest.fixture
def feed(flood, post, coordinator, county_eoc, fusion_center):
    """Twelve entries of mixed markings: some for everyone in the audience, some LES with a tearline,
    some LES without, some TLP:RED or AMBER for the fusion center alone."""
    audience = {"audience_agencies": [county_eoc, fusion_center]}
    for n in range(12):
        markings = [
            {"tlp": TLP.GREEN, **audience},
            {"tlp": TLP.AMBER, "caveats": [Caveat.LES], "tearline": f"Tearline {n}", **audience},
            {"tlp": TLP.AMBER, "caveats": [Caveat.LES], **audience},
            {"tlp": TLP.AMBER_STRICT, "audience_agencies": [fusion_center]},
        ][n % 4]
        post(flood, title=f"Entry {n}", **markings)
    return flood


@pytest.mark.parametrize("size", [1, 5, 30])
def test_every_shape_of_page_reads_what_the_feeds_queryset_reads(feed, coordinator, analyst, outsider, size):
    for person in (coordinator, analyst, outsider):
        reader = fresh(person)
        entries = selectors.feed_entries(person=reader, incident_id=feed.pk)
        ids = [entry.pk for entry in entries]
        first = selectors.read_feed_page(person=reader, incident_id=feed.pk, size=size)
        assert shown(first) == shown(selectors.feed_page(entries, size=size))
        for cursor in ids[:4]:
            before = selectors.read_feed_page(person=reader, incident_id=feed.pk, before=cursor, size=size)
            after = selectors.read_feed_page(person=reader, incident_id=feed.pk, after=cursor, size=size)
            assert shown(before) == shown(selectors.feed_page(entries, before=cursor, size=size))
            assert before.older == selectors.feed_page(entries, before=cursor, size=size).older
            expected_after = selectors.feed_page_after(entries, after=cursor, size=size)
            assert shown(after) == shown(expected_after)
            assert after.more == expected_after.more


def test_the_filters_are_part_of_what_is_prepared(feed, coordinator):
    post_flash = FeedEntry.objects.filter(incident=feed).order_by("pk").first()
    FeedEntry.objects.filter(pk=post_flash.pk).update(priority=FeedEntry.Priority.FLASH)
    reader = fresh(coordinator)
    everything = selectors.read_feed_page(person=reader, incident_id=feed.pk)
    flash = selectors.read_feed_page(person=reader, incident_id=feed.pk, priority=FeedEntry.Priority.FLASH)

    assert len(everything.entries) > 1
    assert [entry.pk for entry in flash.entries] == [post_flash.pk]


def test_a_change_of_law_enforcement_status_shows_at_the_next_read(feed, coordinator):
    before = dict(shown(selectors.read_feed_page(person=fresh(coordinator), incident_id=feed.pk)))
    User.objects.filter(pk=coordinator.pk).update(is_law_enforcement=True)
    after = dict(shown(selectors.read_feed_page(person=fresh(coordinator), incident_id=feed.pk)))

    les_with_tearline = FeedEntry.objects.filter(incident=feed, title="Entry 1").get().pk
    les_without = FeedEntry.objects.filter(incident=feed, title="Entry 2").get().pk
    assert before[les_with_tearline] is False
    assert les_without not in before
    assert after[les_with_tearline] is True
    assert after[les_without] is True


def test_a_change_of_the_agency_shows_at_the_next_read(feed, coordinator, county_eoc, other_county):
    """The EOC moves to another county and level: what its people saw through their agency stays
    theirs (named in the audience), and nothing is read through the old jurisdiction."""
    seen = {pk for pk, _ in shown(selectors.read_feed_page(person=fresh(coordinator), incident_id=feed.pk))}
    Agency.objects.filter(pk=county_eoc.pk).update(jurisdiction=other_county, level=Agency.Level.STATE)
    moved = fresh(coordinator)
    now = {pk for pk, _ in shown(selectors.read_feed_page(person=moved, incident_id=feed.pk))}
    expected = {entry.pk for entry in selectors.feed_entries(person=moved, incident_id=feed.pk)}

    assert now == expected
    assert seen  # the EOC read its feed before the move


def test_a_suspended_agency_reads_nothing_even_after_a_prepared_read(feed, coordinator, county_eoc):
    assert selectors.read_feed_page(person=fresh(coordinator), incident_id=feed.pk).entries
    Agency.objects.filter(pk=county_eoc.pk).update(is_active=False)

    assert selectors.read_feed_page(person=fresh(coordinator), incident_id=feed.pk).entries == []


def test_a_prepared_read_builds_once_and_takes_each_runs_value(feed, coordinator):
    reads = PreparedReads()
    cursor = Placeholder()
    built = []
    reader = fresh(coordinator)

    def build():
        built.append(1)
        return selectors.feed_entries(person=reader, incident_id=feed.pk).filter(pk__lt=cursor)[:50]

    ids = [entry.pk for entry in selectors.feed_entries(person=reader, incident_id=feed.pk)]
    for newest in ids[:3]:
        rows = reads.rows(("key",), build, {cursor: newest})
        assert [row.pk for row in rows] == [pk for pk in ids if pk < newest]
    assert len(built) == 1
    with pytest.raises(KeyError):
        reads.rows(("key",), build, {})


def test_the_cache_is_bounded(feed, coordinator):
    reads = PreparedReads(size=3)
    reader = fresh(coordinator)
    for n in range(5):
        reads.rows(("key", n), lambda: selectors.feed_entries(person=reader, incident_id=feed.pk)[:1])
    assert len(reads) == 3


def test_an_unknown_kind_or_priority_reads_an_empty_page(feed, coordinator):
    reader = fresh(coordinator)

    assert selectors.read_feed_page(person=reader, incident_id=feed.pk, kind="rumour").entries == []
    assert selectors.read_feed_page(person=reader, incident_id=feed.pk, priority="\x00placeholder-1").entries == []


def prepared_statements() -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT name FROM pg_prepared_statements")
        return {row[0] for row in cursor.fetchall()}


def test_postgresql_plans_a_prepared_read_once_per_connection(feed, coordinator):
    reads = PreparedReads()
    reader = fresh(coordinator)
    cursor = Placeholder()
    ids = [entry.pk for entry in selectors.feed_entries(person=reader, incident_id=feed.pk)]

    for newest in ids[:3]:
        rows = reads.rows(
            "older",
            lambda: selectors.feed_entries(person=reader, incident_id=feed.pk).filter(pk__lt=cursor),
            {cursor: newest},
        )
        assert [row.pk for row in rows] == [pk for pk in ids if pk < newest]
    names = [name for name in prepared_statements() if name.startswith("fusionhub_")]
    assert len(names) >= 1
    # A read planned at each run (plan_once=False) is not prepared in PostgreSQL.
    before = prepared_statements()
    PreparedReads(plan_once=False).rows("again", lambda: selectors.feed_entries(person=reader, incident_id=feed.pk))
    assert prepared_statements() == before


def test_a_read_postgresql_cannot_prepare_runs_as_plain_sql(feed, coordinator, caplog):
    """`%s IS NULL` leaves PostgreSQL no type for the parameter: PREPARE fails, inside a savepoint, and the
    read goes on as plain SQL in the same transaction."""
    reads = PreparedReads()
    anything = Placeholder()

    def build():
        return FeedEntry.objects.filter(incident=feed).extra(where=["%s IS NOT NULL"], params=[anything])

    rows = reads.rows("untyped", build, {anything: 1})

    assert len(rows) == FeedEntry.objects.filter(incident=feed).count()
    assert FeedEntry.objects.filter(incident=feed).exists()  # the transaction still works
    assert "could not prepare a read" in caplog.text
    assert len(reads.rows("untyped", build, {anything: 1})) == len(rows)  # and goes on as plain SQL


def test_prepared_statements_can_be_turned_off(feed, coordinator, settings):
    settings.DATABASE_PREPARED_STATEMENTS = False
    before = prepared_statements()

    rows = PreparedReads().rows("off", lambda: FeedEntry.objects.filter(incident=feed)[:3])

    assert len(rows) == 3
    assert prepared_statements() == before


def test_a_cursor_or_incident_past_any_id_reads_nothing(feed, coordinator, client):
    reader = fresh(coordinator)
    huge = 2**63

    assert selectors.read_feed_page(person=reader, incident_id=feed.pk, before=huge).entries == []
    assert selectors.read_feed_page(person=reader, incident_id=feed.pk, after=huge).entries == []
    with pytest.raises(Incident.DoesNotExist):
        selectors.visible_incident(person=reader, pk=huge)


def test_a_placeholder_missing_from_its_query_is_refused(feed, coordinator):
    """A placeholder a field's range check dropped (or never used) would have its value silently ignored."""
    reader = fresh(coordinator)
    unused = Placeholder()

    with pytest.raises(ValueError, match="placeholders"):
        PreparedReads().rows("unused", lambda: selectors.feed_entries(person=reader, incident_id=feed.pk), {unused: 1})


def test_a_window_of_rows_is_given_at_each_run(feed, coordinator):
    reads = PreparedReads()
    reader = fresh(coordinator)
    built = []

    def build():
        built.append(1)
        return selectors.feed_entries(person=reader, incident_id=feed.pk)

    everything = [entry.pk for entry in selectors.feed_entries(person=reader, incident_id=feed.pk)]
    for bottom, top in [(0, 3), (2, 5), (4, 40)]:
        assert [row.pk for row in reads.rows("window", build, window=(bottom, top))] == everything[bottom:top]
    assert len(built) == 1


def test_a_prepared_statement_is_named_after_its_own_text(feed, coordinator):
    """Whatever process prepared a name on a session, the name means the same SQL there."""
    reader = fresh(coordinator)
    first, again = PreparedReads(), PreparedReads()
    for reads in (first, again):
        reads.rows("mine", lambda: selectors.feed_entries(person=reader, incident_id=feed.pk)[:5])
    other = PreparedReads()
    other.rows("other", lambda: FeedEntry.objects.filter(incident=feed)[:5])

    name = first._entries["mine"].name
    assert name == again._entries["mine"].name
    assert name != other._entries["other"].name
    assert name in prepared_statements()
