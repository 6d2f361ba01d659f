"""The request-for-information pages: the list (the center's received queue, or an agency's own requests),
a new request, and one request with its assign, answer and close forms."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from agencies.models import User

from . import request_selectors as selectors
from .models import RequestForInformation
from .request_forms import AnswerForm, AssignForm, CloseForm, RequestFilterForm, RequestForm
from .services import requests as services

PAGE_SIZE = 25


def _request_or_404(person: User, pk: int) -> RequestForInformation:
    """The request if the person may see it; a 404 otherwise, so outsiders cannot learn that it exists."""
    try:
        return selectors.request_detail(person=person, pk=pk)
    except RequestForInformation.DoesNotExist:
        raise Http404("No such request.") from None


@login_required
def request_list(request: HttpRequest) -> HttpResponse:
    form = RequestFilterForm(request.GET)
    filters = form.to_filters()
    requests = selectors.request_list(person=request.user, filters=filters)
    page = Paginator(requests, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "sharing/requests/list.html",
        {"form": form, "page": page, "is_queue": selectors.is_fusion_center_person(request.user)},
    )


@login_required
def request_create(request: HttpRequest) -> HttpResponse:
    form = RequestForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            rfi = services.submit_request(
                by=request.user,
                question=data["question"],
                priority=data["priority"],
                due_date=data["due_date"],
                jurisdiction=data["jurisdiction"],
                fusion_center=data["fusion_center"],
            )
        except ValidationError as error:
            form.add_service_error(error)
        else:
            messages.success(request, f"{rfi.number} sent to {rfi.fusion_center.name}.")
            return redirect("sharing:request-detail", pk=rfi.pk)
    return render(request, "sharing/requests/form.html", {"form": form})


def _render_detail(request: HttpRequest, rfi: RequestForInformation, **forms) -> HttpResponse:
    person = request.user
    context = {
        "rfi": rfi,
        "history": rfi.events.all(),
        "answer_products": rfi.visible_answer_products,
        "is_center": person.agency_id == rfi.fusion_center_id,
    }
    # A form sent back with its errors is shown whatever the state, so its messages are read.
    context.update(forms)
    state = rfi.state
    S = RequestForInformation.State
    if "assign_form" not in forms and services.may_assign(person, rfi) and state in (S.SUBMITTED, S.ASSIGNED):
        context["assign_form"] = AssignForm(rfi=rfi)
    if "answer_form" not in forms and services.may_answer(person, rfi) and state == S.ASSIGNED:
        context["answer_form"] = AnswerForm(rfi=rfi, person=person)
    if "close_form" not in forms and services.may_close(person, rfi) and state != S.CLOSED:
        context["close_form"] = CloseForm()
    return render(request, "sharing/requests/detail.html", context)


@login_required
def request_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _render_detail(request, _request_or_404(request.user, pk))


@login_required
@require_POST
def request_assign(request: HttpRequest, pk: int) -> HttpResponse:
    rfi = _request_or_404(request.user, pk)
    services.check_may_assign(request.user, rfi)
    form = AssignForm(request.POST, rfi=rfi)
    if form.is_valid():
        try:
            rfi = services.assign_request(
                rfi=rfi, by=request.user, assignee=form.cleaned_data["assignee"], note=form.cleaned_data["note"]
            )
        except ValidationError as error:
            form.add_service_error(error)
        else:
            messages.success(request, f"{rfi.number} assigned to {rfi.assignee}.")
            return redirect("sharing:request-detail", pk=rfi.pk)
    return _render_detail(request, rfi, assign_form=form)


@login_required
@require_POST
def request_answer(request: HttpRequest, pk: int) -> HttpResponse:
    rfi = _request_or_404(request.user, pk)
    services.check_may_answer(request.user, rfi)
    form = AnswerForm(request.POST, rfi=rfi, person=request.user)
    if form.is_valid():
        try:
            rfi = services.answer_request(
                rfi=rfi,
                by=request.user,
                answer=form.cleaned_data["answer"],
                product_ids=[product.pk for product in form.cleaned_data["products"]],
            )
        except ValidationError as error:
            form.add_service_error(error)
        else:
            messages.success(request, f"{rfi.number} answered; {rfi.requester} can read the answer.")
            return redirect("sharing:request-detail", pk=rfi.pk)
    return _render_detail(request, rfi, answer_form=form)


@login_required
@require_POST
def request_close(request: HttpRequest, pk: int) -> HttpResponse:
    rfi = _request_or_404(request.user, pk)
    services.check_may_close(request.user, rfi)
    form = CloseForm(request.POST)
    if form.is_valid():
        try:
            rfi = services.close_request(rfi=rfi, by=request.user, note=form.cleaned_data["note"])
        except ValidationError as error:
            form.add_service_error(error)
        else:
            messages.success(request, f"{rfi.number} closed.")
            return redirect("sharing:request-detail", pk=rfi.pk)
    return _render_detail(request, rfi, close_form=form)
