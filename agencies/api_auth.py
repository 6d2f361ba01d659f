"""API token authentication: knox tokens (stored hashed, expiring) of people whose agency is active."""

from __future__ import annotations

import binascii
from hmac import compare_digest

from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.contrib.knox_auth_token import KnoxTokenScheme
from knox.auth import TokenAuthentication
from knox.crypto import hash_token
from knox.models import get_token_model
from knox.settings import CONSTANTS
from rest_framework import exceptions

INVALID = _("Invalid token.")


class AgencyTokenAuthentication(TokenAuthentication):
    """Knox's token check in one query: the token with its person, their agency and its jurisdiction
    (every read asks the visibility policy, which needs all three). An expired token is refused and
    deleted when it is presented; knox's own check also read every other token of the person on each
    request to delete the expired ones, which sign-in (agencies.services) and the profile already leave
    aside, as they look at live tokens only."""

    def authenticate_credentials(self, token: bytes):
        token = token.decode("utf-8")
        candidates = get_token_model().objects.filter(token_key=token[: CONSTANTS.TOKEN_KEY_LENGTH])
        for auth_token in candidates.select_related("user__agency__jurisdiction"):
            if auth_token.expiry is not None and auth_token.expiry < timezone.now():
                auth_token.delete()
                continue
            try:
                digest = hash_token(token)
            except (TypeError, binascii.Error):
                raise exceptions.AuthenticationFailed(INVALID) from None
            if compare_digest(digest, auth_token.digest):
                return self.validate_user(auth_token)
        raise exceptions.AuthenticationFailed(INVALID)

    def validate_user(self, auth_token):
        user, token = super().validate_user(auth_token)
        if user.agency_id is None or not user.agency.is_active:
            raise exceptions.AuthenticationFailed("Your agency's access to FusionHub has been suspended.")
        return user, token


class AgencyTokenScheme(KnoxTokenScheme):
    """The OpenAPI security scheme of these tokens: knox's `Authorization: Token <key>`."""

    target_class = AgencyTokenAuthentication
