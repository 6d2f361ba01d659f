"""Handlers for domain events, registered by kind (liaison registers its own in AppConfig.ready)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable

from .models import DomainEvent

EventHandler = Callable[[DomainEvent], None]

_handlers: dict[str, list[EventHandler]] = defaultdict(list)


def register_handler(kind: str, handler: EventHandler) -> None:
    """Call `handler(event)` for every event of this kind. A handler must be idempotent: it may run
    twice for one event (a worker lost after the handler ran, before the event was marked)."""
    if handler not in _handlers[kind]:
        _handlers[kind].append(handler)


def handlers_for(kind: str) -> list[EventHandler]:
    return list(_handlers.get(kind, ()))
