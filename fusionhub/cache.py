"""The cache's connections to Redis: prompt when Redis is away, so that no page waits on it.

The cache holds only what can be found again (copies of sessions, unread and proposal counts, the
workers' heartbeats) and each caller decides what a failed call means (they catch `RedisError`).
What this adds is time. A connection that cannot reach Redis, or waits for an answer in vain,
pauses the cache of its process for `PAUSE` seconds: every call meanwhile fails at once instead of
waiting for its own timeout, so a page costs at most one timeout while Redis hangs, and nothing
while it is down. A connection that died with a restarted Redis is opened again once, at once, so
the first call after a restart succeeds.
"""

from __future__ import annotations

import time

from redis.backoff import NoBackoff
from redis.connection import Connection
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from redis.retry import Retry

PAUSE = 1.0
CONNECT_TIMEOUT = 0.5
READ_TIMEOUT = 1.0

_paused_until = [0.0]


def _pause() -> None:
    _paused_until[0] = time.monotonic() + PAUSE


def is_paused() -> bool:
    return time.monotonic() < _paused_until[0]


def resume() -> None:
    """Try Redis again at the next call (for tests that bring it back)."""
    _paused_until[0] = 0.0


class PromptConnection(Connection):
    """A redis-py connection of the cache that fails at once while the cache is paused."""

    def _refuse_while_paused(self) -> None:
        if is_paused():
            self.disconnect()
            raise RedisConnectionError("Redis did not answer a moment ago: the cache is paused for a second.")

    def connect_check_health(self, *args, **kwargs):
        self._refuse_while_paused()
        try:
            return super().connect_check_health(*args, **kwargs)
        except (RedisConnectionError, RedisTimeoutError):
            _pause()
            raise

    def send_packed_command(self, command, check_health=True):
        self._refuse_while_paused()
        return super().send_packed_command(command, check_health=check_health)

    def read_response(self, *args, **kwargs):
        try:
            return super().read_response(*args, **kwargs)
        except RedisTimeoutError:
            _pause()
            raise


def options() -> dict:
    """`OPTIONS` of a Redis cache (they reach redis-py's connection pool)."""
    return {
        "connection_class": PromptConnection,
        "socket_connect_timeout": CONNECT_TIMEOUT,
        "socket_timeout": READ_TIMEOUT,
        # Once, at once, and only for a connection that was closed (not for one that timed out).
        "retry": Retry(NoBackoff(), 1, supported_errors=(RedisConnectionError,)),
    }
