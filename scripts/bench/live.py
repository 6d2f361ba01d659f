"""Live feed clients: many open event streams on one asyncio loop, and the clock that times a POST's
entry until it arrives in every one of them. Plain HTTP/1.1 over asyncio streams, nothing else."""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, field

import redis.asyncio as aioredis


@dataclass
class Arrivals:
    """When each entry id first arrived in each client (monotonic seconds), and how many arrived again."""

    by_entry: dict[int, dict[int, float]] = field(default_factory=dict)
    duplicates: int = 0

    def add(self, entry_id: int, client: int, at: float) -> None:
        seen = self.by_entry.setdefault(entry_id, {})
        if client in seen:
            self.duplicates += 1
        else:
            seen[client] = at


async def _read_head(reader: asyncio.StreamReader) -> tuple[int, dict[str, str]]:
    status_line = await reader.readline()
    parts = status_line.decode().split()
    status = int(parts[1]) if len(parts) > 1 else 0
    headers = {}
    while True:
        line = (await reader.readline()).decode().strip()
        if not line:
            return status, headers
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()


async def request(port: int, method: str, path: str, headers: dict[str, str], body: bytes = b"") -> tuple[int, bytes]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    head = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", "Connection: close", f"Content-Length: {len(body)}"]
    head += [f"{k}: {v}" for k, v in headers.items()]
    writer.write(("\r\n".join(head) + "\r\n\r\n").encode() + body)
    await writer.drain()
    status, response_headers = await _read_head(reader)
    if "content-length" in response_headers:
        payload = await reader.readexactly(int(response_headers["content-length"]))
    else:
        payload = await reader.read()
    writer.close()
    return status, payload


class EventStreamParser:
    """Server-sent events out of an HTTP/1.1 response body, chunked or not, fed as it arrives. Only the
    `id`, `event` and `retry` fields are read; `data` lines are skipped. Events end with a blank line
    (LF line ends, as the site sends them)."""

    def __init__(self, *, chunked: bool) -> None:
        self.chunked = chunked
        self.raw = bytearray()  # chunked transfer coding not yet decoded
        self.body = bytearray()  # decoded body not yet parsed into events
        self.chunk_left = 0
        self.chunk_end_pending = False
        self.ended = False

    def feed(self, data: bytes) -> list[dict[bytes, bytes]]:
        """The events completed by `data`, each as its fields (name -> value)."""
        if self.chunked:
            self._dechunk(data)
        else:
            self.body += data
        events, start = [], 0
        while (end := self.body.find(b"\n\n", start)) >= 0:
            fields = {}
            for line in self.body[start:end].split(b"\n"):
                if line.startswith((b"id:", b"event:", b"retry:")):
                    name, _, value = line.partition(b":")
                    fields[bytes(name)] = bytes(value[1:] if value.startswith(b" ") else value)
            events.append(fields)
            start = end + 2
        del self.body[:start]
        return events

    def _dechunk(self, data: bytes) -> None:
        raw = self.raw
        raw += data
        at = 0
        while True:
            if self.chunk_left:
                take = min(self.chunk_left, len(raw) - at)
                self.body += raw[at : at + take]
                at += take
                self.chunk_left -= take
                if self.chunk_left:
                    break
                self.chunk_end_pending = True
            if self.chunk_end_pending:
                if len(raw) - at < 2:
                    break
                at += 2  # the CRLF closing a chunk
                self.chunk_end_pending = False
            line_end = raw.find(b"\r\n", at)
            if line_end < 0:
                break
            size = int(bytes(raw[at:line_end]).split(b";")[0], 16)
            at = line_end + 2
            if size == 0:
                self.ended = True
                break
            self.chunk_left = size
        del raw[:at]


class StreamClient:
    """One open event stream, recording the arrival time of each `entry` event by its id. Reads what
    the socket has in one go and parses it without a coroutine step per line: 200 of these share
    one process, which must not be what delays an arrival."""

    def __init__(self, number: int, port: int, path: str, headers: dict[str, str], arrivals: Arrivals) -> None:
        self.number, self.port, self.path, self.headers, self.arrivals = number, port, path, headers, arrivals
        self.connected = asyncio.Event()
        self.failed: str | None = None
        self.task: asyncio.Task | None = None

    async def run(self) -> None:
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", self.port, limit=1 << 20)
            head = [f"GET {self.path} HTTP/1.1", "Host: 127.0.0.1", "Accept: text/event-stream"]
            head += [f"{k}: {v}" for k, v in self.headers.items()]
            writer.write(("\r\n".join(head) + "\r\n\r\n").encode())
            await writer.drain()
            status, headers = await _read_head(reader)
            if status != 200:
                self.failed = f"status {status}"
                return
            parser = EventStreamParser(chunked=headers.get("transfer-encoding", "").lower() == "chunked")
            while not parser.ended:
                data = await reader.read(1 << 16)
                if not data:
                    break
                at = time.monotonic()
                for fields in parser.feed(data):
                    if b"retry" in fields:
                        self.connected.set()
                    if fields.get(b"event") == b"entry" and b"id" in fields:
                        self.arrivals.add(int(fields[b"id"]), self.number, at)
            self.failed = "closed"
        except (OSError, asyncio.IncompleteReadError, ValueError) as error:
            self.failed = str(error) or type(error).__name__
        finally:
            self.connected.set()


async def open_streams(port: int, path: str, cookies: list[str], count: int, arrivals: Arrivals) -> list[StreamClient]:
    clients = []
    for n in range(count):
        headers = {"Cookie": f"sessionid={cookies[n % len(cookies)]}", "X-Forwarded-Proto": "https"}
        client = StreamClient(n, port, path, headers, arrivals)
        client.task = asyncio.create_task(client.run())
        clients.append(client)
        if n % 20 == 19:
            await asyncio.sleep(0.05)  # as pages open over a moment, not in one instant
    await asyncio.wait_for(asyncio.gather(*(c.connected.wait() for c in clients)), timeout=120)
    return clients


async def close_streams(clients: list[StreamClient]) -> None:
    for client in clients:
        client.task.cancel()
    await asyncio.gather(*(c.task for c in clients), return_exceptions=True)


async def redis_baseline(redis_url: str, subscribers: int, messages: int) -> list[float]:
    """A bare fan-out: PUBLISH to `subscribers` Redis subscriptions; seconds from publish to each arrival."""
    clients = [aioredis.Redis.from_url(redis_url) for _ in range(subscribers)]
    subscriptions = [client.pubsub() for client in clients]
    channel = "fusionhub:bench:baseline"
    for subscription in subscriptions:
        await subscription.subscribe(channel)
    publisher = aioredis.Redis.from_url(redis_url)
    delays: list[float] = []

    async def receive(subscription, sent_at: float) -> None:
        while True:
            message = await subscription.get_message(ignore_subscribe_messages=True, timeout=5)
            if message is not None:
                delays.append(time.monotonic() - sent_at)
                return

    try:
        for n in range(messages):
            sent_at = time.monotonic()
            waiting = [asyncio.create_task(receive(s, sent_at)) for s in subscriptions]
            await publisher.publish(channel, json.dumps({"entry_id": n}))
            await asyncio.gather(*waiting)
            await asyncio.sleep(0.2)
    finally:
        for subscription in subscriptions:
            await subscription.aclose()
        for client in [*clients, publisher]:
            await client.aclose()
    return delays
