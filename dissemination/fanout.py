"""Fan-out: turning a dispatch into one delivery per recipient and channel.

Recipients come from the visibility policy (`agencies.visibility.recipients_of`) as one query, and
every delivery of the dispatch is written by one `INSERT … SELECT … ON CONFLICT DO NOTHING` in one
transaction: the database streams the rows (an inbox delivery for each person and an email delivery
for each who wants email at once), nothing is loaded into memory, and a fan-out costs about what a
COPY of its rows costs. The transaction also marks the dispatch fanned out, so a fan-out is recorded
whole or not at all; the unique constraints make a repeated or concurrent one insert nothing twice.
A session advisory lock keeps two workers off one dispatch; a worker that dies releases it with its
connection (its transaction rolls back), and the sweep starts again.

The email deliveries are written already leased to the sending queue and queued by id after commit;
should the worker die in between, the sweep queues them once the lease runs out.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial

from django.db import connection, models, transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from agencies.audit import record_audit
from agencies.markings import TLP, Caveat
from agencies.models import Agency, AuditAction, User
from agencies.visibility import recipients_of

from .models import Delivery, Dispatch, NotificationPreference, WebhookEndpoint
from .registry import load_item
from .selectors import forget_unread_counts
from .sending import QUEUED_LEASE, queue_deliveries, queue_sending

logger = logging.getLogger(__name__)

# Keeps our advisory locks apart from any other application's on the same database.
LOCK_NAMESPACE = 7351


def _earlier_versions(item) -> list:
    versions, current = [], getattr(item, "previous_version", None)
    while current is not None:
        versions.append(current)
        current = getattr(current, "previous_version", None)
    return versions


def _with_access(item, people: models.QuerySet) -> models.QuerySet:
    """The LES rule of the policy: full text for law enforcement, the tearline (if any) for others."""
    full = Q(pk__isnull=False)
    if Caveat.LES in item.caveats:
        full = Q(is_law_enforcement=True)
        if item.tearline == "":
            people = people.filter(full)
    return people.annotate(full_access=models.ExpressionWrapper(full, output_field=models.BooleanField()))


def recipients_for(dispatch: Dispatch, item) -> models.QuerySet:
    """The people this dispatch reaches, annotated with `full_access`.

    A publish reaches the item's audience. An update reaches the audience and, for GREEN and
    CLEAR items (which every partner may look up), everyone who received an earlier version. A
    retraction reaches the audience and everyone who received any version.
    """
    audience = recipients_of(item)
    earlier = _earlier_versions(item)
    widen = dispatch.action == Dispatch.Action.RETRACT or (
        dispatch.action == Dispatch.Action.UPDATE and item.tlp in (TLP.GREEN, TLP.CLEAR)
    )
    if not earlier or not widen:
        return audience
    earlier_dispatches = Dispatch.objects.filter(item_type=dispatch.item_type, item_id__in=[v.pk for v in earlier])
    received_before = Exists(
        Delivery.objects.filter(
            dispatch__in=earlier_dispatches, recipient=OuterRef("pk"), channel=Delivery.Channel.INBOX
        )
    )
    people = User.objects.filter(is_active=True, agency__is_active=True).exclude(agency_id=item.originating_agency_id)
    return _with_access(item, people.filter(Q(pk__in=audience.values("pk")) | Q(received_before)))


def _wants_email_now() -> Q:
    return (
        ~Q(email="")
        & ~Q(
            Exists(
                NotificationPreference.objects.filter(
                    person=OuterRef("pk"),
                    email_mode__in=[NotificationPreference.EmailMode.DIGEST, NotificationPreference.EmailMode.OFF],
                )
            )
        )
        & ~Q(agency__channels__email_enabled=False)
    )


def _insert_deliveries(dispatch: Dispatch, people: models.QuerySet) -> list[int]:
    """INSERT … SELECT every person's deliveries in one statement: the inbox (recorded as sent: the
    inbox is the delivery) and, for those who want email at once, an email delivery waiting for the
    sending queue, leased to it. Returns the ids of the new email deliveries."""
    people = people.order_by().annotate(
        wants_email=models.ExpressionWrapper(_wants_email_now(), output_field=models.BooleanField())
    )
    select_sql, params = people.values("pk", "full_access", "wants_email").query.sql_with_params()
    table = Delivery._meta.db_table
    inbox, email = Delivery.Channel.INBOX, Delivery.Channel.EMAIL
    sql = f"""
        WITH inserted AS (
            INSERT INTO {table} (dispatch_id, channel, recipient_id, endpoint_id, is_full_text, state, created_at,
                                 sent_at, next_attempt_at, attempts, last_error)
            SELECT %s, channel.name, people.id, NULL, people.full_access, channel.state, now(),
                   CASE WHEN channel.name = %s THEN now() END, CASE WHEN channel.name = %s THEN now() + %s END, 0, ''
            FROM ({select_sql}) AS people (id, full_access, wants_email)
            CROSS JOIN (VALUES (%s, %s), (%s, %s)) AS channel (name, state)
            WHERE channel.name = %s OR people.wants_email
            ON CONFLICT DO NOTHING
            RETURNING id, channel
        )
        SELECT id FROM inserted WHERE channel = %s ORDER BY id
    """  # nosec B608 # noqa: S608 - the table and the inner query are ours; every value is a parameter
    arguments = [dispatch.pk, inbox, email, QUEUED_LEASE, *params,
                 inbox, Delivery.State.SENT, email, Delivery.State.PENDING, inbox, email]  # fmt: skip
    with connection.cursor() as cursor:
        cursor.execute(sql, arguments)
        return [row[0] for row in cursor.fetchall()]


@contextmanager
def _fan_out_lock(dispatch_id: int) -> Iterator[bool]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", [LOCK_NAMESPACE, dispatch_id])
        (locked,) = cursor.fetchone()
    try:
        yield locked
    finally:
        if locked:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [LOCK_NAMESPACE, dispatch_id])


def _endpoints_for(dispatch: Dispatch, item) -> list[Delivery]:
    """One webhook delivery per active endpoint of an agency that has a recipient of this dispatch.
    TLP:RED goes to named people only, never to an agency's system."""
    if item.tlp == TLP.RED:
        return []
    agencies = Delivery.objects.filter(dispatch=dispatch, channel=Delivery.Channel.INBOX).values("recipient__agency_id")
    endpoints = WebhookEndpoint.objects.filter(is_active=True, agency_id__in=agencies).select_related("agency")
    les = Caveat.LES in item.caveats
    return [
        Delivery(
            dispatch=dispatch,
            channel=Delivery.Channel.WEBHOOK,
            endpoint=endpoint,
            # An agency's system has no law-enforcement status of its own: LES text only to law enforcement agencies.
            is_full_text=not les or endpoint.agency.discipline == Agency.Discipline.LAW_ENFORCEMENT,
        )
        for endpoint in endpoints
        if not (les and item.tearline == "" and endpoint.agency.discipline != Agency.Discipline.LAW_ENFORCEMENT)
    ]


