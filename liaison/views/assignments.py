"""Liaison assignments (current and past; made and ended through the services) and the fusion
center's contact of the day, on one page."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from .. import selectors, services
from ..forms import AssignmentForm, DutyContactForm, add_service_errors
from .common import check_center_person, show_refusal

CURRENT_SHOWN = 100


def _center_id(person) -> int | None:
    return None if person.is_system_admin else person.agency_id


def assignments_page(request: HttpRequest, **forms) -> HttpResponse:
    person = request.user
    check_center_person(person)
    keeps = services.is_center_liaison(person)
    now = timezone.now()
    assignments = selectors.assignments_for(person)
    # Bounded: a region has a few dozen officers on duty; past the bound the page says so.
    current = list(assignments.current(now).order_by("eoc__name", "starts_at")[: CURRENT_SHOWN + 1])
    past = Paginator(assignments.filter(ends_at__lte=now).order_by("-ends_at", "-pk"), 25).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "liaison/assignments.html",
        {
            "current": current[:CURRENT_SHOWN],
            "more_current": len(current) > CURRENT_SHOWN,
            "current_shown": CURRENT_SHOWN,
            "past": past,
            "page": past,
            "contacts": selectors.duty_contacts_for(person),
            "keeps": keeps,
            "assignment_form": forms.get("assignment_form")
            or (AssignmentForm(fusion_center_id=_center_id(person)) if keeps else None),
            "duty_form": forms.get("duty_form")
            or (DutyContactForm(fusion_center_id=_center_id(person)) if keeps else None),
        },
    )


@login_required
def assignment_list(request: HttpRequest) -> HttpResponse:
    return assignments_page(request)


def _check_keeps(person) -> None:
    check_center_person(person)
    if not services.is_center_liaison(person):
        raise PermissionDenied("Only liaison officers and admins of the fusion center assign liaison officers.")


@login_required
@require_POST
def assignment_create(request: HttpRequest) -> HttpResponse:
    person = request.user
    _check_keeps(person)
    form = AssignmentForm(request.POST, fusion_center_id=_center_id(person))
    if form.is_valid():
        data = form.cleaned_data
        try:
            assignment = services.assign_liaison(
                by=person,
                officer=data["officer"],
                eoc=data["eoc"],
                incident=data["incident"],
                starts_at=data["starts_at"],
                ends_at=data["ends_at"],
                phone=data["phone"],
                note=data["note"],
            )
        except ValidationError as error:
            add_service_errors(form, error)
        except PermissionDenied as error:
            show_refusal(request, error)
            return redirect("liaison:assignment-list")
        else:
            messages.success(request, f"{assignment.officer} is assigned to {assignment.eoc.name}.")
            return redirect("liaison:assignment-list")
    return assignments_page(request, assignment_form=form)


@login_required
@require_POST
def assignment_end(request: HttpRequest, pk: int) -> HttpResponse:
    person = request.user
    _check_keeps(person)
    assignment = selectors.assignments_for(person).filter(pk=pk).first()
    if assignment is None:
        raise Http404("No such assignment.")
    try:
        services.end_assignment(assignment=assignment, by=person)
    except (ValidationError, PermissionDenied) as error:
        show_refusal(request, error)
    else:
        messages.success(request, f"The assignment of {assignment.officer} to {assignment.eoc.name} has ended.")
    return redirect("liaison:assignment-list")


@login_required
@require_POST
def duty_contact_set(request: HttpRequest) -> HttpResponse:
    person = request.user
    _check_keeps(person)
    form = DutyContactForm(request.POST, fusion_center_id=_center_id(person))
    if form.is_valid():
        data = form.cleaned_data
        try:
            contact = services.set_duty_contact(
                by=person, person=data["person"], on_date=data["on_date"], phone=data["phone"]
            )
        except ValidationError as error:
            add_service_errors(form, error)
        except PermissionDenied as error:
            show_refusal(request, error)
            return redirect("liaison:assignment-list")
        else:
            messages.success(request, f"{contact.person} is the contact of the day on {contact.on_date:%Y-%m-%d}.")
            return redirect("liaison:assignment-list")
    return assignments_page(request, duty_form=form)
