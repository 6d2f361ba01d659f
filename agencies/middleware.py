"""Session limits from the CJIS Security Policy: idle lock (AC-11), a new sign-in every 12 hours (IA-11),
each shorter where the person's agency says so, and no page for a session that has not passed the
second factor (IA-2)."""

from __future__ import annotations

import time

from django.contrib import messages
from django.contrib.auth import logout
from django.http import JsonResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import urlencode

SIGNED_IN_AT = "fusionhub_signed_in_at"
LAST_SEEN_AT = "fusionhub_last_seen_at"
# Refresh the idle clock at most once a minute, so a busy page does not write its session each request.
TOUCH_EVERY_SECONDS = 60


def _minutes(seconds: float) -> str:
    minutes = round(seconds / 60)
    return f"{minutes} minute{'s' if minutes != 1 else ''}"


def _hours(seconds: float) -> str:
    return f"{round(seconds / 3600)}-hour"


class SessionLimitsMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and request.session.session_key:
            now = time.time()
            signed_in_at = request.session.get(SIGNED_IN_AT, now)
            last_seen_at = request.session.get(LAST_SEEN_AT, now)
            # The site's limits, or the shorter ones the person's agency set (never longer).
            agency = user.agency
            idle_timeout, max_age = agency.idle_timeout.total_seconds(), agency.session_max_age.total_seconds()
            reason = None
            if not agency.is_active:
                reason = "Your agency's access to FusionHub has been suspended. Contact your agency admin."
            elif now - last_seen_at > idle_timeout:
                reason = (
                    f"You were signed out after {_minutes(idle_timeout)} without activity. Sign in again to continue."
                )
            elif now - signed_in_at > max_age:
                reason = f"Your session reached its {_hours(max_age)} limit. Sign in again to continue."
            if reason:
                logout(request)
                messages.info(request, reason)
            else:
                if SIGNED_IN_AT not in request.session:
                    request.session[SIGNED_IN_AT] = now
                if now - last_seen_at >= TOUCH_EVERY_SECONDS or LAST_SEEN_AT not in request.session:
                    request.session[LAST_SEEN_AT] = now
        return self.get_response(request)


# What a session between the password and the second factor may reach: the second step itself and
# signing out (WhiteNoise has served the static files before this runs).
SECOND_STEP_PATHS = ("/sign-in/verify/", "/sign-in/enrol/", "/sign-out/", "/healthz")
SECOND_FACTOR_MESSAGE = "Finish signing in with the code from your authenticator app first."


class SecondFactorMiddleware:
    """A session signed in with a password alone reaches only the second step of sign-in.

    Runs after django-otp's OTPMiddleware, which tells whether the session's second factor was
    verified. API calls with a token do not pass here as signed in (DRF authenticates them later);
    a token is only ever created after both factors.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and not user.is_verified():
            path = request.path
            if not path.startswith(SECOND_STEP_PATHS):
                if path.startswith("/api/"):
                    return JsonResponse({"errors": {"non_field_errors": [SECOND_FACTOR_MESSAGE]}}, status=403)
                return redirect(f"{reverse('sign-in-verify')}?{urlencode({'next': request.get_full_path()})}")
        return self.get_response(request)
