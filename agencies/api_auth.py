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

from .prepared import PreparedReads, TextPlaceholder

INVALID = _("Invalid token.")
_KEY = TextPlaceholder()
_TOKENS = PreparedReads(size=1)


def tokens_with_key(key: str) -> list:
    """The tokens whose lookup prefix is `key`, each with its person, their agency and its jurisdiction:
    a query prepared once per process (agencies.prepared), as every API request asks it."""
    return _TOKENS.rows(
        "tokens",
        lambda: get_token_model().objects.filter(token_key=_KEY).select_related("user__agency__jurisdiction"),
        {_KEY: key},
    )


class AgencyTokenAuthentication(TokenAuthentication):
    """Knox's token check in one query: the token with its person, their agency and its jurisdiction
    (every read asks the visibility policy, which needs all three). An expired token is refused and
    deleted when it is presented; knox's own check also read every other token of the person on each
    request to delete the expired ones, which sign-in (agencies.services) and the profile already leave
    aside, as they look at live tokens only."""

    def authenticate_credentials(self, token: bytes):
        token = token.decode("utf-8")
        if "\x00" in token:  # no token holds one, and PostgreSQL takes no text with one
            raise exceptions.AuthenticationFailed(INVALID)
        for auth_token in tokens_with_key(token[: CONSTANTS.TOKEN_KEY_LENGTH]):
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
