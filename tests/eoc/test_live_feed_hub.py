"""The live feed's hub: many people on one channel in one worker, each receiving exactly what the
visibility policy shows them; one query per posted entry however many streams are open; one Redis
connection per worker, and nothing lost when it breaks; a few streams opened at once per worker."""

import asyncio
import os
import re

import pytest
import redis
from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import connection

from agencies.markings import TLP, Caveat
from agencies.models import Role
from eoc import feed_hub
from eoc.feed_hub import Audience, FeedHub, Listener
from eoc.models import FeedEntry
from eoc.selectors import feed_entries
from eoc.services.feed import EntryContent, post_entry
from eoc.services.incidents import IncidentDetails, open_incident
from eoc.streams import OPENING_AT_ONCE, StreamOpenings
from tests.factories import UserFactory
from tests.second_factor import VerifiedAsyncClient as AsyncClient

pytestmark = pytest.mark.django_db(transaction=True)

NOTHING_BEFORE = 10**12  # streams opened with this Last-Event-ID get only what the hub sends
EVENT = re.compile(r"id: (\d+)\nevent: entry\n((?:data: .*\n)+)\n")


class Stream:
    """One open event stream of the test client, read as far as needed."""

    def __init__(self, person, response):
        self.person, self.chunks, self.received = person, response.streaming_content.__aiter__(), ""

    async def read_until(self, text: str, timeout: float = 10.0) -> str:
        async def _read():
            async for chunk in self.chunks:
                self.received += chunk.decode()
                if text in self.received:
                    return

        if text not in self.received:
            await asyncio.wait_for(_read(), timeout)
        return self.received

    def entries(self) -> dict[int, str]:
        """The entries received, by id, with their HTML."""
        return {
            int(entry_id): "\n".join(line[len("data: ") :] for line in data.splitlines())
            for entry_id, data in EVENT.findall(self.received)
        }


async def open_stream(person, path: str, last_id: int = NOTHING_BEFORE) -> Stream:
    client = AsyncClient()
    await sync_to_async(client.force_login)(person)
    response = await client.get(path, headers={"Last-Event-ID": str(last_id)})
    assert response.status_code == 200
    stream = Stream(person, response)
    await stream.read_until("retry:")
    return stream


def post(by, incident, title, **content):
    return post_entry(
        by=by, content=EntryContent(kind=FeedEntry.Kind.WARNING, title=title, **content), incident=incident
    )


def hub_connections(hub: FeedHub) -> list[dict]:
    """The hub's connections to Redis, as Redis lists its clients."""
    client = redis.Redis.from_url(settings.REDIS_URL)
    try:
        return [c for c in client.client_list() if c.get("name") == hub.connection_name]
    finally:
        client.close()


@pytest.fixture
def people(coordinator, county_eoc, outside_agency):
    return {
        "coordinator": coordinator,
        "officer": UserFactory(agency=county_eoc, roles=[Role.EOC_COORDINATOR], is_law_enforcement=True),
        "viewer": UserFactory(agency=county_eoc, roles=[Role.PARTNER]),
        "outsider": UserFactory(agency=outside_agency, roles=[Role.PARTNER], is_law_enforcement=True),
    }


@pytest.fixture
def drill(coordinator):
    return open_incident(
        by=coordinator, details=IncidentDetails(name="Dam failure drill", incident_type="other", is_exercise=True)
    )


async def test_each_person_on_a_channel_receives_only_what_the_policy_shows_them(
    people, flood, drill, county_eoc, outside_agency
):
    path = f"/eocs/{county_eoc.pk}/feed/stream/"
    # One worker (this event loop), four people, five streams on the EOC-wide channel.
    streams = {name: await open_stream(person, path) for name, person in people.items()}
    second_viewer_stream = await open_stream(people["viewer"], path)
    both = [county_eoc, outside_agency]
    coordinator = people["coordinator"]

    def post_all():
        return [
            post(coordinator, drill, "Drill inject: spillway breach", audience_agencies=both),
            post(
                coordinator,
                flood,
                "Suspect named",
                body="Full LES detail",
                caveats=[Caveat.LES],
                tearline="Police activity near the levee",
                audience_agencies=both,
            ),
            post(coordinator, flood, "Shelter staffing", tlp=TLP.AMBER_STRICT, audience_agencies=[county_eoc]),
            post(coordinator, flood, "Marker entry", audience_agencies=both),
        ]

    drill_inject, les, strict, marker = await sync_to_async(post_all)()
    for stream in [*streams.values(), second_viewer_stream]:
        await stream.read_until("Marker entry")

    received = {name: stream.entries() for name, stream in streams.items()}
    assert set(received["coordinator"]) == {drill_inject.pk, les.pk, strict.pk, marker.pk}
    assert set(received["officer"]) == {drill_inject.pk, les.pk, strict.pk, marker.pk}
    assert set(received["viewer"]) == {drill_inject.pk, les.pk, strict.pk, marker.pk}
    # Outside the exercise and outside the AMBER+STRICT audience; law enforcement, so the LES text.
    assert set(received["outsider"]) == {les.pk, marker.pk}
    assert "Drill inject" not in streams["outsider"].received
    assert "Shelter staffing" not in streams["outsider"].received
    # LES: the full text for law enforcement, the tearline for the others.
    for name in ("officer", "outsider"):
        assert "Full LES detail" in received[name][les.pk]
        assert "Police activity" not in received[name][les.pk]
    for name in ("coordinator", "viewer"):
        assert "Police activity near the levee" in received[name][les.pk]
        assert "Full LES detail" not in streams[name].received
    # The Correct link only for those whose role posts to feeds.
    assert "fh-entry__correct" in received["coordinator"][marker.pk]
    assert "fh-entry__correct" not in received["viewer"][marker.pk]
    # Two streams of one person get the same.
    assert second_viewer_stream.entries() == received["viewer"]
    # The policy itself, asked person by person, agrees with every stream.
    posted = [drill_inject.pk, les.pk, strict.pk, marker.pk]

    def policy(person):
        shown = feed_entries(person=person, eoc_id=county_eoc.pk).filter(pk__in=posted)
        return {entry.pk: entry.full_access for entry in shown}

    for name, person in people.items():
        expected = await sync_to_async(policy)(person)
        assert set(received[name]) == set(expected)
        assert all(("Tearline:" in received[name][entry_id]) == (not full) for entry_id, full in expected.items())


