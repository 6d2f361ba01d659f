"""Pages about people: sign-in and sign-out, one's own profile and API tokens, locked accounts."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST
from knox.models import AuthToken

from . import services
from .forms import SignInForm
from .models import User


class SignInView(auth_views.LoginView):
    form_class = SignInForm
    template_name = "registration/sign_in.html"
    redirect_authenticated_user = True
    http_method_names = ["get", "post", "head", "options"]


class SignOutView(auth_views.LogoutView):
    http_method_names = ["post", "options"]


@login_required
def profile(request: HttpRequest) -> HttpResponse:
    tokens = AuthToken.objects.filter(user=request.user).order_by("-created")
    new_token = request.session.pop("new_api_token", None)
    return render(request, "agencies/profile.html", {"tokens": tokens, "new_token": new_token})


@login_required
@require_POST
def create_token(request: HttpRequest) -> HttpResponse:
    try:
        _instance, token = services.create_api_token(person=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return redirect("profile")
    # Shown once, on the next page, and never stored in clear.
    request.session["new_api_token"] = token
    return redirect("profile")


@login_required
@require_POST
def revoke_token(request: HttpRequest, token_key: str) -> HttpResponse:
    if not services.revoke_api_token(person=request.user, token_key=token_key):
        raise Http404("You have no token with this key.")
    messages.success(request, "The token was revoked. Programs using it can no longer sign in.")
    return redirect("profile")


def _require_admin(request: HttpRequest) -> None:
    if not (request.user.is_system_admin or request.user.is_agency_admin):
        raise PermissionDenied("Only agency admins manage locked accounts.")


LOCKED_PAGE_SIZE = 50


@login_required
def locked_accounts(request: HttpRequest) -> HttpResponse:
    _require_admin(request)
    page = Paginator(services.locked_people_for(admin=request.user), LOCKED_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "agencies/locked_accounts.html", {"page": page})


@login_required
@require_POST
def unlock(request: HttpRequest, pk: int) -> HttpResponse:
    _require_admin(request)
    queryset = User.objects.all() if request.user.is_system_admin else User.objects.filter(agency=request.user.agency)
    person = get_object_or_404(queryset, pk=pk)
    services.unlock_account(person=person, by=request.user)
    messages.success(request, f"{person} can sign in again.")
    return redirect("locked-accounts")
