"""REST API for requests for information: list, create, retrieve, and the assign, answer and close actions."""

from __future__ import annotations

from django.http import Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from agencies.models import Agency, Jurisdiction

from . import request_selectors as selectors
from .models import RequestForInformation
from .services import requests as services

RFI = RequestForInformation


class RfiPersonSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField(source="__str__")


class RfiAgencySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    acronym = serializers.CharField()


class RfiProductSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    number = serializers.CharField(source="display_number")
    title = serializers.CharField()


class RfiEventSerializer(serializers.Serializer):
    action = serializers.CharField()
    by = RfiPersonSerializer()
    at = serializers.DateTimeField()
    note = serializers.CharField()


class RfiSerializer(serializers.ModelSerializer):
    """A request as lists show it."""

    requester = RfiPersonSerializer(read_only=True)
    requesting_agency = RfiAgencySerializer(read_only=True)
    fusion_center = RfiAgencySerializer(read_only=True)
    assignee = RfiPersonSerializer(read_only=True, allow_null=True)
    is_overdue = serializers.BooleanField(read_only=True)

    class Meta:
        model = RFI
        fields = [
            "id",
            "number",
            "question",
            "priority",
            "due_date",
            "jurisdiction",
            "state",
            "is_overdue",
            "requester",
            "requesting_agency",
            "fusion_center",
            "assignee",
            "created_at",
            "answered_at",
            "closed_at",
        ]
        read_only_fields = fields


class RfiDetailSerializer(RfiSerializer):
    """A request with its answer (the products the reader may see) and its history."""

    answer_products = RfiProductSerializer(many=True, read_only=True, source="visible_answer_products")
    history = RfiEventSerializer(many=True, read_only=True, source="events.all")

    class Meta(RfiSerializer.Meta):
        fields = [*RfiSerializer.Meta.fields, "answer", "answer_products", "history"]
        read_only_fields = fields


class RfiCreateSerializer(serializers.Serializer):
    question = serializers.CharField(max_length=5000)
    priority = serializers.ChoiceField(choices=RFI.Priority.choices, default=RFI.Priority.ROUTINE)
    due_date = serializers.DateField()
    jurisdiction = serializers.PrimaryKeyRelatedField(
        queryset=Jurisdiction.objects.all(),
        required=False,
        allow_null=True,
        error_messages={"does_not_exist": "No such jurisdiction."},
    )
    fusion_center = serializers.PrimaryKeyRelatedField(
        queryset=Agency.objects.filter(kind=Agency.Kind.FUSION_CENTER, is_active=True),
        required=False,
        allow_null=True,
        help_text="Defaults to the region's fusion center.",
        error_messages={"does_not_exist": "Choose an active fusion center."},
    )


class RfiAssignSerializer(serializers.Serializer):
    assignee = serializers.IntegerField(help_text="The id of an analyst of the fusion center.")
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=2000)


class RfiAnswerSerializer(serializers.Serializer):
    answer = serializers.CharField(required=False, allow_blank=True, default="", max_length=20000)
    products = serializers.ListField(
        child=serializers.IntegerField(), required=False, default=list, help_text="Ids of published products."
    )


class RfiCloseSerializer(serializers.Serializer):
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=2000)


class RfiFilterSerializer(serializers.Serializer):
    state = serializers.ChoiceField(choices=RFI.State.choices, required=False)
    priority = serializers.ChoiceField(choices=RFI.Priority.choices, required=False)
    overdue = serializers.BooleanField(required=False, default=False)


FILTER_PARAMETERS = [
    OpenApiParameter("state", OpenApiTypes.STR, enum=RFI.State.values),
    OpenApiParameter("priority", OpenApiTypes.STR, enum=RFI.Priority.values),
    OpenApiParameter("overdue", OpenApiTypes.BOOL, description="Only requests past their due date, unanswered."),
]


class RfiViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Requests for information: a fusion center's people see those it received, anyone else their
    agency's own; nobody else learns that a request exists."""

    serializer_class = RfiDetailSerializer
    filter_backends: list = []
    queryset = RFI.objects.none()

    def get_serializer_class(self):
        return RfiSerializer if self.action == "list" else RfiDetailSerializer

    def get_queryset(self):
        filters = RfiFilterSerializer(data=self.request.query_params)
        filters.is_valid(raise_exception=True)
        return selectors.request_list(
            person=self.request.user, filters=selectors.RequestFilters(**filters.validated_data)
        )

    def get_object(self) -> RFI:
        try:
            rfi = selectors.request_detail(person=self.request.user, pk=int(self.kwargs["pk"]))
        except (RFI.DoesNotExist, ValueError):
            raise Http404("No such request.") from None
        return rfi

    def _detail(self, rfi: RFI, code: int = status.HTTP_200_OK) -> Response:
        rfi = selectors.request_detail(person=self.request.user, pk=rfi.pk)
        return Response(RfiDetailSerializer(rfi).data, status=code)

    @extend_schema(parameters=FILTER_PARAMETERS)
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    @extend_schema(request=RfiCreateSerializer, responses={201: RfiDetailSerializer})
    def create(self, request):
        data = RfiCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        rfi = services.submit_request(by=request.user, **data.validated_data)
        return self._detail(rfi, status.HTTP_201_CREATED)

    @extend_schema(request=RfiAssignSerializer, responses=RfiDetailSerializer)
    @action(detail=True, methods=["post"])
    def assign(self, request, pk=None):
        rfi = self.get_object()
        services.check_may_assign(request.user, rfi)
        data = RfiAssignSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        assignee = selectors.assignable_analysts(rfi).filter(pk=data.validated_data["assignee"]).first()
        if assignee is None:
            raise serializers.ValidationError({"assignee": ["Choose an active analyst of the fusion center."]})
        rfi = services.assign_request(rfi=rfi, by=request.user, assignee=assignee, note=data.validated_data["note"])
        return self._detail(rfi)

    @extend_schema(request=RfiAnswerSerializer, responses=RfiDetailSerializer)
    @action(detail=True, methods=["post"])
    def answer(self, request, pk=None):
        rfi = self.get_object()
        services.check_may_answer(request.user, rfi)
        data = RfiAnswerSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        rfi = services.answer_request(
            rfi=rfi, by=request.user, answer=data.validated_data["answer"], product_ids=data.validated_data["products"]
        )
        return self._detail(rfi)

    @extend_schema(request=RfiCloseSerializer, responses=RfiDetailSerializer)
    @action(detail=True, methods=["post"])
    def close(self, request, pk=None):
        rfi = self.get_object()
        services.check_may_close(request.user, rfi)
        data = RfiCloseSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        rfi = services.close_request(rfi=rfi, by=request.user, note=data.validated_data["note"])
        return self._detail(rfi)
