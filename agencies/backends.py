"""The one sign-in backend: case-insensitive usernames, lock-outs, inactive agencies refused.

Every path that checks a password (the sign-in form, the API token endpoint, the admin) calls
`django.contrib.auth.authenticate`, which comes here, so the lock-out holds on all of them.
"""

from __future__ import annotations

from asgiref.sync import sync_to_async
from django.contrib.auth.backends import ModelBackend
from django.http import HttpRequest

from . import services
from .models import User


def client_address(request: HttpRequest | None) -> str | None:
    if request is None:
        return None
    return request.META.get("REMOTE_ADDR") or None


class AgencyUserBackend(ModelBackend):
    def authenticate(self, request, username=None, password=None, **kwargs):
        if username is None:
            username = kwargs.get(User.USERNAME_FIELD)
        if not username or password is None:
            return None
        address = client_address(request)
        if services.is_account_locked(username=username) or services.is_address_throttled(address=address):
            return None
        if not services.claim_address_attempt(address=address):
            return None
        # In line with the account's other attempts: the lock-out is checked again, and a wrong password
        # counted, before the next attempt on the account may test its password (services).
        with services.one_attempt_at_a_time(username=username):
            if services.is_account_locked(username=username):
                return None
            user = super().authenticate(request, username=services.normalize_username(username), password=password)
            if user is None:
                services.record_sign_in_failure(username=username, address=address)
                return None
        services.release_address_attempt(address=address)
        # The run of failures ends only when the second factor is right too (services.verify_second_factor).
        return user

    def user_can_authenticate(self, user) -> bool:
        return super().user_can_authenticate(user) and user.agency.is_active

    def get_user(self, user_id):
        user = (
            User.objects.select_related("agency", "agency__jurisdiction")
            .prefetch_related("groups")
            .filter(pk=user_id)
            .first()
        )
        return user if user is not None and self.user_can_authenticate(user) else None

    async def aget_user(self, user_id):
        # The person's agency and groups are loaded with them, so async views can read them too.
        return await sync_to_async(self.get_user)(user_id)