async def test_one_query_per_posted_entry_however_many_streams(people, flood, monkeypatch):
    calls = []
    answer, render = feed_hub.answer, feed_hub.render_to_string

    def counting_answer(audiences, **kwargs):
        queries, renders = [], []

        def record(execute, sql, params, many, context):
            queries.append(sql)
            return execute(sql, params, many, context)

        def counting_render(*args, **kw):
            renders.append(args[0])
            return render(*args, **kw)

        monkeypatch.setattr(feed_hub, "render_to_string", counting_render)
        with connection.execute_wrapper(record):
            result = answer(audiences, **kwargs)
        calls.append({"ids": kwargs.get("ids"), "queries": queries, "renders": len(renders)})
        return result

    monkeypatch.setattr(feed_hub, "answer", counting_answer)
    path = f"/incidents/{flood.pk}/feed/stream/"
    coordinator = people["coordinator"]

    first = await open_stream(coordinator, path)
    # TLP:AMBER to the incident's agencies (the default audience): not to the outsider's agency.
    one = await sync_to_async(post)(coordinator, flood, "Posted to one stream", tlp=TLP.AMBER)
    await first.read_until("Posted to one stream")
    assert [call["ids"] for call in calls] == [[one.pk]]
    alone = calls[-1]

    streams = [first]
    for person in people.values():
        streams += [await open_stream(person, path) for _ in range(3)]
    assert len(streams) == 13
    many = await sync_to_async(post)(coordinator, flood, "Posted to thirteen streams", tlp=TLP.AMBER)
    for stream in streams:
        if stream.person != people["outsider"]:  # outside the entry's audience
            await stream.read_until("Posted to thirteen streams")
    assert [call["ids"] for call in calls] == [[one.pk], [many.pk]]
    crowd = calls[-1]

    deciding = [sql for sql in crowd["queries"] if "AS audience" in sql]
    assert len(deciding) == 1
    # One branch per person, not per stream.
    assert deciding[0].count("AS audience") == len(people)
    assert len(crowd["queries"]) == len(alone["queries"]) == 2  # the answer; the entry with its attachments
    # Rendered once for those who may post corrections and once for those who may not.
    assert alone["renders"] == 1
    assert crowd["renders"] == 2
    # The outsider, on the same channel, is outside the entry's audience.
    await sync_to_async(post)(
        coordinator, flood, "Marker for everyone", audience_agencies=[coordinator.agency, people["outsider"].agency]
    )
    for stream in streams:
        await stream.read_until("Marker for everyone")
        assert ("Posted to thirteen streams" in stream.received) == (stream.person != people["outsider"])


async def test_the_answer_reads_the_entry_by_its_primary_key(people, flood):
    coordinator = people["coordinator"]
    entry = await sync_to_async(post)(coordinator, flood, "Planned")

    def plan():
        # A busy incident, as PostgreSQL's statistics know it.
        FeedEntry.objects.bulk_create(
            FeedEntry(
                eoc=flood.lead_eoc, incident=flood, kind=FeedEntry.Kind.SITUATION_UPDATE, title=f"Update {n}",
                author=coordinator, author_agency=coordinator.agency, originating_agency=coordinator.agency,
            )
            for n in range(2000)
        )  # fmt: skip
        audiences = [Audience.of(p, feed_entries(person=p, incident_id=flood.pk)) for p in people.values()]
        sql, params = feed_hub.answer_query(audiences, ids=[entry.pk], after=None)
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE eoc_feedentry")
            cursor.execute("EXPLAIN " + sql, params)
            lines = [row[0] for row in cursor.fetchall()]
        return lines

    lines = await sync_to_async(plan)()
    # The id condition reaches each branch's scan of the feed (no subquery scanned then filtered)...
    assert not any("Subquery Scan" in line for line in lines), "\n".join(lines)
    scans = [n for n, line in enumerate(lines) if "Scan" in line and " on eoc_feedentry " in line]
    assert len(scans) == len(people)
    # ... as the index condition of a scan of the primary key.
    for n in scans:
        assert "eoc_feedentry_pkey" in lines[n], "\n".join(lines)
        assert "Index Cond: (id = ANY" in lines[n + 1], "\n".join(lines)


