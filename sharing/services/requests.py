"""Writes of requests for information (RFIs): submit, assign, answer, close.

Another app (the liaison workspace) submits an RFI with `submit_request` and learns of its answer from
the durable `rfi_answered` domain event; both `rfi_submitted` and `rfi_answered` are written in the
transaction of the change they announce.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from agencies.models import Agency, Jurisdiction, Role, User
from agencies.visibility import person_may_see_anything
from dissemination.services import record_event

from ..models import RequestEvent, RequestForInformation, RequestNumberSequence, ThreatProduct

S = RequestForInformation.State
A = RequestEvent.Action

# The lifecycle, one table: (from state, action) -> to state. Anything else is refused.
# Assigning an assigned request hands it to another analyst; any request not yet closed can be closed.
TRANSITIONS: dict[tuple[str, str], str] = {
    (S.SUBMITTED, A.ASSIGNED): S.ASSIGNED,
    (S.ASSIGNED, A.ASSIGNED): S.ASSIGNED,
    (S.ASSIGNED, A.ANSWERED): S.ANSWERED,
    (S.SUBMITTED, A.CLOSED): S.CLOSED,
    (S.ASSIGNED, A.CLOSED): S.CLOSED,
    (S.ANSWERED, A.CLOSED): S.CLOSED,
}

ACTION_WORDS = {A.ASSIGNED: "assign", A.ANSWERED: "answer", A.CLOSED: "close"}


def next_state(state: str, action: str) -> str:
    """The state after `action`, or a ValidationError saying why the action is not possible now."""
    try:
        return TRANSITIONS[(state, action)]
    except KeyError:
        words = ACTION_WORDS.get(action, action)
        raise ValidationError({"state": f"You cannot {words} a request that is {S(state).label.lower()}."}) from None


# --- Who may do what ---------------------------------------------------------------------------


def may_assign(person: User, rfi: RequestForInformation) -> bool:
    """Supervisors of the fusion center that received the request assign it."""
    return person.agency_id == rfi.fusion_center_id and person.has_role(Role.SUPERVISOR)


def may_answer(person: User, rfi: RequestForInformation) -> bool:
    """The analyst it is assigned to answers it."""
    return rfi.assignee_id is not None and person.pk == rfi.assignee_id


def may_close(person: User, rfi: RequestForInformation) -> bool:
    """The requester, or a supervisor of the fusion center that received it, closes it."""
    return person.pk == rfi.requester_id or may_assign(person, rfi)


def check_may_assign(person: User, rfi: RequestForInformation) -> None:
    if not may_assign(person, rfi):
        raise PermissionDenied("Only supervisors of the fusion center that received the request assign it.")


def check_may_answer(person: User, rfi: RequestForInformation) -> None:
    if not may_answer(person, rfi):
        raise PermissionDenied("Only the analyst the request is assigned to answers it.")


def check_may_close(person: User, rfi: RequestForInformation) -> None:
    if not may_close(person, rfi):
        raise PermissionDenied(
            "Only the requester or a supervisor of the fusion center that received the request closes it."
        )


def is_assignable(person: User, fusion_center_id: int) -> bool:
    return person.is_active and person.agency_id == fusion_center_id and person.has_role(Role.ANALYST)


def default_fusion_center() -> Agency | None:
    """Where a request goes when the requester names no center: the first active fusion center."""
    return Agency.objects.filter(kind=Agency.Kind.FUSION_CENTER, is_active=True).order_by("name", "pk").first()


# --- Helpers -----------------------------------------------------------------------------------


def _next_number(year: int) -> str:
    # The row lock is held until the submitting transaction ends, so numbers have neither duplicates
    # nor gaps (a rolled-back request gives its number back).
    RequestNumberSequence.objects.get_or_create(year=year)
    sequence = RequestNumberSequence.objects.select_for_update().get(year=year)
    sequence.last_value += 1
    sequence.save(update_fields=["last_value"])
    return f"RFI-{year}-{sequence.last_value:04d}"


def _lock(rfi: RequestForInformation) -> RequestForInformation:
    return RequestForInformation.objects.select_for_update().get(pk=rfi.pk)


def _record(rfi: RequestForInformation, action: str, by: User, note: str = "") -> RequestEvent:
    return RequestEvent.objects.create(request=rfi, action=action, by=by, note=note)


def _event_payload(rfi: RequestForInformation) -> dict:
    return {
        "number": rfi.number,
        "requester_id": rfi.requester_id,
        "requesting_agency_id": rfi.requesting_agency_id,
        "fusion_center_id": rfi.fusion_center_id,
        "priority": rfi.priority,
        "due_date": rfi.due_date.isoformat(),
    }


# --- Services ----------------------------------------------------------------------------------


def submit_request(
    *,
    by: User,
    question: str,
    due_date: date | None,
    priority: str = RequestForInformation.Priority.ROUTINE,
    jurisdiction: Jurisdiction | None = None,
    fusion_center: Agency | None = None,
    context: dict | None = None,
) -> RequestForInformation:
    """Ask a fusion center a question on behalf of the person's agency; numbered `RFI-<year>-<seq>`.

    `context` travels in the `rfi_submitted` event's payload, so the app that raised the request
    (e.g. from an incident) can link it to its own records when it handles that event.
    """
    if not person_may_see_anything(by):
        raise PermissionDenied("Only active people of an active agency ask for information.")
    fusion_center = fusion_center or default_fusion_center()
    errors: dict[str, str] = {}
    if not (question or "").strip():
        errors["question"] = "Write the question you need answered."
    if priority not in RequestForInformation.Priority.values:
        errors["priority"] = "Choose routine, priority or immediate."
    if due_date is None:
        errors["due_date"] = "Say by when you need the answer."
    elif due_date < timezone.localdate():
        errors["due_date"] = "The due date cannot be in the past."
    if fusion_center is None:
        errors["fusion_center"] = "There is no fusion center to send the request to."
    elif not (fusion_center.is_fusion_center and fusion_center.is_active):
        errors["fusion_center"] = "Choose an active fusion center."
    if errors:
        raise ValidationError(errors)
    with transaction.atomic(durable=True):
        now = timezone.now()
        rfi = RequestForInformation.objects.create(
            number=_next_number(timezone.localdate(now).year),
            question=question.strip(),
            priority=priority,
            due_date=due_date,
            jurisdiction=jurisdiction,
            requester=by,
            requesting_agency=by.agency,
            fusion_center=fusion_center,
            created_at=now,
        )
        _record(rfi, A.SUBMITTED, by)
        record_event(kind="rfi_submitted", subject=rfi, payload=_event_payload(rfi) | {"context": context or {}})
    return rfi


def assign_request(*, rfi: RequestForInformation, by: User, assignee: User, note: str = "") -> RequestForInformation:
    """Give a request to an analyst of the fusion center that received it (or hand it to another)."""
    check_may_assign(by, rfi)
    if not is_assignable(assignee, rfi.fusion_center_id):
        raise ValidationError({"assignee": "Choose an active analyst of the fusion center."})
    with transaction.atomic(durable=True):
        rfi = _lock(rfi)
        rfi.state = next_state(rfi.state, A.ASSIGNED)
        if rfi.assignee_id == assignee.pk:
            raise ValidationError({"assignee": f"The request is already assigned to {assignee}."})
        rfi.assignee = assignee
        rfi.save(update_fields=["state", "assignee"])
        _record(rfi, A.ASSIGNED, by, f"Assigned to {assignee}." + (f" {note.strip()}" if note.strip() else ""))
    return rfi


def answer_request(
    *, rfi: RequestForInformation, by: User, answer: str = "", product_ids: Sequence[int] = ()
) -> RequestForInformation:
    """Answer a request in text and/or with published products that its requester may see."""
    check_may_answer(by, rfi)
    answer = (answer or "").strip()
    wanted = list(dict.fromkeys(int(pk) for pk in product_ids))
    if not answer and not wanted:
        raise ValidationError({"answer": "Write an answer, or choose products that answer the question."})
    products = _answer_products(rfi=rfi, by=by, product_ids=wanted)
    with transaction.atomic(durable=True):
        rfi = _lock(rfi)
        check_may_answer(by, rfi)  # it may have been handed to another analyst meanwhile
        rfi.state = next_state(rfi.state, A.ANSWERED)
        rfi.answer = answer
        rfi.answered_at = timezone.now()
        rfi.save(update_fields=["state", "answer", "answered_at"])
        rfi.answer_products.set(products)
        numbers = ", ".join(p.display_number for p in products)
        _record(rfi, A.ANSWERED, by, f"Products: {numbers}." if numbers else "")
        record_event(
            kind="rfi_answered",
            subject=rfi,
            payload=_event_payload(rfi) | {"answered_by_id": by.pk, "product_ids": [p.pk for p in products]},
        )
    return rfi


def _answer_products(*, rfi: RequestForInformation, by: User, product_ids: list[int]) -> list[ThreatProduct]:
    """The products, if each is published and both the answerer and the requester may see it."""
    if not product_ids:
        return []
    seen_by_answerer = {p.pk: p for p in ThreatProduct.objects.visible_to(by).filter(pk__in=product_ids).order_by("pk")}
    missing = [pk for pk in product_ids if pk not in seen_by_answerer]
    if missing:
        raise ValidationError({"products": f"No such product: {', '.join(f'#{pk}' for pk in missing)}."})
    unpublished = [p for p in seen_by_answerer.values() if p.state != ThreatProduct.State.PUBLISHED]
    if unpublished:
        raise ValidationError(
            {
                "products": "Answer with published products only: "
                + ", ".join(f"{p.display_number} {p.title}" for p in unpublished)
                + "."
            }
        )
    requester_sees = set(
        ThreatProduct.objects.visible_to(rfi.requester).filter(pk__in=product_ids).values_list("pk", flat=True)
    )
    hidden = [p for p in seen_by_answerer.values() if p.pk not in requester_sees]
    if hidden:
        raise ValidationError(
            {
                "products": f"{rfi.requester} may not see "
                + ", ".join(p.display_number for p in hidden)
                + ": choose products released to them, or answer in text."
            }
        )
    return [seen_by_answerer[pk] for pk in product_ids]


def close_request(*, rfi: RequestForInformation, by: User, note: str = "") -> RequestForInformation:
    """Close a request: answered, or no longer needed."""
    check_may_close(by, rfi)
    with transaction.atomic(durable=True):
        rfi = _lock(rfi)
        rfi.state = next_state(rfi.state, A.CLOSED)
        rfi.closed_at = timezone.now()
        rfi.save(update_fields=["state", "closed_at"])
        _record(rfi, A.CLOSED, by, note.strip())
    return rfi
