"""Session limits from the CJIS Security Policy: idle lock (AC-11) and a new sign-in every 12 hours (IA-11)."""

from __future__ import annotations

import time

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout

SIGNED_IN_AT = "fusionhub_signed_in_at"
LAST_SEEN_AT = "fusionhub_last_seen_at"
# Refresh the idle clock at most once a minute, so a busy page does not write its session each request.
TOUCH_EVERY_SECONDS = 60


class SessionLimitsMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and request.session.session_key:
            now = time.time()
            signed_in_at = request.session.get(SIGNED_IN_AT, now)
            last_seen_at = request.session.get(LAST_SEEN_AT, now)
            reason = None
            if not user.agency.is_active:
                reason = "Your agency's access to FusionHub has been suspended. Contact your agency admin."
            elif now - last_seen_at > settings.SESSION_IDLE_TIMEOUT.total_seconds():
                reason = "You were signed out after 30 minutes without activity. Sign in again to continue."
            elif now - signed_in_at > settings.SESSION_MAX_AGE.total_seconds():
                reason = "Your session reached its 12-hour limit. Sign in again to continue."
            if reason:
                logout(request)
                messages.info(request, reason)
            else:
                if SIGNED_IN_AT not in request.session:
                    request.session[SIGNED_IN_AT] = now
                if now - last_seen_at >= TOUCH_EVERY_SECONDS or LAST_SEEN_AT not in request.session:
                    request.session[LAST_SEEN_AT] = now
        return self.get_response(request)
