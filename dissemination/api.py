"""REST API of dissemination: a person's inbox (read, acknowledge), the dissemination record of a
dispatch, and an agency's webhook endpoints. Thin: reads through the selectors, writes through the
services, so the same rules hold as on the pages (outsiders get 404)."""

from __future__ import annotations

from django.http import Http404
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response

from agencies.markings import TLP
from agencies.models import Agency

from . import inbox as services
from . import selectors
from .models import Delivery, Dispatch, WebhookEndpoint
from .services import create_webhook_endpoint

# --- Serializers ---------------------------------------------------------------------------------


class DeliveredItemSerializer(serializers.Serializer):
    """The item a delivery carried, in the text the recipient may read (full text or tearline)."""

    type = serializers.CharField(help_text="The kind of record, e.g. sharing.threatproduct.")
    id = serializers.IntegerField()
    number = serializers.CharField()
    kind = serializers.CharField()
    title = serializers.CharField()
    url = serializers.CharField(help_text="The item's page.")
    text = serializers.CharField(help_text="The summary, or the tearline where only the tearline was released.")
    tlp = serializers.CharField(help_text="TLP:CLEAR, TLP:GREEN, TLP:AMBER, TLP:AMBER+STRICT or TLP:RED.")
    caveats = serializers.ListField(child=serializers.CharField())
    is_retracted = serializers.BooleanField()


def _item_data(dispatch: Dispatch, described: selectors.DeliveredItem) -> dict | None:
    summary = described.summary
    if summary is None:
        return None
    return {
        "type": dispatch.item_type,
        "id": dispatch.item_id,
        "number": summary.number,
        "kind": summary.kind,
        "title": summary.title,
        "url": summary.url,
        "text": summary.text,
        "tlp": described.tlp_label,
        "caveats": described.caveats,
        "is_retracted": described.is_retracted,
    }


class InboxItemSerializer(serializers.Serializer):
    """One delivery in the person's inbox. Serialize (delivery, described item) pairs from `with_items`."""

    id = serializers.IntegerField()
    state = serializers.ChoiceField(
        choices=[Delivery.State.SENT, Delivery.State.READ, Delivery.State.ACKNOWLEDGED],
        help_text="sent (not read yet), read, or acknowledged.",
    )
    action = serializers.ChoiceField(choices=Dispatch.Action.choices, help_text="What the dispatch did to the item.")
    is_full_text = serializers.BooleanField(help_text="False: the tearline only was released to you.")
    received_at = serializers.DateTimeField()
    read_at = serializers.DateTimeField(allow_null=True)
    acknowledged_at = serializers.DateTimeField(allow_null=True)
    item = DeliveredItemSerializer(allow_null=True, help_text="Null if the item is no longer on the site.")

    def to_representation(self, row) -> dict:
        delivery, described = row
        return {
            "id": delivery.pk,
            "state": delivery.state,
            "action": delivery.dispatch.action,
            "is_full_text": delivery.is_full_text,
            "received_at": serializers.DateTimeField().to_representation(delivery.created_at),
            "read_at": _time(delivery.read_at),
            "acknowledged_at": _time(delivery.acknowledged_at),
            "item": _item_data(delivery.dispatch, described),
        }


def _time(value):
    return serializers.DateTimeField().to_representation(value) if value else None


class InboxFilterSerializer(serializers.Serializer):
    """The query string of the inbox: the same filters as the page."""

    state = serializers.ChoiceField(choices=selectors.InboxState.CHOICES, required=False, allow_blank=True)
    kind = serializers.ChoiceField(
        choices=[],
        required=False,
        allow_blank=True,
        help_text="A type of item (sharing.threatproduct) or one of its kinds (sharing.threatproduct:bolo).",
    )
    tlp = serializers.ChoiceField(choices=TLP.choices, required=False, allow_blank=True)
    received_from = serializers.DateField(required=False)
    received_to = serializers.DateField(required=False)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["kind"].choices = [value for _group, options in selectors.kind_choices() for value, _ in options]

    def validate(self, data: dict) -> dict:
        start, end = data.get("received_from"), data.get("received_to")
        if start and end and end < start:
            raise serializers.ValidationError(
                {"received_to": "The end of the date range must not come before its start."}
            )
        return data

    def to_filters(self) -> selectors.InboxFilters:
        return selectors.InboxFilters(**self.validated_data)


class DisseminationPersonSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField(source="__str__")


class DisseminationAgencySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    acronym = serializers.CharField()


class RecordEndpointSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    url = serializers.CharField(
        source="origin", help_text="Its scheme and host: the rest of the address may carry the agency's token."
    )


