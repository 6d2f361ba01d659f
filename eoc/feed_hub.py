"""The live feed's fan-out inside one worker process: one Redis subscription and, for each posted
entry, one visibility query and one render per way of showing it, for every stream the worker serves.

Each open stream (eoc/streams.py) registers a `Listener`: its channel and its `Audience`, the
person's `feed_entries(...)` compiled once into SQL. The worker's `FeedHub` subscribes to a channel
when its first stream opens and unsubscribes when its last one closes. For an entry announced on a
channel, one query — the UNION ALL of each distinct audience's compiled feed narrowed to that entry —
says whether and how (in full, or its tearline) each person listening sees it; the entry is rendered
once per distinct way of showing it, and each stream's queue gets the event. If Redis goes away the
streams stay open: the hub reconnects with back-off and catches every stream up from the database.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import json
import logging
import os
import weakref
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import redis.asyncio as aioredis
from django.conf import settings
from django.core.exceptions import EmptyResultSet
from django.db import close_old_connections, connection
from django.template.loader import render_to_string
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from .selectors import feed_entries_to_render
from .templatetags.eoc_tags import posts_to_feeds

if TYPE_CHECKING:
    from collections.abc import Callable

    from django.db.models import QuerySet

    from agencies.models import User

    from .models import FeedEntry

logger = logging.getLogger(__name__)

TEMPLATE = "eoc/includes/feed_entry.html"
# What the visibility query answers of an entry: whether the person sees it (a row), and how.
ANSWER_COLUMNS = ("id", "full_access", "acknowledged", "acknowledgement_count")
CATCH_UP_LIMIT = 200
SUBSCRIBE_TIMEOUT_SECONDS = 5.0
RECONNECT_FIRST_DELAY_SECONDS = 0.5
RECONNECT_MAX_DELAY_SECONDS = 15.0
# A read of the subscription returns at least this often, and pings Redis to find a dead connection.
IDLE_READ_SECONDS = 30.0
# Events a stream may have waiting before it is closed (its page reconnects with Last-Event-ID).
QUEUE_LIMIT = 1000


def sse_event(entry_id: int, html: str) -> str:
    data = "\n".join(f"data: {line}" for line in html.splitlines() or [""])
    return f"id: {entry_id}\nevent: entry\n{data}\n\n"


async def run_on_pool(function: Callable, *args: Any) -> Any:
    """Run a read of an open stream on the shared thread pool, whose few threads keep their database
    connections: a stream waiting for news holds no connection of its own (hundreds of open pages
    would otherwise exhaust PostgreSQL's)."""
    # Not sync_to_async: it would carry the request's context, and with it the request thread's connection.
    return await asyncio.get_running_loop().run_in_executor(None, _on_pooled_connection, function, *args)


def _on_pooled_connection(function: Callable, *args: Any) -> Any:
    # As a request would: drop this thread's connection if it broke or grew too old, then read.
    close_old_connections()
    return function(*args)


class Audience:
    """One person's view of one feed, as the hub asks it: `feed_entries(...)` compiled to SQL
    (the answer columns only, no ordering) and whether the person may post corrections. Streams of
    the same person and feed are equal audiences and share every answer and render."""

    def __init__(self, sql: str, params: tuple, may_post: bool) -> None:
        self.sql, self.params, self.may_post = sql, params, may_post
        self.key = (sql, repr(params), may_post)

    @classmethod
    def of(cls, person: User, entries: QuerySet[FeedEntry]) -> Audience | None:
        """The audience of a feed from `eoc.selectors.feed_entries`; None if the person sees nothing."""
        try:
            sql, params = entries.order_by().values(*ANSWER_COLUMNS).query.sql_with_params()
        except EmptyResultSet:
            return None
        return cls(sql, tuple(params), posts_to_feeds(person))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Audience) and self.key == other.key

    def __hash__(self) -> int:
        return hash(self.key)


