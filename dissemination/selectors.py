"""Reads of the dissemination pages and API: a person's inbox, the dissemination record of a dispatch
or of an item's versions, agency channels and webhook endpoints; each a fixed number of queries."""

from __future__ import annotations

import functools
import logging
import time
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from urllib.parse import urlsplit

from django.apps import apps
from django.core.cache import cache
from django.db import models
from django.db.models import Count, Q, QuerySet
from django.db.models.functions import Coalesce
from redis.exceptions import RedisError

from agencies.models import Agency, Role, User
from agencies.visibility import person_may_see_anything

from .models import AgencyChannels, Delivery, Dispatch, NotificationPreference, WebhookEndpoint
from .registry import ItemSummary, item_type, load_item

logger = logging.getLogger(__name__)

# --- What the registered items are ---------------------------------------------------------------


def _has_field(model: type[models.Model], name: str) -> bool:
    return any(field.name == name for field in model._meta.get_fields())


@functools.cache
def _registered_models() -> tuple[type[models.Model], ...]:
    """The marked items that are disseminated to people (registered by their apps when ready)."""
    registered = []
    for model in apps.get_models():
        try:
            item_type(model._meta.label_lower)
        except LookupError:
            continue
        if _has_field(model, "tlp"):
            registered.append(model)
    return tuple(registered)


def kind_choices() -> list[tuple[str, list[tuple[str, str]]]]:
    """The kinds of item a list may be narrowed to, grouped by type of item: the whole type
    ("sharing.threatproduct") and, where the items have kinds, each kind ("sharing.threatproduct:bolo")."""
    groups = []
    for model in _registered_models():
        label, name = model._meta.label_lower, model._meta.verbose_name
        options = [(label, f"Any {name}")]
        if _has_field(model, "kind"):
            field = model._meta.get_field("kind")
            options += [(f"{label}:{value}", str(text)) for value, text in field.choices or []]
        groups.append((str(name).capitalize(), options))
    return groups


def _items_where(label: str, **lookups) -> Q:
    """Deliveries whose item (of the type `label`) matches `lookups`, as one subquery."""
    model = apps.get_model(label)
    return Q(dispatch__item_type=label, dispatch__item_id__in=model._base_manager.filter(**lookups).values("pk"))


def _kind_condition(kind: str) -> Q:
    label, _, value = kind.partition(":")
    if label not in {model._meta.label_lower for model in _registered_models()}:
        return Q(pk__in=[])
    return _items_where(label, kind=value) if value else Q(dispatch__item_type=label)


def _tlp_condition(tlp: str) -> Q:
    condition = Q(pk__in=[])
    for model in _registered_models():
        condition |= _items_where(model._meta.label_lower, tlp=tlp)
    return condition


# --- Items behind deliveries, loaded in bulk -----------------------------------------------------


@dataclass(frozen=True)
class DeliveredItem:
    """What a row says of the item a delivery carried, as the recipient received it."""

    summary: ItemSummary | None
    tlp_label: str
    caveats: list[str]
    is_retracted: bool

    @property
    def path(self) -> str:
        """The item's page on this site, whatever SITE_URL says."""
        if self.summary is None:
            return ""
        parts = urlsplit(self.summary.url)
        return parts.path + (f"?{parts.query}" if parts.query else "")


MISSING_ITEM = DeliveredItem(summary=None, tlp_label="", caveats=[], is_retracted=False)


def _is_retracted(item: models.Model) -> bool:
    return getattr(item, "retracted_at", None) is not None or getattr(item, "state", "") == "retracted"


def _described(item: models.Model, label: str, full_text: bool) -> DeliveredItem:
    return DeliveredItem(
        summary=item_type(label).summarize(item, full_text),
        tlp_label=getattr(item, "tlp_label", ""),
        caveats=list(getattr(item, "caveat_labels", [])),
        is_retracted=_is_retracted(item),
    )


def load_items(dispatches: Iterable[Dispatch]) -> dict[tuple[str, int], models.Model]:
    """The items of these dispatches: one query per type of item, whatever the number of rows."""
    wanted: dict[str, set[int]] = defaultdict(set)
    for dispatch in dispatches:
        wanted[dispatch.item_type].add(dispatch.item_id)
    items: dict[tuple[str, int], models.Model] = {}
    for label, ids in wanted.items():
        try:
            model = apps.get_model(label)
            related = item_type(label).related
        except (LookupError, ValueError):
            continue
        for item in model._base_manager.select_related(*related).filter(pk__in=ids):
            items[(label, item.pk)] = item
    return items