class RecordDeliverySerializer(serializers.ModelSerializer):
    """One line of the dissemination record: who (or which agency system) got the item, how and when."""

    recipient = DisseminationPersonSerializer(allow_null=True, help_text="Null for a webhook delivery.")
    agency = serializers.SerializerMethodField()
    endpoint = RecordEndpointSerializer(allow_null=True, help_text="The agency system of a webhook delivery.")
    recorded_at = serializers.DateTimeField(source="created_at")

    class Meta:
        model = Delivery
        fields = [
            "id",
            "recipient",
            "agency",
            "channel",
            "endpoint",
            "state",
            "is_full_text",
            "recorded_at",
            "sent_at",
            "read_at",
            "acknowledged_at",
            "attempts",
            "last_error",
        ]
        read_only_fields = fields

    @extend_schema_field(DisseminationAgencySerializer)
    def get_agency(self, delivery: Delivery) -> dict:
        agency = delivery.recipient.agency if delivery.recipient_id else delivery.endpoint.agency
        return {"id": agency.pk, "name": agency.name, "acronym": agency.acronym}


class RecordFilterSerializer(serializers.Serializer):
    q = serializers.CharField(required=False, allow_blank=True, max_length=100, help_text="Person or agency.")
    channel = serializers.ChoiceField(choices=Delivery.Channel.choices, required=False, allow_blank=True)
    state = serializers.ChoiceField(choices=Delivery.State.choices, required=False, allow_blank=True)
    access = serializers.ChoiceField(choices=["full", "tearline"], required=False, allow_blank=True)

    def to_filters(self) -> selectors.RecordFilters:
        values = dict(self.validated_data)
        values["q"] = values.get("q", "").strip()
        return selectors.RecordFilters(**values)


class ChannelTotalsSerializer(serializers.Serializer):
    channel = serializers.CharField()
    total = serializers.IntegerField()
    by_state = serializers.DictField(child=serializers.IntegerField(), help_text="Deliveries by state.")


class DispatchSerializer(serializers.Serializer):
    """A dispatch with its progress and totals: for its originating agency's record keepers."""

    id = serializers.IntegerField()
    action = serializers.ChoiceField(choices=Dispatch.Action.choices)
    state = serializers.ChoiceField(choices=Dispatch.State.choices)
    item = DeliveredItemSerializer(allow_null=True)
    originating_agency = DisseminationAgencySerializer()
    created_by = DisseminationPersonSerializer()
    reason = serializers.CharField(help_text="The reason for release.")
    created_at = serializers.DateTimeField()
    finished_at = serializers.DateTimeField(allow_null=True)
    recipients_total = serializers.IntegerField(allow_null=True, help_text="Null until the fan-out has counted them.")
    recipients_done = serializers.IntegerField()
    totals = ChannelTotalsSerializer(many=True)


class WebhookEndpointSerializer(serializers.ModelSerializer):
    """An agency's webhook endpoint. Its signing secret is never shown again after creation."""

    agency = DisseminationAgencySerializer(read_only=True)
    failed_count = serializers.IntegerField(read_only=True, help_text="Deliveries that failed after every attempt.")

    class Meta:
        model = WebhookEndpoint
        fields = ["id", "agency", "url", "payload_format", "is_active", "disabled_reason", "created_at", "failed_count"]
        read_only_fields = fields


class WebhookCreatedSerializer(WebhookEndpointSerializer):
    secret = serializers.CharField(
        read_only=True, help_text="The whsec_ signing secret: in this response only. Store it now."
    )

    class Meta(WebhookEndpointSerializer.Meta):
        fields = [*WebhookEndpointSerializer.Meta.fields, "secret"]
        read_only_fields = fields


class WebhookCreateSerializer(serializers.Serializer):
    url = serializers.URLField(max_length=500, help_text="A public https address.")
    payload_format = serializers.ChoiceField(
        choices=WebhookEndpoint.Format.choices, default=WebhookEndpoint.Format.JSON
    )
    agency = serializers.PrimaryKeyRelatedField(
        queryset=Agency.objects.filter(is_active=True),
        required=False,
        help_text="System admins: the agency it belongs to. Agency admins: their own agency (the default).",
    )


class WebhookUpdateSerializer(serializers.Serializer):
    is_active = serializers.BooleanField(required=False)
    payload_format = serializers.ChoiceField(choices=WebhookEndpoint.Format.choices, required=False)


# --- Views ---------------------------------------------------------------------------------------


class InboxViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """The signed-in person's inbox: every item disseminated to them, newest first. Nobody sees another's."""

    serializer_class = InboxItemSerializer
    queryset = Delivery.objects.none()
    filter_backends: list = []

    def get_object(self) -> Delivery:
        try:
            return selectors.inbox_delivery(person=self.request.user, pk=int(self.kwargs["pk"]))
        except (Delivery.DoesNotExist, ValueError):
            raise Http404("No such delivery in your inbox.") from None

    def _one(self, delivery: Delivery) -> Response:
        return Response(InboxItemSerializer(selectors.with_items([delivery])[0]).data)

    @extend_schema(parameters=[InboxFilterSerializer], responses=InboxItemSerializer(many=True))
    def list(self, request):
        filters = InboxFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        page = self.paginate_queryset(selectors.inbox(person=request.user, filters=filters.to_filters()))
        return self.get_paginated_response(InboxItemSerializer(selectors.with_items(page), many=True).data)

    def retrieve(self, request, pk=None):
        return self._one(self.get_object())

    @extend_schema(request=None, responses=InboxItemSerializer)
    @action(detail=True, methods=["post"])
    def read(self, request, pk=None):
        """Mark the delivery read (the first time counts)."""
        return self._one(services.mark_read(delivery=self.get_object(), by=request.user))

    @extend_schema(request=None, responses=InboxItemSerializer)
    @action(detail=True, methods=["post"])
    def acknowledge(self, request, pk=None):
        """Tell the originator you have taken note; read too if it was not. Twice changes nothing."""
        return self._one(services.acknowledge_delivery(delivery=self.get_object(), by=request.user))