def answer_query(audiences: list[Audience], *, ids: list[int] | None, after: list[int] | None) -> tuple[str, list]:
    """One query for all the audiences: the rows of each one's feed among `ids`, or (catching up) its
    first rows above its `after`. PostgreSQL pushes the id condition into each branch (an index
    scan on the primary key), so the cost grows with the audiences, not with the feed."""
    parts, params = [], []
    for index, audience in enumerate(audiences):
        # The SQL is Django's own compilation of `feed_entries`; every value is a query parameter.
        if ids is not None:
            parts.append(f"SELECT %s AS audience, v.* FROM ({audience.sql}) v WHERE v.id = ANY(%s)")  # noqa: S608  # nosec B608
            params += [index, *audience.params, ids]
        else:
            parts.append(
                f"(SELECT %s AS audience, v.* FROM ({audience.sql}) v WHERE v.id > %s ORDER BY v.id LIMIT %s)"  # noqa: S608  # nosec B608
            )
            params += [index, *audience.params, after[index], CATCH_UP_LIMIT]
    return " UNION ALL ".join(parts), params


def _answer_rows(audiences: list[Audience], *, ids: list[int] | None, after: list[int] | None) -> list[dict]:
    sql, params = answer_query(audiences, ids=ids, after=after)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        names = [column.name for column in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def answer(audiences: list[Audience], *, ids: list[int] | None = None, after: list[int] | None = None) -> list[list]:
    """For each audience, the entries among `ids` (or, catching up, above its `after`) that its
    person sees, in id order, as (entry id, server-sent event). One query decides for all of them
    through the visibility policy; the entries found are then read once and rendered once per
    distinct way of showing them (in full or tearline, acknowledged or not, may post or not)."""
    answers: list[list[tuple[int, str]]] = [[] for _ in audiences]
    rows = _answer_rows(audiences, ids=ids, after=after)
    if not rows:
        return answers
    entries = feed_entries_to_render(sorted({row["id"] for row in rows}))
    events: dict[tuple, str] = {}
    for row in sorted(rows, key=lambda row: row["id"]):
        entry, audience = entries.get(row["id"]), audiences[row["audience"]]
        if entry is None:
            continue
        way = (row["id"], row["full_access"], row["acknowledged"], row["acknowledgement_count"], audience.may_post)
        if way not in events:
            shown = copy.copy(entry)
            shown.full_access = row["full_access"]
            shown.acknowledged = row["acknowledged"]
            shown.acknowledgement_count = row["acknowledgement_count"]
            html = render_to_string(TEMPLATE, {"entry": shown, "may_post": audience.may_post, "live": True})
            events[way] = sse_event(entry.pk, html)
        answers[row["audience"]].append((entry.pk, events[way]))
    return answers


class Listener:
    """One open stream as its hub sees it: the channel it follows, its audience, the highest entry id
    it was given (where a catch-up starts), and the queue of events its stream sends."""

    def __init__(self, channel: str, audience: Audience, *, last_id: int) -> None:
        self.channel, self.audience, self.last_id = channel, audience, last_id
        self.queue: asyncio.Queue[tuple[int, str] | None] = asyncio.Queue(maxsize=QUEUE_LIMIT)
        self.ready = asyncio.get_running_loop().create_future()
        self.closed = False

    def deliver(self, entry_id: int, event: str) -> None:
        if self.closed:
            return
        try:
            self.queue.put_nowait((entry_id, event))
        except asyncio.QueueFull:
            logger.warning("A live feed stream fell %s events behind; closing it so that it reconnects", QUEUE_LIMIT)
            self.close()
            return
        self.saw(entry_id)

    def saw(self, entry_id: int) -> None:
        self.last_id = max(self.last_id, entry_id)

    def close(self) -> None:
        """Ask the stream to end (its page reconnects with Last-Event-ID)."""
        self.closed = True
        with contextlib.suppress(asyncio.QueueFull):
            self.queue.put_nowait(None)

    def set_ready(self) -> None:
        if not self.ready.done():
            self.ready.set_result(None)


@dataclass
class _Work:
    """What a channel's dispatcher has to do next: entries announced, and whether to catch up."""

    ids: list[int] = field(default_factory=list)
    catch_up: bool = False


class FeedHub:
    """The live feed of one event loop (one per worker process): one Redis subscription for all its
    streams, and one visibility query per announced entry for all the streams of a channel."""

    count = 0

    def __init__(self, redis_url: str) -> None:
        self.redis_url = redis_url
        FeedHub.count += 1
        # How its connection shows in Redis's CLIENT LIST.
        self.connection_name = f"fusionhub-live-feed-{os.getpid()}-{FeedHub.count}"
        self.listeners: dict[str, set[Listener]] = {}
        self._pubsub: aioredis.client.PubSub | None = None
        self._task: asyncio.Task | None = None
        self._in_outage = False
        # SUBSCRIBE commands sent on the current connection and not yet confirmed, by channel.
        self._unconfirmed: dict[str, int] = {}
        self._subscribed: set[str] = set()
        # Channels whose streams may have missed entries: caught up once subscribed again.
        self._stale: set[str] = set()
        self._work: dict[str, _Work] = {}
        self._dispatchers: dict[str, asyncio.Task] = {}
        self._background: set[asyncio.Task] = set()

    # --- streams come and go ----------------------------------------------------------------------

    async def add(self, listener: Listener) -> None:
        """Deliver to `listener` from now on. Returns once its channel's subscription is confirmed,
        so that the stream's own catch-up from the database, done next, leaves no gap; or at once
        during a Redis outage (the catch-up after reconnecting covers the stream)."""
        channel = listener.channel
        first = channel not in self.listeners
        self.listeners.setdefault(channel, set()).add(listener)
        if self._in_outage:
            self._stale.add(channel)
            listener.set_ready()
        elif channel in self._subscribed:
            listener.set_ready()
        elif first and self._pubsub is not None:
            await self._subscribe(self._pubsub, [channel])
        if self._task is None:
            self._task = asyncio.create_task(self._run())
        try:
            async with asyncio.timeout(SUBSCRIBE_TIMEOUT_SECONDS):
                await asyncio.shield(listener.ready)
        except TimeoutError:
            logger.warning("Redis did not confirm the live feed subscription to %s in time", channel)
            self._stale.add(channel)

    def remove(self, listener: Listener) -> None:
        listener.closed = True
        channel = listener.channel
        listeners = self.listeners.get(channel)
        if listeners is None or listener not in listeners:
            return
        listeners.discard(listener)
        if listeners:
            return
        del self.listeners[channel]
        self._subscribed.discard(channel)
        self._stale.discard(channel)
        self._work.pop(channel, None)
        if not self.listeners:
            # The last stream closed: drop the connection (its task closes it) until one opens again.
            if self._task is not None:
                self._task.cancel()
            self._task, self._pubsub, self._in_outage = None, None, False
            self._unconfirmed.clear()
            self._subscribed.clear()
        elif self._pubsub is not None:
            self._spawn(self._unsubscribe(self._pubsub, channel))

    # --- Redis ------------------------------------------------------------------------------------

    async def _run(self) -> None:
        client = pubsub = None
        delay = RECONNECT_FIRST_DELAY_SECONDS
        try:
            while self.listeners:
                try:
                    client = aioredis.Redis.from_url(
                        self.redis_url,
                        client_name=self.connection_name,
                        socket_connect_timeout=2,
                        health_check_interval=IDLE_READ_SECONDS,
                        retry=Retry(NoBackoff(), 0),  # this loop reconnects, and catches the streams up
                    )
                    pubsub = client.pubsub()
                    await pubsub.connect()
                    self._pubsub, self._in_outage = pubsub, False
                    await self._subscribe(pubsub, list(self.listeners))
                    delay = RECONNECT_FIRST_DELAY_SECONDS
                    while self.listeners:
                        message = await pubsub.get_message(timeout=IDLE_READ_SECONDS)
                        if message is not None:
                            self._on_message(message)
                except (aioredis.RedisError, OSError) as error:
                    await self._close(client, pubsub)
                    client = pubsub = None
                    if not self.listeners:
                        break
                    logger.warning("The live feed lost Redis (%s); reconnecting in %.1f s", error, delay)
                    self._lose_connection()
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, RECONNECT_MAX_DELAY_SECONDS)
        finally:
            await self._close(client, pubsub)

    async def _subscribe(self, pubsub: aioredis.client.PubSub, channels: list[str]) -> None:
        for channel in channels:
            self._unconfirmed[channel] = self._unconfirmed.get(channel, 0) + 1
        try:
            await pubsub.subscribe(*channels)
        except (aioredis.RedisError, OSError):
            logger.warning("Could not subscribe to %s; the reconnection will", channels, exc_info=True)

    async def _unsubscribe(self, pubsub: aioredis.client.PubSub, channel: str) -> None:
        if channel in self.listeners or pubsub is not self._pubsub:
            return  # a stream opened on it again meanwhile, or the connection is gone
        with contextlib.suppress(aioredis.RedisError, OSError):
            await pubsub.unsubscribe(channel)

    def _lose_connection(self) -> None:
        """Redis went away: the streams stay open; whatever was announced meanwhile is caught up."""
        self._pubsub, self._in_outage = None, True
        self._unconfirmed.clear()
        self._subscribed.clear()
        self._stale.update(self.listeners)
        for listeners in self.listeners.values():
            for listener in listeners:
                listener.set_ready()

    @staticmethod
    async def _close(client: aioredis.Redis | None, pubsub: aioredis.client.PubSub | None) -> None:
        with contextlib.suppress(aioredis.RedisError, OSError):
            if pubsub is not None:
                await pubsub.aclose()
            if client is not None:
                await client.aclose()

    def _on_message(self, message: dict) -> None:
        channel = message["channel"]
        channel = channel.decode() if isinstance(channel, bytes) else channel
        if message["type"] == "subscribe":
            self._confirm(channel)
        elif message["type"] == "message" and channel in self.listeners:
            try:
                entry_id = int(json.loads(message["data"])["entry_id"])
            except (ValueError, KeyError, TypeError):
                return
            self._queue(channel, entry_id=entry_id)

    def _confirm(self, channel: str) -> None:
        left = self._unconfirmed.get(channel, 0) - 1
        if left > 0:
            self._unconfirmed[channel] = left
            return  # an earlier SUBSCRIBE's answer: wait for the latest one's
        self._unconfirmed.pop(channel, None)
        if channel not in self.listeners:
            return
        self._subscribed.add(channel)
        for listener in self.listeners[channel]:
            listener.set_ready()
        if channel in self._stale:
            self._stale.discard(channel)
            self._queue(channel, catch_up=True)

    # --- answering --------------------------------------------------------------------------------

    def _queue(self, channel: str, *, entry_id: int | None = None, catch_up: bool = False) -> None:
        work = self._work.setdefault(channel, _Work())
        if entry_id is not None:
            work.ids.append(entry_id)
        work.catch_up |= catch_up
        if channel not in self._dispatchers:
            self._dispatchers[channel] = asyncio.create_task(self._dispatch(channel))

    async def _dispatch(self, channel: str) -> None:
        """A channel's entries in the order announced; those announced while a query runs go together
        in the next one."""
        try:
            while (work := self._work.pop(channel, None)) is not None:
                listeners = [listener for listener in self.listeners.get(channel, ()) if not listener.closed]
                if not listeners:
                    continue
                try:
                    if work.catch_up:
                        await self._catch_up(listeners)
                    if work.ids:
                        await self._deliver(listeners, work.ids)
                except Exception:  # a stream is never left waiting for what it will not get
                    logger.exception("The live feed could not answer for entries %s; its streams reconnect", work.ids)
                    for listener in listeners:
                        listener.close()
        finally:
            self._dispatchers.pop(channel, None)

    @staticmethod
    def _by_audience(listeners: list[Listener]) -> dict[Audience, list[Listener]]:
        groups: dict[Audience, list[Listener]] = {}
        for listener in listeners:
            groups.setdefault(listener.audience, []).append(listener)
        return groups

    async def _deliver(self, listeners: list[Listener], ids: list[int]) -> None:
        groups = self._by_audience(listeners)
        audiences = list(groups)
        answers = await run_on_pool(lambda: answer(audiences, ids=ids))
        for audience, events in zip(audiences, answers, strict=True):
            for listener in groups[audience]:
                for entry_id, event in events:
                    listener.deliver(entry_id, event)

    async def _catch_up(self, listeners: list[Listener]) -> None:
        groups = self._by_audience(listeners)
        audiences = list(groups)
        floors = {listener: listener.last_id for listener in listeners}
        after = [min(floors[listener] for listener in groups[audience]) for audience in audiences]
        answers = await run_on_pool(lambda: answer(audiences, after=after))
        for audience, events in zip(audiences, answers, strict=True):
            for listener in groups[audience]:
                for entry_id, event in events:
                    if entry_id > floors[listener]:
                        listener.deliver(entry_id, event)

    def _spawn(self, coroutine) -> None:
        task = asyncio.create_task(coroutine)
        self._background.add(task)
        task.add_done_callback(self._background.discard)


_hubs: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, FeedHub] = weakref.WeakKeyDictionary()


def feed_hub() -> FeedHub:
    """The hub of the running event loop (each worker process runs one loop)."""
    loop = asyncio.get_running_loop()
    hub = _hubs.get(loop)
    if hub is None:
        hub = _hubs[loop] = FeedHub(settings.REDIS_URL)
    return hub
