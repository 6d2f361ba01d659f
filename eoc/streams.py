"""Server-sent events for the live incident feed (served by the ASGI workers).

A page opens `/incidents/<id>/feed/stream/` (or the EOC-wide one) with EventSource; each new
entry the person may see arrives as an `entry` event whose id is the entry's id, so a page that
reconnects sends Last-Event-ID and gets what it missed from the database first. Redis only
carries "entry N was posted"; the worker's hub (eoc/feed_hub.py) reads each entry through the
visibility policy once for all the streams it serves, and queues it to those whose person may see it.
"""

from __future__ import annotations

import asyncio
import contextlib
import weakref
from collections.abc import AsyncIterator

from asgiref.sync import sync_to_async
from django.core.handlers.asgi import ASGIRequest
from django.db import DatabaseError, connection
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.template.loader import render_to_string

from agencies.models import Agency

from .feed_hub import CATCH_UP_LIMIT, TEMPLATE, Audience, Listener, feed_hub, run_on_pool, sse_event
from .live import eoc_channel, incident_channel
from .models import Incident
from .selectors import feed_entries
from .templatetags.eoc_tags import posts_to_feeds

HEARTBEAT_SECONDS = 15
# Streams a worker opens at once. Each opening holds a database connection, its request thread's,
# until the stream starts; hundreds of pages reconnecting together queue here for a moment instead
# of exhausting PostgreSQL's connections.
OPENING_AT_ONCE = 8
# A stream is closed after this long; the browser reconnects at once with Last-Event-ID, and the
# reconnection re-checks the session (so a signed-out person stops receiving).
MAX_STREAM_SECONDS = 10 * 60


def _feed(person, scope: dict):
    # Built once per stream: putting the visibility policy's conditions together costs more than
    # running the query. The hub asks the same question, compiled, for every entry posted.
    entries = feed_entries(person=person, **scope)
    return entries, Audience.of(person, entries)


def _missed(person, entries, after_id: int) -> list[tuple[int, str]]:
    may_post = posts_to_feeds(person)
    return [
        (entry.pk, render_to_string(TEMPLATE, {"entry": entry, "may_post": may_post, "live": True}))
        for entry in entries.filter(pk__gt=after_id).order_by("pk")[:CATCH_UP_LIMIT]
    ]


def _last_event_id(request: HttpRequest) -> int:
    raw = request.headers.get("Last-Event-ID") or request.GET.get("after") or "0"
    try:
        return max(int(raw), 0)
    except ValueError:
        return 0


async def _stream(person, scope: dict, channel: str, after_id: int) -> AsyncIterator[str]:
    # The request's own thread is done with the database once the middleware has seen the response
    # (saving the session, say): give its connection back now rather than when the stream ends,
    # minutes later. The stream runs in the request's context, so this reaches that thread.
    await sync_to_async(_release_connection)()
    entries, audience = await run_on_pool(_feed, person, scope)
    if audience is None:
        return  # the person sees nothing (any more): the reconnection answers 401
    hub = feed_hub()
    listener = Listener(channel, audience, last_id=after_id)
    try:
        # Listen first, then catch up: an entry posted in between arrives twice at most, and is
        # sent once.
        await hub.add(listener)
        yield "retry: 2000\n\n"
        sent: set[int] = set()
        for entry_id, html in await run_on_pool(_missed, person, entries, after_id):
            sent.add(entry_id)
            listener.saw(entry_id)
            yield sse_event(entry_id, html)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + MAX_STREAM_SECONDS
        while not listener.closed and loop.time() < deadline:
            try:
                async with asyncio.timeout(min(HEARTBEAT_SECONDS, max(deadline - loop.time(), 0))):
                    item = await listener.queue.get()
            except TimeoutError:
                if loop.time() < deadline:
                    yield ": heartbeat\n\n"
                continue
            # Whatever else is waiting goes in the same write.
            events = []
            while item is not None and not listener.closed:
                entry_id, event = item
                if entry_id not in sent:
                    sent.add(entry_id)
                    events.append(event)
                try:
                    item = listener.queue.get_nowait()
                except asyncio.QueueEmpty:
                    break
            if events:
                yield "".join(events)
    finally:
        hub.remove(listener)


def _release_connection() -> None:
    # A connection inside a transaction, or one this thread did not open (a test client shares the
    # test's), is not ours to close.
    if connection.in_atomic_block:
        return
    with contextlib.suppress(DatabaseError):
        connection.close()


async def _response(generator: AsyncIterator[str]) -> StreamingHttpResponse:
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


def _not_streamed_here(request: HttpRequest) -> HttpResponse | None:
    """Under a WSGI server Django would read an event stream to its end (ten minutes) before sending a
    byte, holding a thread all along: answer 204 there, which tells the page to stop reconnecting and
    to poll for new entries instead (static/js/feed.js). Production serves streams on ASGI workers."""
    if isinstance(request, ASGIRequest):
        return None
    return HttpResponse(status=204)


async def incident_feed_stream(request: HttpRequest, pk: int) -> HttpResponse:
    person = await _person(request)
    if person is None:
        return HttpResponse("Sign in to follow the feed.", status=401, content_type="text/plain")
    visible = await sync_to_async(lambda: Incident.objects.visible_to(person).filter(pk=pk).exists())()
    if not visible:
        raise Http404
    if (refused := _not_streamed_here(request)) is not None:
        return refused
    scope = {"incident_id": pk}
    return await _response(_stream(person, scope, incident_channel(pk), _last_event_id(request)))


async def eoc_feed_stream(request: HttpRequest, pk: int) -> HttpResponse:
    person = await _person(request)
    if person is None:
        return HttpResponse("Sign in to follow the feed.", status=401, content_type="text/plain")
    is_eoc = await sync_to_async(lambda: Agency.objects.filter(pk=pk, kind=Agency.Kind.EOC).exists())()
    if not is_eoc:
        raise Http404
    if (refused := _not_streamed_here(request)) is not None:
        return refused
    scope = {"eoc_id": pk}
    return await _response(_stream(person, scope, eoc_channel(pk), _last_event_id(request)))


class StreamOpenings:
    """ASGI middleware: lets at most OPENING_AT_ONCE event streams of the worker be opened at once,
    each until its first bytes are sent (by then the stream gave its request connection back); any
    other request passes straight through."""

    def __init__(self, application) -> None:
        self.application = application
        self._limits: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = (
            weakref.WeakKeyDictionary()
        )

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http" or not scope["path"].endswith("/feed/stream/"):
            await self.application(scope, receive, send)
            return
        loop = asyncio.get_running_loop()
        limit = self._limits.get(loop)
        if limit is None:
            limit = self._limits[loop] = asyncio.Semaphore(OPENING_AT_ONCE)
        opening = True
        await limit.acquire()

        def opened() -> None:
            nonlocal opening
            if opening:
                opening = False
                limit.release()

        async def sending(message) -> None:
            if message["type"] == "http.response.body":
                opened()
            await send(message)

        try:
            await self.application(scope, receive, sending)
        finally:
            opened()
