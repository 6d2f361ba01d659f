"""REST API of the liaison app: liaison assignments, routing rules, and relays between the fusion
center and the EOCs (manual relays, approval, rejection, acknowledgement). Thin: every read through
the visibility of the person asking, every write through a service, so the same rules hold as on
the pages (outsiders get 404, people who see an item but may not act on it 403)."""

from __future__ import annotations

import datetime

from django import forms
from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet
from django.http import Http404
from django.urls import reverse
from django_filters import rest_framework as filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from agencies.markings import TLP, Caveat
from agencies.models import Agency, Jurisdiction, User
from agencies.visibility import person_may_see_anything
from eoc.models import FeedEntry, Incident
from sharing.api import TagListField
from sharing.models import InformationNeed, ThreatProduct

from . import services
from .models import Direction, LiaisonAssignment, Priority, Relay, RoutingRule

SOURCE_TYPES = [
    (services.PRODUCT, "Threat product"),
    (services.ENTRY, "Feed entry"),
    (services.SITREP, "Situation report"),
    (services.REQUEST, "Request for information"),
]


# --- What each person may see ------------------------------------------------------------------------


def visible_assignments(person: User) -> QuerySet[LiaisonAssignment]:
    """Assignments of the person's fusion center, or to the person's EOC; every one for system admins."""
    if not person_may_see_anything(person):
        return LiaisonAssignment.objects.none()
    if person.is_system_admin:
        return LiaisonAssignment.objects.all()
    return LiaisonAssignment.objects.filter(Q(fusion_center_id=person.agency_id) | Q(eoc_id=person.agency_id))


def visible_rules(person: User) -> QuerySet[RoutingRule]:
    """The rules of the person's fusion center; for people of an EOC, the rules that cover their EOC
    (named, or through a jurisdiction that contains the EOC's), so they know what will reach them and
    what the fusion center expects back. Nobody else's. Every rule for system admins."""
    if not person_may_see_anything(person):
        return RoutingRule.objects.none()
    if person.is_system_admin:
        return RoutingRule.objects.all()
    agency = person.agency
    condition = Q(fusion_center_id=agency.pk)
    if agency.is_eoc:
        condition |= Q(target_eoc_id=agency.pk)
        if agency.jurisdiction_id:
            condition |= Q(target_jurisdiction_id__in=agency.jurisdiction.ancestor_ids)
    return RoutingRule.objects.filter(condition)


def visible_relays(person: User) -> QuerySet[Relay]:
    """Relays the person may see, with what RelaySerializer reads: a fixed number of queries."""
    return Relay.objects.visible_to(person).select_related(
        "fusion_center", "eoc", "incident", "rule", "created_by", "decided_by", "acknowledged_by"
    )


class ListFiltersOnly:
    """The query-string filters narrow the list only; an item and its actions are found by id alone
    (a past assignment can still be read, an ended one is refused with a reason, not a 404)."""

    def filter_queryset(self, queryset):
        if self.action != "list":
            return queryset
        return super().filter_queryset(queryset)


@extend_schema_field(OpenApiTypes.INT)
class IdFilter(filters.NumberFilter):
    """An id in the query string: a whole number, without asking the database whether it exists."""

    field_class = forms.IntegerField


# --- Shared pieces --------------------------------------------------------------------------------------


class LiaisonPersonSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    name = serializers.CharField(source="__str__", read_only=True)


class LiaisonAgencySerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    name = serializers.CharField(read_only=True)
    acronym = serializers.CharField(read_only=True)


class LiaisonJurisdictionSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    name = serializers.CharField(read_only=True)


class LiaisonIncidentSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    number = serializers.CharField(read_only=True)
    name = serializers.CharField(read_only=True)


def _ids_of(queryset, what: str, **kwargs) -> serializers.PrimaryKeyRelatedField:
    return serializers.PrimaryKeyRelatedField(
        queryset=queryset,
        error_messages={
            "does_not_exist": f"There is no {what} with the id {{pk_value}}.",
            "incorrect_type": f"Give the {what} by its id, a number, not {{data_type}}.",
        },
        **kwargs,
    )