def with_items(deliveries: Iterable[Delivery]) -> list[tuple[Delivery, DeliveredItem]]:
    """Each delivery with what it carried, in the text the recipient may read (full or tearline)."""
    deliveries = list(deliveries)
    items = load_items(delivery.dispatch for delivery in deliveries)
    rows = []
    for delivery in deliveries:
        key = (delivery.dispatch.item_type, delivery.dispatch.item_id)
        item = items.get(key)
        described = MISSING_ITEM if item is None else _described(item, key[0], delivery.is_full_text)
        rows.append((delivery, described))
    return rows


def describe_item(dispatch: Dispatch, *, full_text: bool = True) -> tuple[models.Model | None, DeliveredItem]:
    """One dispatch's item and what the record shows of it (the originator reads the full text)."""
    try:
        item = load_item(dispatch.item_type, dispatch.item_id)
        return item, _described(item, dispatch.item_type, full_text)
    except (LookupError, ValueError, models.ObjectDoesNotExist):
        return None, MISSING_ITEM


# --- The inbox -----------------------------------------------------------------------------------


class InboxState:
    UNREAD = "unread"
    READ = "read"
    ACKNOWLEDGED = "acknowledged"
    CHOICES = [(UNREAD, "Unread"), (READ, "Read, not acknowledged"), (ACKNOWLEDGED, "Acknowledged")]


@dataclass
class InboxFilters:
    """What a person may narrow their inbox by; every field optional."""

    state: str = ""
    kind: str = ""
    tlp: str = ""
    received_from: date | None = None
    received_to: date | None = None


def inbox_deliveries(person: User) -> QuerySet[Delivery]:
    """Every inbox delivery the person received, and nobody else's."""
    return Delivery.objects.filter(recipient_id=person.pk, channel=Delivery.Channel.INBOX)


def inbox(*, person: User, filters: InboxFilters | None = None) -> QuerySet[Delivery]:
    """The person's inbox, newest first, filtered; rows carry their dispatch (use `with_items` for the items)."""
    filters = filters or InboxFilters()
    deliveries = inbox_deliveries(person).select_related("dispatch")
    if filters.state == InboxState.UNREAD:
        deliveries = deliveries.filter(read_at__isnull=True)
    elif filters.state == InboxState.READ:
        deliveries = deliveries.filter(read_at__isnull=False, acknowledged_at__isnull=True)
    elif filters.state == InboxState.ACKNOWLEDGED:
        deliveries = deliveries.filter(acknowledged_at__isnull=False)
    if filters.kind:
        deliveries = deliveries.filter(_kind_condition(filters.kind))
    if filters.tlp:
        deliveries = deliveries.filter(_tlp_condition(filters.tlp))
    if filters.received_from:
        deliveries = deliveries.filter(created_at__date__gte=filters.received_from)
    if filters.received_to:
        deliveries = deliveries.filter(created_at__date__lte=filters.received_to)
    return deliveries.order_by("-created_at", "-pk")


def inbox_delivery(*, person: User, pk: int) -> Delivery:
    """One of the person's own inbox deliveries; DoesNotExist for anyone else's."""
    return inbox_deliveries(person).select_related("dispatch").get(pk=pk)


def unread_count(person: User) -> int:
    """How many inbox deliveries the person has not opened: one COUNT on the inbox index."""
    return inbox_deliveries(person).filter(read_at__isnull=True).count()


# The header's count is kept for a short while, so that most pages cost no query for it. The person's
# own reads and acknowledgements forget it at once (inbox.py); a fan-out forgets everyone's at once by
# moving the generation the counts are kept under (one write, however many recipients).
UNREAD_COUNT_SECONDS = 30
UNREAD_GENERATION_KEY = "dissemination:unread:generation"


def unread_count_key(person_id: int) -> str:
    return f"dissemination:unread:{person_id}"


def forget_unread_counts() -> None:
    """New deliveries were recorded: every kept count is stale."""
    try:
        cache.set(UNREAD_GENERATION_KEY, time.time_ns(), None)
    except RedisError:
        logger.warning("The cache did not answer; unread counts may lag for %s s.", UNREAD_COUNT_SECONDS)


def header_unread_count(person: User) -> int:
    """The unread count for the page header: from the cache (one round trip), else counted (and
    counted anyway when the cache does not answer: a Redis outage costs a query, never a page)."""
    key = unread_count_key(person.pk)
    try:
        kept = cache.get_many([key, UNREAD_GENERATION_KEY])
    except RedisError:
        logger.warning("The cache did not answer; counting unread inbox items in the database.")
        return unread_count(person)
    generation = kept.get(UNREAD_GENERATION_KEY, 0)
    generation_and_count = kept.get(key)
    if isinstance(generation_and_count, tuple) and generation_and_count[0] == generation:
        return generation_and_count[1]
    count = unread_count(person)
    try:
        cache.set(key, (generation, count), UNREAD_COUNT_SECONDS)
    except RedisError:
        logger.warning("The cache did not answer; the unread count is not kept.")
    return count


