"""Routing rules: the list, and creating and editing a rule through the services."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from .. import selectors, services
from ..forms import RuleForm, add_service_errors, new_rule_initial
from .common import check_center_person


def _check_keeps_rules(person, fusion_center_id: int | None = None) -> None:
    if not services.is_center_liaison(person, fusion_center_id):
        raise PermissionDenied("Only liaison officers and admins of the fusion center keep its routing rules.")


RULE_PAGE_SIZE = 50


@login_required
def rule_list(request: HttpRequest) -> HttpResponse:
    person = request.user
    check_center_person(person)
    return render(
        request,
        "liaison/rule_list.html",
        {
            "page": Paginator(selectors.rules_for(person), RULE_PAGE_SIZE).get_page(request.GET.get("page")),
            "may_keep": services.is_center_liaison(person),
        },
    )


@login_required
def rule_create(request: HttpRequest) -> HttpResponse:
    person = request.user
    _check_keeps_rules(person)
    form = RuleForm(request.POST or None, initial=new_rule_initial())
    if request.method == "POST" and form.is_valid():
        try:
            rule = services.create_rule(by=person, details=form.to_details())
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, f"Routing rule “{rule.name}” saved.")
            return redirect("liaison:rule-list")
    return render(request, "liaison/rule_form.html", {"form": form, "rule": None})


@login_required
def rule_edit(request: HttpRequest, pk: int) -> HttpResponse:
    person = request.user
    check_center_person(person)
    rule = selectors.rules_for(person).filter(pk=pk).first()
    if rule is None:
        raise Http404("No such routing rule.")
    _check_keeps_rules(person, rule.fusion_center_id)
    form = RuleForm(request.POST or None, initial=RuleForm.initial_of(services.rule_details_of(rule)))
    if request.method == "POST" and form.is_valid():
        try:
            rule = services.update_rule(rule=rule, by=person, details=form.to_details())
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, f"Routing rule “{rule.name}” saved.")
            return redirect("liaison:rule-list")
    return render(request, "liaison/rule_form.html", {"form": form, "rule": rule})