class DispatchViewSet(mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """The dissemination record of a dispatch: for the originating agency's analysts, supervisors and
    admins, and system admins; 404 for everyone else, recipients included."""

    serializer_class = DispatchSerializer
    queryset = Dispatch.objects.none()
    filter_backends: list = []

    def get_object(self) -> Dispatch:
        try:
            return selectors.record_dispatch(person=self.request.user, pk=int(self.kwargs["pk"]))
        except (Dispatch.DoesNotExist, ValueError):
            raise Http404("No such dispatch.") from None

    def retrieve(self, request, pk=None):
        dispatch = self.get_object()
        _item, described = selectors.describe_item(dispatch)
        data = {
            "id": dispatch.pk,
            "action": dispatch.action,
            "state": dispatch.state,
            "item": _item_data(dispatch, described),
            "originating_agency": dispatch.originating_agency,
            "created_by": dispatch.created_by,
            "reason": dispatch.reason,
            "created_at": dispatch.created_at,
            "finished_at": dispatch.finished_at,
            "recipients_total": dispatch.recipients_total,
            "recipients_done": dispatch.recipients_done,
            "totals": [
                {
                    "channel": row.channel,
                    "total": row.total,
                    "by_state": dict(zip(Delivery.State.values, row.by_state, strict=True)),
                }
                for row in selectors.record_totals(dispatch)
            ],
        }
        return Response(DispatchSerializer(data).data)

    @extend_schema(parameters=[RecordFilterSerializer], responses=RecordDeliverySerializer(many=True))
    @action(detail=True, methods=["get"])
    def deliveries(self, request, pk=None):
        """Every delivery of the dispatch, by agency and person, paginated."""
        dispatch = self.get_object()
        filters = RecordFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        page = self.paginate_queryset(selectors.record_deliveries(dispatch=dispatch, filters=filters.to_filters()))
        return self.get_paginated_response(RecordDeliverySerializer(page, many=True).data)


class WebhookViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Webhook endpoints of the agency's systems, for its agency admins (system admins: every agency's).
    PATCH switches an endpoint on or off or changes its format; DELETE switches it off (its record stays)."""

    serializer_class = WebhookEndpointSerializer
    queryset = WebhookEndpoint.objects.none()
    filter_backends: list = []

    def initial(self, request, *args, **kwargs) -> None:
        super().initial(request, *args, **kwargs)
        person = request.user
        if self.action in ("list", "create") and not (person.is_system_admin or person.is_agency_admin):
            raise PermissionDenied("Only agency admins manage webhook endpoints.")

    def get_queryset(self):
        return selectors.webhook_endpoints(person=self.request.user)

    def get_object(self) -> WebhookEndpoint:
        try:
            return self.get_queryset().get(pk=int(self.kwargs["pk"]))
        except (WebhookEndpoint.DoesNotExist, ValueError):
            raise Http404("No such webhook endpoint.") from None

    def _shown(self, endpoint: WebhookEndpoint, serializer=WebhookEndpointSerializer, **extra) -> dict:
        data = serializer(self.get_queryset().get(pk=endpoint.pk)).data
        return {**data, **extra}

    @extend_schema(request=WebhookCreateSerializer, responses={201: WebhookCreatedSerializer})
    def create(self, request):
        """Register an endpoint. The response carries its signing secret: the only time it is shown."""
        data = WebhookCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        endpoint, secret = create_webhook_endpoint(
            agency=data.validated_data.get("agency") or request.user.agency,
            url=data.validated_data["url"],
            payload_format=data.validated_data["payload_format"],
            by=request.user,
        )
        return Response(self._shown(endpoint, WebhookCreatedSerializer, secret=secret), status=status.HTTP_201_CREATED)

    @extend_schema(request=WebhookUpdateSerializer, responses=WebhookEndpointSerializer)
    def partial_update(self, request, pk=None):
        """Switch the endpoint on or off (`is_active`), or change its `payload_format`."""
        endpoint = self.get_object()
        data = WebhookUpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        if "payload_format" in data.validated_data:
            endpoint = services.set_webhook_payload_format(
                endpoint=endpoint, payload_format=data.validated_data["payload_format"], by=request.user
            )
        if "is_active" in data.validated_data:
            endpoint = services.set_webhook_endpoint_active(
                endpoint=endpoint, is_active=data.validated_data["is_active"], by=request.user
            )
        return Response(self._shown(endpoint))

    @extend_schema(responses={204: None})
    def destroy(self, request, pk=None):
        """Switch the endpoint off; it and its deliveries stay on record."""
        services.set_webhook_endpoint_active(endpoint=self.get_object(), is_active=False, by=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)
