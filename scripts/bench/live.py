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
    """When each entry id arrived in each client (monotonic seconds)."""

    by_entry: dict[int, list[float]] = field(default_factory=dict)

    def add(self, entry_id: int, at: float) -> None:
        self.by_entry.setdefault(entry_id, []).append(at)


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


class StreamClient:
    """One open event stream, recording the arrival time of each `entry` event by its id."""

    def __init__(self, port: int, path: str, headers: dict[str, str], arrivals: Arrivals) -> None:
        self.port, self.path, self.headers, self.arrivals = port, path, headers, arrivals
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
            status, _ = await _read_head(reader)
            if status != 200:
                self.failed = f"status {status}"
                self.connected.set()
                return
            entry_id = None
            while True:
                line = await reader.readline()
                if not line:
                    self.failed = "closed"
                    return
                text = line.decode(errors="replace").rstrip("\r\n")
                # Chunked transfer puts size lines between events: they never start with a field name.
                if text.startswith("retry:"):
                    self.connected.set()
                elif text.startswith("id: "):
                    entry_id = int(text[4:])
                elif text.startswith("event: entry") and entry_id is not None:
                    self.arrivals.add(entry_id, time.monotonic())
        except (OSError, asyncio.IncompleteReadError, ValueError) as error:
            self.failed = str(error) or type(error).__name__
        finally:
            self.connected.set()


async def open_streams(port: int, path: str, cookies: list[str], count: int, arrivals: Arrivals) -> list[StreamClient]:
    clients = []
    for n in range(count):
        headers = {"Cookie": f"sessionid={cookies[n % len(cookies)]}", "X-Forwarded-Proto": "https"}
        client = StreamClient(port, path, headers, arrivals)
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