def _incident_field(**kwargs) -> serializers.PrimaryKeyRelatedField:
    """An incident the person may see; a missing one and a hidden one get the same message."""
    return serializers.PrimaryKeyRelatedField(
        queryset=Incident.objects.none(),
        required=False,
        allow_null=True,
        default=None,
        error_messages={
            "does_not_exist": "No incident you may see has the id {pk_value}.",
            "incorrect_type": "Give the incident by its id, a number, not {data_type}.",
        },
        **kwargs,
    )


class VisibleIncidentsMixin:
    """Limits the `incident` field to the incidents the person asking may see."""

    def get_fields(self):
        fields = super().get_fields()
        request = self.context.get("request")
        if request is not None and request.user.is_authenticated:
            fields["incident"].queryset = Incident.objects.visible_to(request.user)
        return fields


# --- Liaison assignments ----------------------------------------------------------------------------------


class LiaisonAssignmentSerializer(serializers.ModelSerializer):
    officer = LiaisonPersonSerializer(read_only=True)
    fusion_center = LiaisonAgencySerializer(read_only=True)
    eoc = LiaisonAgencySerializer(read_only=True)
    incident = LiaisonIncidentSerializer(read_only=True, allow_null=True)
    created_by = LiaisonPersonSerializer(read_only=True)
    is_current = serializers.BooleanField(read_only=True)

    class Meta:
        model = LiaisonAssignment
        fields = ["id", "officer", "fusion_center", "eoc", "incident", "starts_at", "ends_at", "is_current",
                  "phone", "note", "created_by", "created_at"]  # fmt: skip
        read_only_fields = fields


class LiaisonAssignmentCreateSerializer(VisibleIncidentsMixin, serializers.Serializer):
    officer = _ids_of(User.objects.all(), "person", help_text="A liaison officer of the fusion center.")
    eoc = _ids_of(Agency.objects.all(), "agency", help_text="The EOC the officer is assigned to.")
    incident = _incident_field(help_text="During an activation: the incident of the EOC the officer works on.")
    starts_at = serializers.DateTimeField(required=False, allow_null=True, default=None, help_text="Default: now.")
    ends_at = serializers.DateTimeField(required=False, allow_null=True, default=None, help_text="Default: open.")
    phone = serializers.CharField(required=False, allow_blank=True, default="", max_length=40)
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=250)


class AssignmentFilter(filters.FilterSet):
    eoc = IdFilter(field_name="eoc", help_text="Id of the EOC.")
    officer = IdFilter(field_name="officer", help_text="Id of the liaison officer.")
    all = filters.BooleanFilter(
        method="_all", help_text="Past and future assignments too (by default, only those current now)."
    )

    class Meta:
        model = LiaisonAssignment
        fields = ["eoc", "officer", "all"]

    def _all(self, queryset, name, value):
        return queryset  # read by filter_queryset

    def filter_queryset(self, queryset):
        queryset = super().filter_queryset(queryset)
        if not self.form.cleaned_data.get("all"):
            queryset = queryset.current()
        return queryset


