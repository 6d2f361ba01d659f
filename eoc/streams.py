"""Server-sent events for the live incident feed (served by the ASGI workers).

A page opens `/incidents/<id>/feed/stream/` (or the EOC-wide one) with EventSource; each new
entry the person may see arrives as an `entry` event whose id is the entry's id, so a page that
reconnects sends Last-Event-ID and gets what it missed from the database first. Redis only
carries "entry N was posted"; every entry is read through the visibility policy for each person.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator

import redis.asyncio as aioredis
from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import DatabaseError, close_old_connections, connection
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.template.loader import render_to_string

from agencies.models import Agency

from .live import eoc_channel, incident_channel
from .models import Incident
from .selectors import feed_entries

logger = logging.getLogger(__name__)

HEARTBEAT_SECONDS = 15
# A stream is closed after this long; the browser reconnects at once with Last-Event-ID, and the
# reconnection re-checks the session (so a signed-out person stops receiving).
MAX_STREAM_SECONDS = 10 * 60
CATCH_UP_LIMIT = 200


def _event(entry_id: int, html: str) -> str:
    data = "\n".join(f"data: {line}" for line in html.splitlines() or [""])
    return f"id: {entry_id}\nevent: entry\n{data}\n\n"


async def _read(function, *args):
    """Run a read of an open stream on the shared thread pool, whose few threads keep their database
    connections: a stream waiting for news holds no connection of its own (hundreds of open pages
    would otherwise exhaust PostgreSQL's)."""
    # Not sync_to_async: it would carry the request's context, and with it the request thread's connection.
    return await asyncio.get_running_loop().run_in_executor(None, _on_pooled_connection, function, *args)


def _on_pooled_connection(function, *args):
    # As a request would: drop this thread's connection if it broke or grew too old, then read.
    close_old_connections()
    return function(*args)


def _render_entries(person, entries) -> list[tuple[int, str]]:
    return [
        (entry.pk, render_to_string("eoc/includes/feed_entry.html", {"entry": entry, "user": person, "live": True}))
        for entry in entries
    ]


def _feed(person, scope: dict):
    # Built once per stream: putting the visibility policy's conditions together costs more than
    # running the query, and a stream asks it again for every entry posted.
    return feed_entries(person=person, **scope)


def _missed(person, entries, after_id: int) -> list[tuple[int, str]]:
    return _render_entries(person, list(entries.filter(pk__gt=after_id).order_by("pk")[:CATCH_UP_LIMIT]))


def _one(person, entries, entry_id: int) -> list[tuple[int, str]]:
    return _render_entries(person, list(entries.filter(pk=entry_id)))


def _last_event_id(request: HttpRequest) -> int:
    raw = request.headers.get("Last-Event-ID") or request.GET.get("after") or "0"
    try:
        return max(int(raw), 0)
    except ValueError:
        return 0


async def _stream(person, scope: dict, channel: str, after_id: int) -> AsyncIterator[str]:
    client = aioredis.Redis.from_url(settings.REDIS_URL)
    pubsub = client.pubsub()
    try:
        await pubsub.subscribe(channel)
        # Subscribe first, then catch up: an entry posted in between arrives twice at most, and
        # the page drops ids it already shows.
        yield "retry: 2000\n\n"
        entries = await _read(_feed, person, scope)
        for entry_id, html in await _read(_missed, person, entries, after_id):
            yield _event(entry_id, html)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + MAX_STREAM_SECONDS
        while loop.time() < deadline:
            message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=HEARTBEAT_SECONDS)
            if message is None:
                yield ": heartbeat\n\n"
                continue
            try:
                entry_id = int(json.loads(message["data"])["entry_id"])
            except (ValueError, KeyError, TypeError):
                continue
            for found_id, html in await _read(_one, person, entries, entry_id):
                yield _event(found_id, html)
    except aioredis.RedisError:
        logger.warning("Feed stream lost Redis; the page will reconnect", exc_info=True)
    finally:
        await pubsub.aclose()
        await client.aclose()


def _release_connection() -> None:
    # A connection inside a transaction, or one this thread did not open (a test client shares the
    # test's), is not ours to close.
    if connection.in_atomic_block:
        return
    with contextlib.suppress(DatabaseError):
        connection.close()


async def _response(generator: AsyncIterator[str]) -> StreamingHttpResponse:
    # The request's own thread is done with the database: give its connection back now rather
    # than when the stream ends, minutes later.
    await sync_to_async(_release_connection)()
    response = StreamingHttpResponse(generator, content_type="text/event-stream")
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"
    return response


async def _person(request: HttpRequest):
    person = await request.auser()
    if not person.is_authenticated:
        return None
    # The backend loads the agency with the person; make sure it is here before leaving the thread.
    return await sync_to_async(lambda: person if person.agency.is_active and person.is_active else None)()


async def incident_feed_stream(request: HttpRequest, pk: int) -> HttpResponse:
    person = await _person(request)
    if person is None:
        return HttpResponse("Sign in to follow the feed.", status=401, content_type="text/plain")
    visible = await sync_to_async(lambda: Incident.objects.visible_to(person).filter(pk=pk).exists())()
    if not visible:
        raise Http404
    scope = {"incident_id": pk}
    return await _response(_stream(person, scope, incident_channel(pk), _last_event_id(request)))


async def eoc_feed_stream(request: HttpRequest, pk: int) -> HttpResponse:
    person = await _person(request)
    if person is None:
        return HttpResponse("Sign in to follow the feed.", status=401, content_type="text/plain")
    is_eoc = await sync_to_async(lambda: Agency.objects.filter(pk=pk, kind=Agency.Kind.EOC).exists())()
    if not is_eoc:
        raise Http404
    scope = {"eoc_id": pk}
    return await _response(_stream(person, scope, eoc_channel(pk), _last_event_id(request)))
