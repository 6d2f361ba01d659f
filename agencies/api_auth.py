"""API token authentication: knox tokens (stored hashed, expiring) of people whose agency is active."""

from drf_spectacular.contrib.knox_auth_token import KnoxTokenScheme
from knox.auth import TokenAuthentication
from rest_framework import exceptions

from .models import Agency


class AgencyTokenAuthentication(TokenAuthentication):
    def validate_user(self, auth_token):
        user, token = super().validate_user(auth_token)
        # The agency with its jurisdiction in one query: every read asks the visibility policy, which needs both.
        user.agency = Agency.objects.select_related("jurisdiction").get(pk=user.agency_id)
        if not user.agency.is_active:
            raise exceptions.AuthenticationFailed("Your agency's access to FusionHub has been suspended.")
        return user, token


class AgencyTokenScheme(KnoxTokenScheme):
    """The OpenAPI security scheme of these tokens: knox's `Authorization: Token <key>`."""

    target_class = AgencyTokenAuthentication
