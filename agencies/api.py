"""REST API for the directory: the person signed in, agencies, jurisdictions, people, tokens."""

from __future__ import annotations

import hashlib
import logging

from django.contrib.auth import authenticate
from django.contrib.auth.password_validation import validate_password
from django.contrib.auth.signals import user_login_failed
from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from redis.exceptions import RedisError
from rest_framework import mixins, permissions, serializers, status, viewsets
from rest_framework.response import Response
from rest_framework.throttling import SimpleRateThrottle
from rest_framework.views import APIView

from . import services
from .audit import record_audit
from .backends import client_address
from .models import Agency, AuditAction, Jurisdiction, Role, User

logger = logging.getLogger(__name__)


class JurisdictionSerializer(serializers.ModelSerializer):
    class Meta:
        model = Jurisdiction
        fields = ["id", "name", "kind", "fips_code", "parent"]


class AgencySerializer(serializers.ModelSerializer):
    class Meta:
        model = Agency
        fields = ["id", "name", "acronym", "level", "kind", "discipline", "jurisdiction", "email", "phone", "is_active"]


class PersonSerializer(serializers.ModelSerializer):
    roles = serializers.ListField(child=serializers.ChoiceField(choices=Role.choices), required=False)
    password = serializers.CharField(write_only=True, required=False, style={"input_type": "password"})

    class Meta:
        model = User
        fields = [
            "id",
            "username",
            "first_name",
            "last_name",
            "email",
            "title",
            "phone",
            "agency",
            "is_law_enforcement",
            "is_active",
            "roles",
            "password",
        ]
        read_only_fields = ["id", "agency"]

    def to_representation(self, instance: User) -> dict:
        data = super().to_representation(instance)
        data["roles"] = [role.value for role in Role if role in instance.roles]
        return data

    def validate_password(self, value: str) -> str:
        try:
            validate_password(value)
        except DjangoValidationError as error:
            raise serializers.ValidationError(error.messages) from error
        return value


class MeSerializer(PersonSerializer):
    agency = AgencySerializer(read_only=True)

    class Meta(PersonSerializer.Meta):
        fields = [f for f in PersonSerializer.Meta.fields if f != "password"]
        read_only_fields = fields


class MeView(APIView):
    """The person signed in, with their agency and roles."""

    @extend_schema(responses=MeSerializer)
    def get(self, request):
        return Response(MeSerializer(request.user).data)


class JurisdictionViewSet(viewsets.ReadOnlyModelViewSet):
    queryset = Jurisdiction.objects.all()
    serializer_class = JurisdictionSerializer
    filterset_fields = ["kind", "fips_code", "parent"]
    ordering_fields = ["name", "fips_code"]


class AgencyViewSet(viewsets.ReadOnlyModelViewSet):
    queryset = Agency.objects.all()
    serializer_class = AgencySerializer
    filterset_fields = ["level", "kind", "discipline", "jurisdiction", "is_active"]
    ordering_fields = ["name", "acronym"]


class IsAgencyAdmin(permissions.BasePermission):
    message = "Only agency admins and system admins manage people."

    def has_permission(self, request, view) -> bool:
        user = request.user
        return bool(user and user.is_authenticated and (user.is_system_admin or user.is_agency_admin))


class PersonViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """People of the admin's own agency (all agencies for a system admin)."""

    serializer_class = PersonSerializer
    permission_classes = [IsAgencyAdmin]
    filterset_fields = ["is_active", "is_law_enforcement", "agency"]
    ordering_fields = ["username", "last_name"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # the OpenAPI schema generator has no user
            return User.objects.none()
        people = User.objects.select_related("agency").prefetch_related("groups").order_by("username")
        if self.request.user.is_system_admin:
            return people
        return people.filter(agency_id=self.request.user.agency_id)

    def perform_create(self, serializer):
        data = dict(serializer.validated_data)
        roles = {Role(role) for role in data.pop("roles", [])}
        serializer.instance = services.create_person(by=self.request.user, roles=roles, **data)

    def perform_update(self, serializer):
        data = dict(serializer.validated_data)
        roles = data.pop("roles", None)
        serializer.instance = services.update_person(
            person=serializer.instance,
            by=self.request.user,
            roles=None if roles is None else {Role(role) for role in roles},
            **data,
        )


class CountingRateThrottle(SimpleRateThrottle):
    """A rate limit counted with one atomic INCR in Redis per request. DRF's own throttles read a
    request history and write it back, so fifty parallel requests all read the same history and all
    pass; counted, the request over the limit is refused however many arrive at once. The window
    starts with the first request it counts. If Redis is out the limit is not applied, and the
    lock-out (in PostgreSQL) still holds."""

    def allow_request(self, request, view) -> bool:
        if self.rate is None:
            return True
        self.key = self.get_cache_key(request, view)
        if self.key is None:
            return True
        try:
            self.cache.add(self.key, 0, timeout=self.duration)
            try:
                count = self.cache.incr(self.key)
            except ValueError:
                # The window ended between add and incr: this request starts a new one.
                self.cache.set(self.key, 1, timeout=self.duration)
                count = 1
        except RedisError:
            logger.warning("Token endpoint rate limit unavailable: Redis did not answer", exc_info=True)
            return True
        return count <= self.num_requests

    def wait(self) -> float:
        return float(self.duration)


class AddressRateThrottle(CountingRateThrottle):
    """Token requests from one network address (the one the sign-in lock-out reads, never a header a
    caller could set)."""

    scope = "sign-in"

    def get_cache_key(self, request, view):
        address = client_address(request._request)
        return self.cache_format % {"scope": self.scope, "ident": address} if address else None


class AccountRateThrottle(CountingRateThrottle):
    """Token requests naming one account, from wherever they come."""

    scope = "sign-in-account"

    def get_cache_key(self, request, view):
        data = request.data if hasattr(request.data, "get") else {}  # a JSON number or list is no object
        username = services.normalize_username(str(data.get("username") or ""))
        if request.method != "POST" or not username:
            return None
        # Hashed: a username may hold any character, a cache key should not.
        ident = hashlib.sha256(username.encode()).hexdigest()
        return self.cache_format % {"scope": self.scope, "ident": ident}


class TokenView(APIView):
    """Exchange a username, password and second-factor code for an API token (shown once), or revoke
    the token in use."""

    permission_classes = [permissions.AllowAny]
    throttle_classes = [AddressRateThrottle, AccountRateThrottle]

    @extend_schema(
        request=inline_serializer(
            "TokenRequest",
            {
                "username": serializers.CharField(),
                "password": serializers.CharField(),
                "code": serializers.CharField(help_text="The authenticator app's current code, or a recovery code."),
            },
        ),
        responses={
            200: inline_serializer(
                "TokenResponse", {"token": serializers.CharField(), "expiry": serializers.DateTimeField()}
            ),
            429: OpenApiResponse(description="Too many sign-in attempts from this address: wait and try again."),
        },
    )
    def post(self, request):
        data = request.data if hasattr(request.data, "get") else {}  # a JSON number or list is no object
        username = str(data.get("username") or "")
        password = str(data.get("password") or "")
        errors = {}
        if not username:
            errors["username"] = ["Give your username."]
        if not password:
            errors["password"] = ["Give your password."]
        for name, value in (("username", username), ("password", password)):
            if "\x00" in value:
                errors[name] = ["Null characters are not allowed here."]
        if errors:
            return Response({"errors": errors}, status=status.HTTP_400_BAD_REQUEST)
        if services.is_address_throttled(address=client_address(request)):
            # Refused before the password is checked: a failed sign-in all the same (audited).
            user_login_failed.send(sender=__name__, credentials={"username": username}, request=request._request)
            return Response(
                {"errors": {"non_field_errors": [services.ADDRESS_THROTTLED_MESSAGE]}},
                status=status.HTTP_429_TOO_MANY_REQUESTS,
            )
        user = authenticate(request._request, username=username, password=password)
        if user is None:
            if services.is_account_locked(username=username):
                message, answer = services.LOCKED_MESSAGE, status.HTTP_401_UNAUTHORIZED
            elif services.is_address_throttled(address=client_address(request)):
                message, answer = services.ADDRESS_THROTTLED_MESSAGE, status.HTTP_429_TOO_MANY_REQUESTS
            else:
                message, answer = "The username or password is not right.", status.HTTP_401_UNAUTHORIZED
            return Response({"errors": {"non_field_errors": [message]}}, status=answer)
        if not services.has_second_factor(person=user):
            return Response({"errors": {"code": [services.NOT_ENROLLED_MESSAGE]}}, status=status.HTTP_403_FORBIDDEN)
        code = str(data.get("code") or "")
        if not services.normalize_code(code):
            return Response(
                {"errors": {"code": [services.API_NEEDS_SECOND_FACTOR_MESSAGE]}}, status=status.HTTP_403_FORBIDDEN
            )
        try:
            services.verify_second_factor(
                person=user, code=code, address=client_address(request), request=request, via="api token"
            )
        except DjangoValidationError as error:
            return Response({"errors": {"code": error.messages}}, status=status.HTTP_401_UNAUTHORIZED)
        instance, token = services.create_api_token(person=user)
        record_audit(action=AuditAction.SIGN_IN, person=user, request=request, detail={"via": "api token"})
        return Response({"token": token, "expiry": instance.expiry})

    @extend_schema(request=None, responses={204: None})
    def delete(self, request):
        if not request.user.is_authenticated or request.auth is None:
            return Response(
                {"errors": {"non_field_errors": ["Send the token to revoke in the Authorization header."]}},
                status=status.HTTP_401_UNAUTHORIZED,
            )
        services.revoke_api_token(person=request.user, token_key=request.auth.token_key)
        record_audit(action=AuditAction.SIGN_OUT, person=request.user, request=request, detail={"via": "api token"})
        return Response(status=status.HTTP_204_NO_CONTENT)

    def get_permissions(self):
        return [permissions.AllowAny()]