# --- The dissemination record --------------------------------------------------------------------


def may_see_records_of(person: User | None, agency_id: int) -> bool:
    """The record of what an agency disseminated is for its analysts, supervisors and agency admins,
    and for system admins; recipients never learn who else received an item."""
    if not person_may_see_anything(person):
        return False
    if person.is_system_admin:
        return True
    return person.agency_id == agency_id and (person.has_role(Role.ANALYST, Role.SUPERVISOR) or person.is_agency_admin)


def record_dispatch(*, person: User, pk: int) -> Dispatch:
    """A dispatch whose record the person may see; DoesNotExist otherwise, so outsiders learn nothing."""
    dispatch = Dispatch.objects.select_related("originating_agency", "created_by").get(pk=pk)
    if not may_see_records_of(person, dispatch.originating_agency_id):
        raise Dispatch.DoesNotExist
    return dispatch


@dataclass
class RecordFilters:
    channel: str = ""
    state: str = ""
    access: str = ""  # "full" or "tearline"
    q: str = ""


@dataclass(frozen=True)
class ChannelTotals:
    channel: str
    label: str
    by_state: list[int]  # in the order of Delivery.State
    total: int


def record_totals(dispatch: Dispatch) -> list[ChannelTotals]:
    """Deliveries by channel and state, in one query."""
    counts = {
        (row["channel"], row["state"]): row["n"]
        for row in dispatch.deliveries.order_by().values("channel", "state").annotate(n=Count("pk"))
    }
    totals = []
    for channel, label in Delivery.Channel.choices:
        by_state = [counts.get((channel, state), 0) for state in Delivery.State.values]
        totals.append(ChannelTotals(channel=channel, label=label, by_state=by_state, total=sum(by_state)))
    return totals


def record_deliveries(*, dispatch: Dispatch, filters: RecordFilters | None = None) -> QuerySet[Delivery]:
    """The dispatch's deliveries with their recipients, by agency and person."""
    filters = filters or RecordFilters()
    deliveries = dispatch.deliveries.select_related("recipient__agency", "endpoint__agency")
    if filters.channel:
        deliveries = deliveries.filter(channel=filters.channel)
    if filters.state:
        deliveries = deliveries.filter(state=filters.state)
    if filters.access:
        deliveries = deliveries.filter(is_full_text=filters.access == "full")
    if filters.q:
        words = Q()
        for word in filters.q.split():
            words &= (
                Q(recipient__first_name__icontains=word)
                | Q(recipient__last_name__icontains=word)
                | Q(recipient__username__icontains=word)
                | Q(recipient__agency__name__icontains=word)
                | Q(recipient__agency__acronym__iexact=word)
                | Q(endpoint__agency__name__icontains=word)
                | Q(endpoint__agency__acronym__iexact=word)
            )
        deliveries = deliveries.filter(words)
    return deliveries.annotate(agency_name=Coalesce("recipient__agency__name", "endpoint__agency__name")).order_by(
        "agency_name", "recipient__last_name", "recipient__first_name", "recipient_id", "channel", "pk"
    )


def acknowledgements(*, dispatch: Dispatch, limit: int = 10) -> tuple[int, list[Delivery]]:
    """How many recipients acknowledged, and the latest of them."""
    acknowledged = dispatch.deliveries.filter(channel=Delivery.Channel.INBOX, acknowledged_at__isnull=False)
    latest = list(acknowledged.select_related("recipient__agency").order_by("-acknowledged_at", "-pk")[: limit + 1])
    count = len(latest) if len(latest) <= limit else acknowledged.count()
    return count, latest[:limit]


def _earlier_versions(item: models.Model) -> list[models.Model]:
    """The item's earlier versions, newest first, following `previous_version`. A series that shares a
    number (threat products) is read in one query, however long; the chain is still followed by id."""
    previous_id = getattr(item, "previous_version_id", None)
    if previous_id is None:
        return []
    number = getattr(item, "number", "")
    series = {}
    if number:
        series = {version.pk: version for version in type(item)._default_manager.filter(number=number)}
    versions = []
    while previous_id is not None:
        current = series.get(previous_id) or type(item)._default_manager.get(pk=previous_id)
        versions.append(current)
        previous_id = current.previous_version_id
    return versions