async def test_one_redis_connection_per_worker_subscribed_while_streams_are_open():
    hub = FeedHub(settings.REDIS_URL)
    audience = Audience("SELECT 1 AS id", (), may_post=False)
    channels = [f"fusionhub:feed:test:{os.getpid()}:{n}" for n in range(2)]
    listeners = [Listener(channels[n % 2], audience, last_id=0) for n in range(6)]
    for listener in listeners:
        await hub.add(listener)
        assert listener.ready.done()
    assert len(hub_connections(hub)) == 1
    client = redis.Redis.from_url(settings.REDIS_URL)

    async def subscribers() -> dict[str, int]:
        return {name.decode(): count for name, count in await sync_to_async(client.pubsub_numsub)(*channels)}

    assert await subscribers() == {channels[0]: 1, channels[1]: 1}
    for listener in listeners[0::2]:  # every stream of the first channel closes
        hub.remove(listener)
    for _ in range(50):
        if (await subscribers())[channels[0]] == 0:
            break
        await asyncio.sleep(0.05)
    assert await subscribers() == {channels[0]: 0, channels[1]: 1}
    for listener in listeners[1::2]:
        hub.remove(listener)
    for _ in range(50):
        if not hub_connections(hub):
            break
        await asyncio.sleep(0.05)
    assert hub_connections(hub) == []
    client.close()


async def test_stream_stays_open_and_catches_up_when_redis_connection_breaks(people, flood, monkeypatch):
    coordinator = people["coordinator"]
    path = f"/incidents/{flood.pk}/feed/stream/"
    last = await sync_to_async(lambda: FeedEntry.objects.order_by("-pk").values_list("pk", flat=True).first() or 0)()
    stream = await open_stream(coordinator, path, last_id=last)
    await sync_to_async(post)(coordinator, flood, "Before the outage")
    await stream.read_until("Before the outage")

    # Posted while the hub cannot hear of it: never announced on Redis.
    monkeypatch.setattr("eoc.services.feed.announce_entry", lambda **kwargs: None)
    missed = await sync_to_async(post)(coordinator, flood, "Posted while Redis was away")
    monkeypatch.undo()
    [hub_connection] = hub_connections(feed_hub.feed_hub())
    killer = redis.Redis.from_url(settings.REDIS_URL)
    killer.client_kill_filter(_id=hub_connection["id"])
    killer.close()

    await stream.read_until("Posted while Redis was away")
    assert missed.pk in stream.entries()
    after = await sync_to_async(post)(coordinator, flood, "After the outage")
    await stream.read_until("After the outage")
    assert after.pk in stream.entries()
    assert len(hub_connections(feed_hub.feed_hub())) == 1
    assert stream.received.count('id="entry-' + str(missed.pk) + '"') == 1


async def test_deactivated_person_is_refused_at_the_next_connection(people, flood):
    viewer = people["viewer"]
    path = f"/incidents/{flood.pk}/feed/stream/"
    client = AsyncClient()
    await sync_to_async(client.force_login)(viewer)
    assert (await client.get(path)).status_code == 200
    viewer.is_active = False
    await sync_to_async(viewer.save)()
    assert (await client.get(path)).status_code == 401


async def test_a_worker_opens_a_few_streams_at_once_and_lets_pages_through():
    waiting_in_view, most_in_view = 0, 0
    go_on = asyncio.Event()

    async def site(scope, receive, send):
        nonlocal waiting_in_view, most_in_view
        if scope["path"].endswith("/feed/stream/"):
            waiting_in_view += 1
            most_in_view = max(most_in_view, waiting_in_view)
            await go_on.wait()
            waiting_in_view -= 1
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"retry: 2000\n\n", "more_body": True})
        await asyncio.Event().wait()  # an open stream

    opened = []

    async def send(message):
        if message["type"] == "http.response.body":
            opened.append(message)

    application = StreamOpenings(site)
    stream = {"type": "http", "path": "/incidents/1/feed/stream/"}
    tasks = [asyncio.create_task(application(stream, None, send)) for _ in range(3 * OPENING_AT_ONCE)]
    await asyncio.sleep(0.1)
    assert waiting_in_view == OPENING_AT_ONCE
    # A page is not held up by streams being opened.
    tasks.append(asyncio.create_task(application({"type": "http", "path": "/incidents/1/"}, None, send)))
    await asyncio.sleep(0.1)
    assert len(opened) == 1
    go_on.set()
    for _ in range(100):
        if len(opened) == 3 * OPENING_AT_ONCE + 1:
            break
        await asyncio.sleep(0.02)
    assert len(opened) == 3 * OPENING_AT_ONCE + 1  # every stream opened, and stays open
    assert most_in_view == OPENING_AT_ONCE
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
