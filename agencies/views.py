"""Pages about people: sign-in (password, then the second factor) and sign-out, one's own profile and
API tokens, locked accounts."""

from __future__ import annotations

from base64 import b32encode

import segno
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login, logout
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.views.decorators.http import require_POST
from django_otp import login as otp_login
from django_otp.plugins.otp_static.models import StaticDevice
from knox.models import AuthToken

from . import services
from .audit import record_audit
from .audit_models import AuditAction
from .backends import client_address
from .forms import EnrolmentCodeForm, SecondFactorForm, SignInForm
from .models import User
from .services import enrolment

NEW_RECOVERY_CODES = "new_recovery_codes"


class SignInView(auth_views.LoginView):
    """The first step: the password. The person is then sent to the second step (or, the first time,
    to set up an authenticator app); until it is passed, no other page opens (SecondFactorMiddleware)."""

    form_class = SignInForm
    template_name = "registration/sign_in.html"
    redirect_authenticated_user = True
    http_method_names = ["get", "post", "head", "options"]

    def form_valid(self, form):
        person = form.get_user()
        login(self.request, person)
        step = "sign-in-verify" if services.has_second_factor(person=person) else "sign-in-enrol"
        return redirect(_with_next(step, self.get_success_url()))


def _next_url(request: HttpRequest) -> str:
    """Where to go once signed in: the `next` given, if it stays on this site."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return target
    return reverse(settings.LOGIN_REDIRECT_URL)


def _with_next(name: str, next_url: str) -> str:
    return f"{reverse(name)}?{urlencode({'next': next_url})}"


def _signed_out(request: HttpRequest, reason: str) -> HttpResponse:
    """A locked account or a throttled address leaves the second step for the sign-in page, with the reason."""
    logout(request)
    messages.error(request, reason)
    return redirect("sign-in")


SIGN_OUT_REASONS = ("locked", "throttled")


def _record_sign_in(request: HttpRequest, device, *, enrolled: bool = False) -> None:
    """Both factors passed: the sign-in, with what the second one was."""
    factor = "recovery code" if isinstance(device, StaticDevice) else "authenticator"
    detail = {"second_factor": factor}
    if enrolled:
        detail["enrolled"] = True
    record_audit(action=AuditAction.SIGN_IN, person=request.user, request=request, detail=detail)


@login_required
def verify_second_factor(request: HttpRequest) -> HttpResponse:
    """The second step of sign-in: the authenticator's current code, or a recovery code."""
    next_url = _next_url(request)
    if request.user.is_verified():
        return redirect(next_url)
    if not services.has_second_factor(person=request.user):
        return redirect(_with_next("sign-in-enrol", next_url))
    form = SecondFactorForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            device = services.verify_second_factor(
                person=request.user, code=form.cleaned_data["code"], address=client_address(request), request=request
            )
        except ValidationError as error:
            if error.code in SIGN_OUT_REASONS:
                return _signed_out(request, error.message)
            form.add_error("code", error)
        else:
            otp_login(request, device)
            _record_sign_in(request, device)
            return redirect(next_url)
    return render(request, "registration/verify.html", {"form": form, "next": next_url})


ENROLMENT_INVITATION = "fusionhub_enrolment_invitation"


