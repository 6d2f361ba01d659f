"""An EOC's own pages: its dashboard (the common operating picture) and its activation level."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from agencies.models import Agency

from .. import selectors
from ..forms import ActivationForm, activation_incidents, add_service_errors
from ..services.incidents import change_activation
from .common import eoc_or_404, is_coordinator_of, paginate


@login_required
def own_dashboard(request: HttpRequest) -> HttpResponse:
    """The person's own EOC's dashboard; anyone else chooses an EOC."""
    if request.user.agency.is_eoc:
        return redirect("eoc:dashboard", pk=request.user.agency_id)
    eocs = Agency.objects.filter(kind=Agency.Kind.EOC, is_active=True).select_related("eoc_status").order_by("name")
    return render(request, "eoc/eoc_choice.html", {"page": paginate(request, eocs)})


@login_required
def dashboard(request: HttpRequest, pk: int) -> HttpResponse:
    eoc = eoc_or_404(pk)
    board = selectors.eoc_dashboard(person=request.user, eoc=eoc)
    return render(
        request,
        "eoc/dashboard.html",
        {
            "eoc": eoc,
            "board": board,
            "coordinating": is_coordinator_of(request.user, eoc.pk),
            "map_tile_url": settings.MAP_TILE_URL,
            "map_tile_attribution": settings.MAP_TILE_ATTRIBUTION,
        },
    )


@login_required
def activation(request: HttpRequest, pk: int) -> HttpResponse:
    """The EOC's activation level (as its jurisdiction labels it) and history; its coordinators change it."""
    eoc = eoc_or_404(pk)
    coordinating = is_coordinator_of(request.user, eoc.pk)
    if request.method == "POST" and not coordinating:
        raise PermissionDenied(f"Only EOC coordinators of {eoc.name} change its activation level.")
    status = selectors.activation_status(person=request.user, eoc=eoc)
    form = None
    if coordinating:
        incidents = activation_incidents(request.user, eoc)
        form = ActivationForm(
            request.POST or None,
            status=status,
            incidents=incidents,
            initial={"level": status.level, "incident": status.incident_id},
        )
        if request.method == "POST" and form.is_valid():
            try:
                changed = change_activation(
                    eoc=eoc,
                    by=request.user,
                    level=form.cleaned_data["level"],
                    reason=form.cleaned_data["reason"],
                    incident=form.cleaned_data["incident"],
                )
            except ValidationError as error:
                add_service_errors(form, error)
            else:
                messages.success(request, f"{eoc.acronym} is now at {changed.level_label}.")
                return redirect("eoc:eoc-activation", pk=eoc.pk)
    return render(
        request,
        "eoc/activation.html",
        {
            "eoc": eoc,
            "status": status,
            "form": form,
            "coordinating": coordinating,
            "page": paginate(request, selectors.activation_history(person=request.user, eoc=eoc)),
        },
    )