class AssignmentViewSet(ListFiltersOnly, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Liaison officers assigned to EOCs (or to an EOC's incident), for the people of the fusion center
    and of the EOC concerned. The list shows current assignments unless `all` is given. Liaison
    officers and admins of the fusion center assign officers and end assignments."""

    serializer_class = LiaisonAssignmentSerializer
    filterset_class = AssignmentFilter
    ordering_fields = ["starts_at"]

    def get_queryset(self):
        return (
            visible_assignments(self.request.user)
            .select_related("officer", "fusion_center", "eoc", "incident", "created_by")
            .order_by("-starts_at", "-pk")
        )

    def _shown(self, assignment: LiaisonAssignment, code: int = status.HTTP_200_OK) -> Response:
        return Response(LiaisonAssignmentSerializer(self.get_queryset().get(pk=assignment.pk)).data, status=code)

    @extend_schema(request=LiaisonAssignmentCreateSerializer, responses={201: LiaisonAssignmentSerializer})
    def create(self, request):
        """Assign a liaison officer of the fusion center to an EOC."""
        data = LiaisonAssignmentCreateSerializer(data=request.data, context=self.get_serializer_context())
        data.is_valid(raise_exception=True)
        assignment = services.assign_liaison(by=request.user, **data.validated_data)
        return self._shown(assignment, status.HTTP_201_CREATED)

    @extend_schema(request=None, responses=LiaisonAssignmentSerializer)
    @action(detail=True, methods=["post"])
    def end(self, request, pk=None):
        """End the assignment now."""
        assignment = services.end_assignment(assignment=self.get_object(), by=request.user)
        return self._shown(assignment)


# --- Routing rules -----------------------------------------------------------------------------------------


class RoutingRuleSerializer(serializers.ModelSerializer):
    fusion_center = LiaisonAgencySerializer(read_only=True)
    target_eoc = LiaisonAgencySerializer(read_only=True, allow_null=True)
    target_jurisdiction = LiaisonJurisdictionSerializer(read_only=True, allow_null=True)
    target_label = serializers.CharField(read_only=True)
    information_needs = serializers.PrimaryKeyRelatedField(many=True, read_only=True)
    created_by = LiaisonPersonSerializer(read_only=True)

    class Meta:
        model = RoutingRule
        fields = ["id", "name", "fusion_center", "target_eoc", "target_jurisdiction", "target_label", "direction",
                  "product_kinds", "tags", "information_needs", "match_incident_jurisdictions", "minimum_priority",
                  "mode", "when", "is_active", "created_by", "created_at", "updated_at"]  # fmt: skip
        read_only_fields = fields


class RoutingRuleWriteSerializer(serializers.Serializer):
    """A rule as its keeper writes it. The target (one EOC, or a jurisdiction whose EOCs it covers) and
    the rest are checked by the service, which answers with a message per field."""

    name = serializers.CharField(allow_blank=True, max_length=200)
    target_eoc = _ids_of(Agency.objects.all(), "agency", required=False, allow_null=True, default=None)
    target_jurisdiction = _ids_of(
        Jurisdiction.objects.all(),
        "jurisdiction",
        required=False,
        allow_null=True,
        default=None,
        help_text="Every EOC within this jurisdiction (and those under it); instead of target_eoc.",
    )
    direction = serializers.ChoiceField(choices=RoutingRule.Direction.choices, default=RoutingRule.Direction.TO_EOC)
    product_kinds = serializers.MultipleChoiceField(
        choices=ThreatProduct.Kind.choices, required=False, default=list, help_text="Empty: every kind."
    )
    tags = TagListField(required=False, default=list, help_text="Empty: any tag.")
    information_needs = _ids_of(
        InformationNeed.objects.filter(is_active=True), "active information need", many=True, required=False,
        default=list,
    )  # fmt: skip
    match_incident_jurisdictions = serializers.BooleanField(required=False, default=False)
    minimum_priority = serializers.ChoiceField(choices=Priority.choices, default=Priority.ROUTINE)
    mode = serializers.ChoiceField(choices=RoutingRule.Mode.choices, default=RoutingRule.Mode.PROPOSED)
    when = serializers.ChoiceField(choices=RoutingRule.When.choices, default=RoutingRule.When.ALWAYS)
    is_active = serializers.BooleanField(required=False, default=True)

    def to_details(self, base: services.RuleDetails | None = None) -> services.RuleDetails:
        """The rule to save: what was sent, over `base` (the rule as it is) for a partial update."""
        details = base or services.RuleDetails(name="")
        for name, value in self.validated_data.items():
            if name == "product_kinds":  # a set, kept in the choices' order
                value = [kind for kind in ThreatProduct.Kind.values if kind in value]
            setattr(details, name, list(value) if isinstance(value, list) else value)
        return details


class RuleViewSet(
    ListFiltersOnly, mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin,
    mixins.UpdateModelMixin, viewsets.GenericViewSet,
):  # fmt: skip
    """Routing rules: which items flow between a fusion center and its EOCs. The fusion center's people
    read its rules, and people of an EOC the rules that cover it; the fusion center's liaison officers and
    admins write them. A rule is switched off (`is_active`), never deleted: its relays keep it."""

    serializer_class = RoutingRuleSerializer
    filterset_fields = ["is_active", "direction", "mode"]
    ordering_fields = ["name", "created_at"]

    def get_queryset(self):
        return (
            visible_rules(self.request.user)
            .select_related("fusion_center", "target_eoc", "target_jurisdiction", "created_by")
            .prefetch_related("information_needs")
            .order_by("name", "pk")
        )

    def _shown(self, rule: RoutingRule, code: int = status.HTTP_200_OK) -> Response:
        return Response(RoutingRuleSerializer(self.get_queryset().get(pk=rule.pk)).data, status=code)

    @extend_schema(request=RoutingRuleWriteSerializer, responses={201: RoutingRuleSerializer})
    def create(self, request):
        data = RoutingRuleWriteSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        rule = services.create_rule(by=request.user, details=data.to_details())
        return self._shown(rule, status.HTTP_201_CREATED)

    @extend_schema(request=RoutingRuleWriteSerializer, responses=RoutingRuleSerializer)
    def update(self, request, pk=None, partial=False):
        """Change a rule (PUT replaces it, PATCH changes the fields sent)."""
        rule = self.get_object()
        data = RoutingRuleWriteSerializer(data=request.data, partial=partial)
        data.is_valid(raise_exception=True)
        base = services.rule_details_of(rule) if partial else None
        rule = services.update_rule(rule=rule, by=request.user, details=data.to_details(base))
        return self._shown(rule)

    @extend_schema(request=RoutingRuleWriteSerializer, responses=RoutingRuleSerializer)
    def partial_update(self, request, pk=None):
        return self.update(request, pk=pk, partial=True)


# --- Relays ----------------------------------------------------------------------------------------------


class RelayRuleSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    name = serializers.CharField(read_only=True)


class RelayTargetSerializer(serializers.Serializer):
    eoc = LiaisonAgencySerializer(read_only=True)
    incident = LiaisonIncidentSerializer(read_only=True, allow_null=True, help_text="Null: the EOC-wide feed.")
    label = serializers.CharField(source="target_label", read_only=True)


class MarkingCheckSerializer(serializers.Serializer):
    """The marking check that allowed (or refused) the relay, as the liaison officer saw it."""

    allowed = serializers.BooleanField(source="check_allowed", read_only=True)
    access = serializers.ChoiceField(
        source="check_access",
        choices=["full", "tearline", ""],
        read_only=True,
        help_text="full; tearline (LES: people without law-enforcement status read the tearline); empty when refused.",
    )
    reasons = serializers.ListField(source="check_reasons", child=serializers.CharField(), read_only=True)


class RelayDeliveredSerializer(serializers.Serializer):
    type = serializers.CharField(read_only=True, help_text="eoc.feedentry or liaison.awarenessitem.")
    id = serializers.IntegerField(read_only=True)
    url = serializers.CharField(read_only=True, help_text="The item's page.")


def delivered_url(relay: Relay) -> str:
    if relay.delivered_type == services.ENTRY:
        if relay.incident_id:
            page = reverse("eoc:incident-detail", args=[relay.incident_id])
        else:
            page = reverse("eoc:eoc-feed", args=[relay.eoc_id])
        return f"{page}#entry-{relay.delivered_id}"
    if relay.delivered_type == services.AWARENESS:
        return f"/liaison/awareness/{relay.delivered_id}/"
    return ""


class RelaySerializer(serializers.ModelSerializer):
    """A relay: its source (as labelled when relayed), target, markings and marking check, and where
    it stands. The relayed content itself is read through the delivered item, under its markings."""

    fusion_center = LiaisonAgencySerializer(read_only=True)
    target = RelayTargetSerializer(source="*", read_only=True)
    rule = RelayRuleSerializer(read_only=True, allow_null=True, help_text="Null: relayed by hand.")
    created_by = LiaisonPersonSerializer(read_only=True, allow_null=True)
    tlp = serializers.ChoiceField(choices=TLP.choices, read_only=True)
    tlp_label = serializers.CharField(read_only=True)
    caveats = serializers.ListField(child=serializers.ChoiceField(choices=Caveat.choices), read_only=True)
    marking_check = MarkingCheckSerializer(source="*", read_only=True)
    decided_by = LiaisonPersonSerializer(read_only=True, allow_null=True)
    delivered = serializers.SerializerMethodField()
    acknowledged_by = LiaisonPersonSerializer(read_only=True, allow_null=True)

    class Meta:
        model = Relay
        fields = ["id", "direction", "source_type", "source_id", "source_label", "fusion_center", "target", "rule",
                  "created_by", "note", "tlp", "tlp_label", "caveats", "marking_check", "state", "rejection_reason",
                  "decided_by", "decided_at", "delivered", "delivered_at", "acknowledged_by", "acknowledged_at",
                  "created_at"]  # fmt: skip
        read_only_fields = fields

    @extend_schema_field(RelayDeliveredSerializer(allow_null=True))
    def get_delivered(self, relay: Relay) -> dict | None:
        if not relay.delivered_type:
            return None
        return {"type": relay.delivered_type, "id": relay.delivered_id, "url": delivered_url(relay)}


class RelayFilter(filters.FilterSet):
    state = filters.ChoiceFilter(choices=Relay.State.choices)
    direction = filters.ChoiceFilter(choices=Direction.choices)
    eoc = IdFilter(field_name="eoc", help_text="Id of the EOC it goes to or comes from.")
    incident = IdFilter(field_name="incident", help_text="Id of the incident whose feed it goes to or comes from.")
    source_type = filters.ChoiceFilter(choices=SOURCE_TYPES)
    created_since = filters.IsoDateTimeFilter(
        method="filter_created_since", help_text="Only relays made at or after this time (ISO 8601)."
    )

    class Meta:
        model = Relay
        fields = ["state", "direction", "eoc", "incident", "source_type", "created_since"]

    def filter_created_since(self, queryset, name, value):
        # Any offset ISO 8601 allows (PostgreSQL takes only up to ±15:59), as the same instant in UTC.
        return queryset.filter(created_at__gte=value.astimezone(datetime.UTC))


class ManualRelaySerializer(VisibleIncidentsMixin, serializers.Serializer):
    """A manual relay: a product to an EOC (or one of its incidents), or a feed entry to the fusion center."""

    NOT_FOUND = {
        "product": "No product you may see has the id {pk}.",
        "entry": "No feed entry you may see has the id {pk}.",
    }

    product = serializers.IntegerField(required=False, allow_null=True, default=None, help_text="Id of a product.")
    entry = serializers.IntegerField(required=False, allow_null=True, default=None, help_text="Id of a feed entry.")
    eoc = _ids_of(Agency.objects.all(), "agency", help_text="The EOC it goes to, or comes from.")
    incident = _incident_field(help_text="To an EOC: the incident whose feed receives it (default: EOC-wide feed).")
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=5000)
    direction = serializers.ChoiceField(
        choices=Direction.choices,
        required=False,
        allow_null=True,
        default=None,
        help_text="Default: to the EOC for a product, to the fusion center for a feed entry.",
    )

    def validate(self, data: dict) -> dict:
        if (data["product"] is None) == (data["entry"] is None):
            raise serializers.ValidationError({"product": "Give the id of a product or of a feed entry (one of them)."})
        person = self.context["request"].user
        # A missing item and one the person may not see get the same answer: its existence stays hidden.
        if data["product"] is not None:
            field, found = "product", ThreatProduct.objects.visible_to(person).filter(pk=data["product"]).first()
        else:
            field, found = "entry", FeedEntry.objects.visible_to(person).filter(pk=data["entry"]).first()
        if found is None:
            raise serializers.ValidationError({field: self.NOT_FOUND[field].format(pk=data[field])})
        data["source_field"], data["source"] = field, found
        if data["direction"] is None:
            data["direction"] = Direction.TO_EOC if field == "product" else Direction.TO_FUSION_CENTER
        return data


class RelayApproveSerializer(serializers.Serializer):
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=5000)


class RelayRejectSerializer(serializers.Serializer):
    reason = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=5000, help_text="Required: it stays in the history."
    )


class RelayViewSet(ListFiltersOnly, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Relays between the fusion center and the EOCs: the fusion center's, and those to or from the
    person's EOC (anyone else's relay answers 404). Liaison officers relay by hand and approve or reject proposed
    relays; the receiving side acknowledges a delivered one."""

    serializer_class = RelaySerializer
    filterset_class = RelayFilter
    ordering_fields = ["created_at"]

    def get_queryset(self):
        return visible_relays(self.request.user).order_by("-created_at", "-pk")

    def _shown(self, relay: Relay, code: int = status.HTTP_200_OK) -> Response:
        return Response(RelaySerializer(visible_relays(self.request.user).get(pk=relay.pk)).data, status=code)

    def get_object(self) -> Relay:
        try:
            return self.get_queryset().get(pk=int(self.kwargs["pk"]))
        except (Relay.DoesNotExist, ValueError):
            raise Http404("No such relay.") from None

    @extend_schema(request=ManualRelaySerializer, responses={201: RelaySerializer})
    def create(self, request):
        """Relay an item by hand (liaison officers): delivered at once if its markings allow the target;
        refused with the marking check's reason if not."""
        data = ManualRelaySerializer(data=request.data, context=self.get_serializer_context())
        data.is_valid(raise_exception=True)
        values = data.validated_data
        try:
            relay = services.relay_manually(
                by=request.user,
                source=values["source"],
                eoc=values["eoc"],
                incident=values["incident"],
                note=values["note"],
                direction=values["direction"],
            )
        except ValidationError as error:
            # The service speaks of the "source"; the caller sent a product or an entry.
            if hasattr(error, "error_dict") and "source" in error.error_dict:
                error.error_dict[values["source_field"]] = error.error_dict.pop("source")
            raise
        return self._shown(relay, status.HTTP_201_CREATED)

    @extend_schema(request=RelayApproveSerializer, responses=RelaySerializer)
    @action(detail=True, methods=["post"])
    def approve(self, request, pk=None):
        """Approve a proposed relay (liaison officers of its fusion center): delivered at once."""
        relay = self.get_object()
        data = RelayApproveSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        return self._shown(services.approve_relay(relay=relay, by=request.user, note=data.validated_data["note"]))

    @extend_schema(request=RelayRejectSerializer, responses=RelaySerializer)
    @action(detail=True, methods=["post"])
    def reject(self, request, pk=None):
        """Reject a proposed relay, with the reason (liaison officers of its fusion center)."""
        relay = self.get_object()
        data = RelayRejectSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        return self._shown(services.reject_relay(relay=relay, by=request.user, reason=data.validated_data["reason"]))

    @extend_schema(request=None, responses=RelaySerializer)
    @action(detail=True, methods=["post"])
    def acknowledge(self, request, pk=None):
        """Acknowledge a delivered relay (the receiving side); the sending side sees who and when."""
        return self._shown(services.acknowledge_relay(relay=self.get_object(), by=request.user))
