"""Live incident feed: after a commit, new entries are announced on Redis channels that the
event-stream view relays to open pages. The database stays the source of truth: a page that
reconnects asks for what it missed since its Last-Event-ID."""

from __future__ import annotations

import json
import logging

import redis
from django.conf import settings

logger = logging.getLogger(__name__)


def incident_channel(incident_id: int) -> str:
    return f"fusionhub:feed:incident:{incident_id}"


def eoc_channel(eoc_id: int) -> str:
    return f"fusionhub:feed:eoc:{eoc_id}"


_client: redis.Redis | None = None


def _redis() -> redis.Redis:
    global _client
    if _client is None:
        _client = redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=2, socket_timeout=2)
    return _client


def announce_entry(*, entry_id: int, incident_id: int | None, eoc_id: int) -> None:
    """Tell open feed pages that an entry was posted. A Redis outage only delays the pages (they
    catch up on reconnect or by polling); it never fails the post."""
    message = json.dumps({"entry_id": entry_id})
    try:
        pipe = _redis().pipeline(transaction=False)
        if incident_id is not None:
            pipe.publish(incident_channel(incident_id), message)
        pipe.publish(eoc_channel(eoc_id), message)
        pipe.execute()
    except redis.RedisError:
        logger.warning("Could not announce feed entry %s on Redis", entry_id, exc_info=True)
