"""API token authentication: knox tokens (stored hashed, expiring) of people whose agency is active."""

from knox.auth import TokenAuthentication
from rest_framework import exceptions


class AgencyTokenAuthentication(TokenAuthentication):
    def validate_user(self, auth_token):
        user, token = super().validate_user(auth_token)
        if not user.agency.is_active:
            raise exceptions.AuthenticationFailed("Your agency's access to FusionHub has been suspended.")
        return user, token
