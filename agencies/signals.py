"""Receivers that stamp a new session with its sign-in time."""

import time

from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver

from .middleware import LAST_SEEN_AT, SIGNED_IN_AT


@receiver(user_logged_in)
def stamp_session(sender, request, user, **kwargs):
    if request is not None and hasattr(request, "session"):
        now = time.time()
        request.session[SIGNED_IN_AT] = now
        request.session[LAST_SEEN_AT] = now