@login_required
def enrol_second_factor(request: HttpRequest) -> HttpResponse:
    """The first sign-in: with the enrolment code an admin issued, set up an authenticator app from a QR
    code, confirmed with its first code. Without an enrolment code the page says whom to ask."""
    next_url = _next_url(request)
    if request.user.is_verified():
        return redirect(next_url)
    if services.has_second_factor(person=request.user):
        return redirect(_with_next("sign-in-verify", next_url))
    invitation_id = request.session.get(ENROLMENT_INVITATION)
    invitation = (
        enrolment.open_invitations(person=request.user).filter(pk=invitation_id).first() if invitation_id else None
    )
    if invitation is None:
        return _ask_for_enrolment_code(request, next_url, spent=invitation_id is not None)
    device = services.start_enrolment(person=request.user)
    form = SecondFactorForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            accepted = services.verify_second_factor(
                person=request.user,
                code=form.cleaned_data["code"],
                address=client_address(request),
                enrolling=device,
                request=request,
            )
            codes = services.enrol_second_factor(person=request.user, device=accepted, invitation=invitation)
        except ValidationError as error:
            if error.code in SIGN_OUT_REASONS:
                return _signed_out(request, error.message)
            if error.code == "invitation_spent":
                return _ask_for_enrolment_code(request, next_url, spent=True)
            form.add_error("code", error)
        else:
            request.session.pop(ENROLMENT_INVITATION, None)
            otp_login(request, accepted)
            _record_sign_in(request, accepted, enrolled=True)
            request.session[NEW_RECOVERY_CODES] = codes
            return redirect(_with_next("recovery-codes", next_url))
    secret = b32encode(device.bin_key).decode()
    context = {
        "form": form,
        "next": next_url,
        # Drawn here as SVG, in a data: address: the secret goes to no other service.
        "qr_code": segno.make(device.config_url, error="m").svg_data_uri(scale=5, border=4),
        "secret_groups": [secret[start : start + 4] for start in range(0, len(secret), 4)],
    }
    return render(request, "registration/enrol.html", context)


def _ask_for_enrolment_code(request: HttpRequest, next_url: str, *, spent: bool) -> HttpResponse:
    """Before the QR code: the enrolment code an admin issued. A right one opens the QR code (for this
    session); a wrong one counts towards the lock-out as a wrong password does."""
    if spent:
        request.session.pop(ENROLMENT_INVITATION, None)
        messages.error(request, services.INVITATION_SPENT_MESSAGE)
    submitted = request.method == "POST" and "enrolment_code" in request.POST
    form = EnrolmentCodeForm(request.POST if submitted else None)
    if submitted and form.is_valid():
        try:
            invitation = enrolment.accept_enrolment_code(
                person=request.user,
                code=form.cleaned_data["enrolment_code"],
                address=client_address(request),
                request=request,
            )
        except ValidationError as error:
            if error.code in SIGN_OUT_REASONS:
                return _signed_out(request, error.message)
            form.add_error("enrolment_code", error)
        else:
            request.session[ENROLMENT_INVITATION] = invitation.pk
            return redirect(_with_next("sign-in-enrol", next_url))
    context = {
        "form": form,
        "next": next_url,
        "admins": enrolment.admins_to_ask(person=request.user),
        "valid_hours": int(settings.ENROLMENT_CODE_TTL.total_seconds() // 3600),
    }
    return render(request, "registration/enrolment_code.html", context)


@login_required
def recovery_codes(request: HttpRequest) -> HttpResponse:
    """The recovery codes just issued, shown once."""
    next_url = _next_url(request)
    codes = request.session.pop(NEW_RECOVERY_CODES, None)
    if not codes:
        return redirect(next_url)
    shown = [f"{code[:4]}-{code[4:]}" for code in codes]
    return render(request, "registration/recovery_codes.html", {"codes": shown, "next": next_url})


class SignOutView(auth_views.LogoutView):
    http_method_names = ["post", "options"]


@login_required
def profile(request: HttpRequest) -> HttpResponse:
    # Only live tokens: at most TOKEN_LIMIT_PER_USER (services.create_api_token); expired ones no longer sign in.
    limit = settings.REST_KNOX["TOKEN_LIMIT_PER_USER"]
    tokens = AuthToken.objects.filter(user=request.user, expiry__gt=timezone.now()).order_by("-created")[:limit]
    new_token = request.session.pop("new_api_token", None)
    return render(request, "agencies/profile.html", {"tokens": tokens, "new_token": new_token})


@login_required
@require_POST
def create_token(request: HttpRequest) -> HttpResponse:
    if not request.user.is_verified():
        raise PermissionDenied(services.API_NEEDS_SECOND_FACTOR_MESSAGE)
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
