"""The live feed stream: new entries arrive as server-sent events, through the visibility policy."""

import asyncio

import pytest
from asgiref.sync import sync_to_async

from eoc.models import FeedEntry
from eoc.services.feed import EntryContent, post_entry
from tests.second_factor import VerifiedAsyncClient as AsyncClient

pytestmark = pytest.mark.django_db(transaction=True)


async def read_until(stream, text: str, timeout: float = 5.0) -> str:
    received = ""

    async def _read():
        nonlocal received
        async for chunk in stream:
            received += chunk.decode() if isinstance(chunk, bytes) else chunk
            if text in received:
                return

    await asyncio.wait_for(_read(), timeout)
    return received


def post(person, incident, **content):
    values = {"kind": FeedEntry.Kind.WARNING, "title": "Levee overtopping at Smithfield"}
    values.update(content)
    return post_entry(by=person, content=EntryContent(**values), incident=incident)


async def open_stream(person, incident, headers=None):
    client = AsyncClient()
    await sync_to_async(client.force_login)(person)
    response = await client.get(f"/incidents/{incident.pk}/feed/stream/", headers=headers)
    return response


async def test_new_entry_reaches_an_open_stream(flood, coordinator):
    response = await open_stream(coordinator, flood)
    assert response.status_code == 200
    assert response["Content-Type"] == "text/event-stream"
    stream = response.streaming_content.__aiter__()
    await read_until(stream, "retry:")
    entry = await sync_to_async(post)(coordinator, flood)
    received = await read_until(stream, "Levee overtopping")
    assert f"id: {entry.pk}" in received
    assert "event: entry" in received


async def test_reconnecting_page_gets_what_it_missed(flood, coordinator):
    first = await sync_to_async(post)(coordinator, flood, title="First")
    second = await sync_to_async(post)(coordinator, flood, title="Second while away")
    response = await open_stream(coordinator, flood, headers={"Last-Event-ID": str(first.pk)})
    received = await read_until(response.streaming_content.__aiter__(), "Second while away")
    assert f"id: {second.pk}" in received
    assert "First" not in received


async def test_stream_does_not_carry_entries_the_person_may_not_read(flood, coordinator, county_eoc):
    from tests.factories import UserFactory

    reader = await sync_to_async(UserFactory)(agency=county_eoc, roles=["eoc_coordinator"])
    response = await open_stream(reader, flood)
    stream = response.streaming_content.__aiter__()
    await read_until(stream, "retry:")
    await sync_to_async(post)(
        coordinator, flood, title="Suspect named", body="Full LES detail", caveats=["LES"], tearline="Police activity"
    )
    await sync_to_async(post)(coordinator, flood, title="Marker entry")
    received = await read_until(stream, "Marker entry")
    assert "Police activity" in received
    assert "Full LES detail" not in received


async def test_outsider_cannot_open_an_exercise_stream(coordinator, outsider):
    from eoc.services.incidents import IncidentDetails, open_incident

    drill = await sync_to_async(open_incident)(
        by=coordinator, details=IncidentDetails(name="Drill", incident_type="other", is_exercise=True)
    )
    response = await open_stream(outsider, drill)
    assert response.status_code == 404


async def test_anonymous_gets_401(flood):
    response = await AsyncClient().get(f"/incidents/{flood.pk}/feed/stream/")
    assert response.status_code == 401


def test_a_wsgi_server_answers_204_so_the_page_polls_instead(client, sign_in, flood, coordinator, county_eoc):
    # Under WSGI Django would buffer the stream for minutes before sending a byte; 204 stops the
    # browser's reconnecting and the page polls (static/js/feed.js).
    sign_in(coordinator)

    incident = client.get(f"/incidents/{flood.pk}/feed/stream/")
    eoc = client.get(f"/eocs/{county_eoc.pk}/feed/stream/")

    assert (incident.status_code, eoc.status_code) == (204, 204)
    assert not incident.streaming
    assert not eoc.streaming