def fan_out(*, dispatch_id: int) -> bool:
    """Record every delivery of a dispatch; returns False when another worker holds it or it is done.

    Inbox deliveries are recorded as sent (the inbox is the delivery); email and webhook
    deliveries wait as pending for the sending queue.
    """
    with _fan_out_lock(dispatch_id) as locked:
        if not locked:
            return False
        claimed = Dispatch.objects.filter(
            pk=dispatch_id, state__in=[Dispatch.State.PENDING, Dispatch.State.FANNING_OUT]
        ).update(state=Dispatch.State.FANNING_OUT, started_at=timezone.now())
        if not claimed:
            return False
        dispatch = Dispatch.objects.select_related("created_by").get(pk=dispatch_id)
        item = load_item(dispatch.item_type, dispatch.item_id)
        people = recipients_for(dispatch, item)
        # Shown while the fan-out runs ("0 of 10,000"): the page tells how many it will reach.
        total = people.order_by().count()
        Dispatch.objects.filter(pk=dispatch_id).update(recipients_total=total)
        with transaction.atomic():
            email_ids = _insert_deliveries(dispatch, people)
            done = Delivery.objects.filter(dispatch=dispatch, channel=Delivery.Channel.INBOX).count()
            endpoints = _endpoints_for(dispatch, item)
            Delivery.objects.bulk_create(endpoints, ignore_conflicts=True)
            Dispatch.objects.filter(pk=dispatch_id).update(
                state=Dispatch.State.FANNED_OUT, finished_at=timezone.now(), recipients_total=done, recipients_done=done
            )
            # One entry per dispatch (the deliveries are the per-recipient record).
            record_audit(
                action=AuditAction.DISSEMINATE,
                person=dispatch.created_by,
                agency=dispatch.originating_agency_id,
                item=item,
                detail={
                    "dispatch": dispatch.pk,
                    "dispatch_action": dispatch.action,
                    "recipients": done,
                    "webhook_endpoints": len(endpoints),
                    "reason": dispatch.reason[:500],
                },
            )
    forget_unread_counts()
    # The inboxes have it now; email and webhooks go through the sending queue, at their own pace.
    transaction.on_commit(partial(queue_deliveries, email_ids, []))
    queue_sending(dispatch_id=dispatch_id)
    return True
