"""What dissemination needs to know of each kind of item it delivers, registered by the app that
owns the item (in its AppConfig.ready), so that this app never imports those above it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.apps import apps
from django.db import models


@dataclass(frozen=True)
class ItemSummary:
    """What a notification may say of an item. `text` is the summary (or tearline) for open
    channels; restricted items never put it in an email."""

    number: str
    kind: str
    title: str
    url: str
    text: str
    is_restricted: bool
    is_exercise: bool = False


@dataclass(frozen=True)
class ItemType:
    label: str
    summarize: Callable[[models.Model, bool], ItemSummary]
    # Webhook payloads by format ("json", "cap", "stix"): (item, full_text) -> (bytes, content type).
    payloads: dict[str, Callable[[models.Model, bool], tuple[bytes, str]]]
    # The relations `summarize` reads, fetched with the items (one query for a page of them).
    related: tuple[str, ...] = ()


_types: dict[str, ItemType] = {}


def register_item_type(item_type: ItemType) -> None:
    _types[item_type.label] = item_type


def item_type(label: str) -> ItemType:
    try:
        return _types[label]
    except KeyError:
        raise LookupError(f"No item type {label!r} is registered for dissemination.") from None


def load_item(label: str, pk: int) -> models.Model:
    return apps.get_model(label).objects.get(pk=pk)