@dataclass(frozen=True)
class ItemRecord:
    item: models.Model
    described: DeliveredItem
    dispatches: list[tuple[Dispatch, DeliveredItem]]


def item_record(*, person: User, item_type_label: str, item_id: int) -> ItemRecord:
    """Every dispatch of an item and of its earlier versions, newest first, with their counts; for the
    people who may see the originating agency's records (LookupError otherwise, or for no such item)."""
    try:
        item = load_item(item_type_label, item_id)
        item_type(item_type_label)
    except (LookupError, ValueError, models.ObjectDoesNotExist):
        raise LookupError("No such item.") from None
    agency_id = getattr(item, "originating_agency_id", None)
    if agency_id is None or not may_see_records_of(person, agency_id):
        raise LookupError("No such item.")
    versions = {item.pk: item} | {version.pk: version for version in _earlier_versions(item)}
    inbox = Q(deliveries__channel=Delivery.Channel.INBOX)
    dispatches = (
        Dispatch.objects.filter(item_type=item_type_label, item_id__in=list(versions))
        .select_related("created_by")
        .annotate(
            inbox_count=Count("deliveries", filter=inbox),
            read_count=Count("deliveries", filter=inbox & Q(deliveries__read_at__isnull=False)),
            acknowledged_count=Count("deliveries", filter=inbox & Q(deliveries__acknowledged_at__isnull=False)),
            failed_count=Count("deliveries", filter=Q(deliveries__state=Delivery.State.FAILED)),
        )
        .order_by("-created_at", "-pk")
    )
    return ItemRecord(
        item=item,
        described=_described(item, item_type_label, True),
        dispatches=[
            (dispatch, _described(versions[dispatch.item_id], item_type_label, True)) for dispatch in dispatches
        ],
    )


# --- Preferences, agency channels and webhook endpoints ------------------------------------------


def email_mode_of(person: User) -> str:
    preference = NotificationPreference.objects.filter(person_id=person.pk).first()
    return preference.email_mode if preference else NotificationPreference.EmailMode.IMMEDIATE


def may_manage_agency(person: User | None, agency_id: int) -> bool:
    """Agency admins manage their own agency's channels and endpoints; system admins every agency's."""
    if not person_may_see_anything(person):
        return False
    return person.is_system_admin or (person.is_agency_admin and person.agency_id == agency_id)


def managed_agency(*, person: User, pk: int) -> Agency:
    """An agency whose settings the person manages; DoesNotExist otherwise."""
    if not may_manage_agency(person, pk):
        raise Agency.DoesNotExist
    return Agency.objects.get(pk=pk)


def agency_channels(agency: Agency) -> AgencyChannels:
    """The agency's channel configuration, or the defaults when it has none yet (not saved)."""
    return AgencyChannels.objects.filter(agency=agency).first() or AgencyChannels(agency=agency)


def webhook_endpoints(*, person: User, agency: Agency | None = None) -> QuerySet[WebhookEndpoint]:
    """The endpoints the person manages (of one agency, if given), with their failed deliveries counted."""
    endpoints = WebhookEndpoint.objects.select_related("agency")
    if not person.is_system_admin:
        endpoints = endpoints.filter(agency_id=person.agency_id) if person.is_agency_admin else endpoints.none()
    if agency is not None:
        endpoints = endpoints.filter(agency=agency)
    return endpoints.annotate(
        failed_count=Count("deliveries", filter=Q(deliveries__state=Delivery.State.FAILED))
    ).order_by("agency__name", "url", "pk")


def managed_endpoint(*, person: User, pk: int) -> WebhookEndpoint:
    """An endpoint the person manages; DoesNotExist otherwise."""
    endpoint = WebhookEndpoint.objects.select_related("agency").get(pk=pk)
    if not may_manage_agency(person, endpoint.agency_id):
        raise WebhookEndpoint.DoesNotExist
    return endpoint


def failed_deliveries(endpoint: WebhookEndpoint) -> QuerySet[Delivery]:
    """The endpoint's deliveries that failed for good, the latest first, with their last error."""
    return (
        endpoint.deliveries.filter(state=Delivery.State.FAILED)
        .select_related("dispatch")
        .order_by("-next_attempt_at", "-created_at", "-pk")
    )


def managed_delivery(*, person: User, pk: int) -> Delivery:
    """A webhook delivery to an endpoint the person manages; DoesNotExist otherwise."""
    delivery = Delivery.objects.select_related("endpoint__agency", "dispatch").get(
        pk=pk, channel=Delivery.Channel.WEBHOOK, endpoint__isnull=False
    )
    if not may_manage_agency(person, delivery.endpoint.agency_id):
        raise Delivery.DoesNotExist
    return delivery
