"""REST API of the EOC: incidents and their feeds, activation, situation reports, resource
requests, tasks, and CAP 1.2 in and out. Thin: every read through the selectors' visibility,
every write through a service."""

from __future__ import annotations

from django.conf import settings
from django.db.models import Prefetch
from django.http import Http404, HttpResponse
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.generics import get_object_or_404
from rest_framework.parsers import BaseParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.utils.urls import remove_query_param, replace_query_param
from rest_framework.views import APIView

from agencies.audit import ItemRef, record_audit, recording_denial
from agencies.models import Agency, AuditAction, AuditOutcome, Jurisdiction
from agencies.uploads import download_response

from . import selectors
from .cap import entry_to_cap
from .models import (
    ActivationChange,
    ActivationLevel,
    FeedEntry,
    FeedEntryAttachment,
    Incident,
    OperationalPeriod,
    ResourceRequest,
    SituationReport,
    Task,
)
from .services import feed as feed_services
from .services import incidents as incident_services
from .services import logistics
from .services.cap_import import import_cap_alert


def visible_incidents(request):
    return Incident.objects.visible_to(request.user)


# --- Incidents -----------------------------------------------------------------------------------


class OperationalPeriodSerializer(serializers.ModelSerializer):
    class Meta:
        model = OperationalPeriod
        fields = ["id", "number", "starts_at", "ends_at", "objectives", "closed_at"]


class IncidentSerializer(serializers.ModelSerializer):
    affected_jurisdictions = serializers.PrimaryKeyRelatedField(
        many=True, queryset=Jurisdiction.objects.all(), required=False
    )
    supporting_agencies = serializers.PrimaryKeyRelatedField(
        many=True, queryset=Agency.objects.filter(is_active=True), required=False
    )
    operational_periods = OperationalPeriodSerializer(many=True, read_only=True)
    latitude = serializers.DecimalField(max_digits=9, decimal_places=6, required=False, allow_null=True,
                                        min_value=-90, max_value=90)  # fmt: skip
    longitude = serializers.DecimalField(max_digits=9, decimal_places=6, required=False, allow_null=True,
                                         min_value=-180, max_value=180)  # fmt: skip

    class Meta:
        model = Incident
        fields = [
            "id", "number", "name", "incident_type", "status", "priority", "is_exercise", "description", "address",
            "latitude", "longitude", "affected_jurisdictions", "lead_eoc", "supporting_agencies", "started_at",
            "closed_at", "operational_periods",
        ]  # fmt: skip
        read_only_fields = ["id", "number", "status", "lead_eoc", "closed_at", "operational_periods"]


class StatusChangeSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=Incident.Status.choices)
    note = serializers.CharField(required=False, allow_blank=True, default="")


class FeedEntryAttachmentSerializer(serializers.ModelSerializer):
    download_url = serializers.SerializerMethodField()

    class Meta:
        model = FeedEntryAttachment
        fields = ["id", "filename", "content_type", "size", "download_url"]

    def get_download_url(self, attachment: FeedEntryAttachment) -> str:
        path = reverse("feed-entry-attachment", kwargs={"pk": attachment.entry_id, "attachment_pk": attachment.pk})
        request = self.context.get("request")
        return request.build_absolute_uri(path) if request is not None else path


# How an entry's times and coordinates read (as the model's fields would be declared).
TIME = serializers.DateTimeField()
COORDINATE = serializers.DecimalField(max_digits=9, decimal_places=6)


class FeedEntrySerializer(serializers.ModelSerializer):
    """An entry as its reader may see it: the body and the attachments only with full access, else
    the tearline."""

    body = serializers.SerializerMethodField()
    attachments = serializers.SerializerMethodField()
    acknowledged = serializers.BooleanField(read_only=True)
    acknowledgement_count = serializers.IntegerField(read_only=True)
    author = serializers.StringRelatedField()
    author_agency = serializers.SlugRelatedField(slug_field="acronym", read_only=True)
    tlp_label = serializers.CharField(read_only=True)

    class Meta:
        model = FeedEntry
        fields = [
            "id", "incident", "eoc", "kind", "priority", "title", "body", "tearline", "tlp", "tlp_label", "caveats",
            "occurred_at", "posted_at", "author", "author_agency", "latitude", "longitude", "corrects",
            "source_type", "source_id", "cap_identifier", "cap_sender", "cap_severity", "cap_urgency",
            "cap_certainty", "acknowledged", "acknowledgement_count", "attachments",
        ]  # fmt: skip

    def to_representation(self, entry: FeedEntry) -> dict:
        """The entry read straight into the declared fields rather than field by field through DRF: a feed
        page has 50 entries, and the generic path cost more than the page's queries (make bench). The
        generic path is the reference (tests/eoc/test_api.py compares the two)."""
        latitude, longitude = entry.latitude, entry.longitude
        return {
            "id": entry.pk,
            "incident": entry.incident_id,
            "eoc": entry.eoc_id,
            "kind": entry.kind,
            "priority": entry.priority,
            "title": entry.title,
            "body": self.get_body(entry),
            "tearline": entry.tearline,
            "tlp": entry.tlp,
            "tlp_label": entry.tlp_label,
            "caveats": [str(caveat) for caveat in entry.caveats],
            "occurred_at": TIME.to_representation(entry.occurred_at),
            "posted_at": TIME.to_representation(entry.posted_at),
            "author": str(entry.author),
            "author_agency": entry.author_agency.acronym,
            "latitude": None if latitude is None else COORDINATE.to_representation(latitude),
            "longitude": None if longitude is None else COORDINATE.to_representation(longitude),
            "corrects": entry.corrects_id,
            "source_type": entry.source_type,
            "source_id": entry.source_id,
            "cap_identifier": entry.cap_identifier,
            "cap_sender": entry.cap_sender,
            "cap_severity": entry.cap_severity,
            "cap_urgency": entry.cap_urgency,
            "cap_certainty": entry.cap_certainty,
            "acknowledged": bool(entry.acknowledged),
            "acknowledgement_count": entry.acknowledgement_count,
            "attachments": self.get_attachments(entry),
        }

    def get_body(self, entry: FeedEntry) -> str:
        return entry.body if getattr(entry, "full_access", False) else ""

    @extend_schema_field(FeedEntryAttachmentSerializer(many=True))
    def get_attachments(self, entry: FeedEntry) -> list:
        if not getattr(entry, "full_access", False):
            return []
        request = self.context.get("request")
        shown = []
        for attachment in entry.attachment_list:  # from eoc.selectors.feed_entries
            path = reverse("feed-entry-attachment", kwargs={"pk": entry.pk, "attachment_pk": attachment["id"]})
            shown.append({**attachment, "download_url": request.build_absolute_uri(path) if request else path})
        return shown


class FeedPageSerializer(serializers.Serializer):
    """A page of a feed: no count (a feed is read page by page, and counting it costs more than a page)."""

    next = serializers.URLField(allow_null=True, help_text="The next page (older entries, or newer after `after`).")
    results = FeedEntrySerializer(many=True)


FEED_PAGE_SIZE = 50
FEED_MAX_PAGE_SIZE = 200


def _cursor(value: str | None) -> int | None:
    """An entry id given as a cursor; ValueError if it is not one."""
    if value is None or value == "":
        return None
    number = int(value)
    if number < 0:
        raise ValueError(value)
    return number


def _page_size(request) -> int:
    try:
        size = int(request.query_params.get("page_size", FEED_PAGE_SIZE))
    except ValueError:
        return FEED_PAGE_SIZE
    return min(size, FEED_MAX_PAGE_SIZE) if size > 0 else FEED_PAGE_SIZE


class PostEntrySerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=[c for c in FeedEntry.Kind.choices if c[0] != FeedEntry.Kind.RELAYED_ITEM])
    title = serializers.CharField(max_length=250)
    body = serializers.CharField(required=False, allow_blank=True, default="")
    priority = serializers.ChoiceField(choices=FeedEntry.Priority.choices, default=FeedEntry.Priority.ROUTINE)
    occurred_at = serializers.DateTimeField(required=False, allow_null=True, default=None)
    latitude = serializers.DecimalField(max_digits=9, decimal_places=6, required=False, allow_null=True, default=None,
                                        min_value=-90, max_value=90)  # fmt: skip
    longitude = serializers.DecimalField(max_digits=9, decimal_places=6, required=False, allow_null=True,
                                         default=None, min_value=-180, max_value=180)  # fmt: skip
    tlp = serializers.CharField(required=False, default="green")
    caveats = serializers.ListField(child=serializers.CharField(), required=False, default=list)
    tearline = serializers.CharField(required=False, allow_blank=True, default="")
    corrects = serializers.IntegerField(required=False, allow_null=True, default=None)
    attachments = serializers.ListField(
        child=serializers.FileField(), required=False, default=list, help_text="PDF, PNG or JPEG files (multipart)."
    )


class IncidentViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin,
                      viewsets.GenericViewSet):  # fmt: skip
    """Incidents the person may see (every real incident; an exercise only to its participants)."""

    serializer_class = IncidentSerializer
    filterset_fields = ["status", "incident_type", "is_exercise", "lead_eoc"]
    ordering_fields = ["started_at", "number"]

    def get_queryset(self):
        return (
            visible_incidents(self.request)
            .select_related("lead_eoc")
            .prefetch_related(
                "affected_jurisdictions",
                "supporting_agencies",
                Prefetch("operational_periods", queryset=OperationalPeriod.objects.order_by("number")),
            )
            .order_by("-started_at", "-pk")
        )

    def perform_create(self, serializer):
        data = serializer.validated_data
        serializer.instance = incident_services.open_incident(
            by=self.request.user,
            details=incident_services.IncidentDetails(
                name=data["name"],
                incident_type=data["incident_type"],
                priority=data.get("priority", Incident.Priority.MODERATE),
                is_exercise=data.get("is_exercise", False),
                description=data.get("description", ""),
                address=data.get("address", ""),
                latitude=data.get("latitude"),
                longitude=data.get("longitude"),
                affected_jurisdictions=list(data.get("affected_jurisdictions", [])),
                supporting_agencies=list(data.get("supporting_agencies", [])),
                started_at=data.get("started_at"),
            ),
        )

    @extend_schema(request=StatusChangeSerializer, responses=IncidentSerializer)
    @action(detail=True, methods=["post"], url_path="status")
    def change_status(self, request, pk=None):
        incident = self.get_object()
        data = StatusChangeSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        incident = incident_services.change_incident_status(
            incident=incident, by=request.user, status=data.validated_data["status"], note=data.validated_data["note"]
        )
        return Response(IncidentSerializer(self.get_queryset().get(pk=incident.pk)).data)

    @extend_schema(
        methods=["GET"],
        parameters=[
            OpenApiParameter(
                "before", int, description="The next page: entries older than the entry with this id, newest first."
            ),
            OpenApiParameter("after", int, description="Only entries with an id above this cursor, oldest first."),
            OpenApiParameter("kind", str),
            OpenApiParameter("priority", str),
            OpenApiParameter("page_size", int, description=f"Entries per page (at most {FEED_MAX_PAGE_SIZE})."),
        ],
        responses=FeedPageSerializer,
    )
    @extend_schema(methods=["POST"], request=PostEntrySerializer, responses={201: FeedEntrySerializer})
    @action(detail=True, methods=["get", "post"], filter_backends=[], pagination_class=None)
    def feed(self, request, pk=None):
        """GET the feed, newest first in pages that go on with `next` (`?before=`), or since a cursor
        (`?after=`), oldest first; POST a new entry."""
        # Not get_object(): the feed needs the incident alone, not the jurisdictions, agencies and
        # periods the incident's own page prefetches (three queries of every feed page).
        try:
            incident = selectors.visible_incident(person=request.user, pk=int(pk))
        except (ValueError, Incident.DoesNotExist):
            raise Http404("No such incident.") from None
        self.check_object_permissions(request, incident)
        if request.method == "POST":
            data = PostEntrySerializer(data=request.data)
            data.is_valid(raise_exception=True)
            values = dict(data.validated_data)
            attachments = values.pop("attachments")
            corrects_id = values.pop("corrects")
            corrects = None
            if corrects_id:
                corrects = (
                    selectors.feed_entries(person=request.user, incident_id=incident.pk).filter(pk=corrects_id).first()
                )
                if corrects is None:
                    return Response({"errors": {"corrects": ["No entry of this feed has that id."]}}, status=400)
            entry = feed_services.post_entry(
                by=request.user,
                incident=incident,
                content=feed_services.EntryContent(**values),
                corrects=corrects,
                attachments=attachments,
            )
            shown = selectors.feed_entries(
                person=request.user, incident_id=incident.pk, related=selectors.API_RELATED
            ).get(pk=entry.pk)
            return Response(self.entry_data(shown), status=status.HTTP_201_CREATED)
        cursors = {}
        for name in ("before", "after"):
            try:
                cursors[name] = _cursor(request.query_params.get(name))
            except ValueError:
                return Response({"errors": {name: ["The cursor is the id of an entry you have."]}}, 400)
        page = selectors.read_feed_page(
            person=request.user,
            incident_id=incident.pk,
            kind=request.query_params.get("kind", ""),
            priority=request.query_params.get("priority", ""),
            related=selectors.API_RELATED,
            **cursors,
            size=_page_size(request),
        )
        if cursors["after"] is not None:
            follow = {"after": page.entries[-1].pk} if page.more else None
        else:
            follow = {"before": page.older} if page.older else None
        record_audit(
            action=AuditAction.VIEW,
            item=incident,
            request=request,
            detail={"feed": "api", "entries": [entry.pk for entry in page.entries]},
        )
        next_url = None
        if follow:
            next_url = request.build_absolute_uri()
            for name in ("before", "after", "page"):
                next_url = remove_query_param(next_url, name)
            for name, value in follow.items():
                next_url = replace_query_param(next_url, name, value)
        results = FeedEntrySerializer(page.entries, many=True, context={"request": request}).data
        return Response({"next": next_url, "results": results})

    def entry_data(self, entry: FeedEntry) -> dict:
        return FeedEntrySerializer(entry, context={"request": self.request}).data


class FeedEntryViewSet(viewsets.GenericViewSet):
    serializer_class = FeedEntrySerializer

    def get_queryset(self):
        return FeedEntry.objects.visible_to(self.request.user).select_related(
            "incident", "eoc__jurisdiction", "corrects"
        )

    def get_object(self) -> FeedEntry:
        try:
            return super().get_object()
        except Http404:
            record_audit(
                action=AuditAction.EXPORT if self.action == "cap" else AuditAction.VIEW,
                item=ItemRef.of(FeedEntry, self.kwargs.get("pk")),
                outcome=AuditOutcome.DENIED,
                request=self.request,
                detail={"api": self.action},
            )
            raise

    @extend_schema(responses={(200, "application/cap+xml"): OpenApiResponse(response=OpenApiTypes.STR)})
    @action(detail=True, methods=["get"])
    def cap(self, request, pk=None):
        """The entry as a CAP 1.2 alert (warnings and other entries alike)."""
        entry = self.get_object()
        record_audit(
            action=AuditAction.EXPORT,
            item=entry,
            request=request,
            detail={"format": "cap", "access": "full" if entry.full_access else "tearline"},
        )
        return HttpResponse(entry_to_cap(entry, full_access=entry.full_access), content_type="application/cap+xml")

    @extend_schema(request=None, responses={200: FeedEntrySerializer})
    @action(detail=True, methods=["post"])
    def acknowledge(self, request, pk=None):
        entry = self.get_object()
        feed_services.acknowledge_entry(entry=entry, by=request.user)
        scope = {"incident_id": entry.incident_id} if entry.incident_id else {"eoc_id": entry.eoc_id}
        shown = selectors.feed_entries(person=request.user, **scope, related=selectors.API_RELATED).get(pk=entry.pk)
        return Response(FeedEntrySerializer(shown, context={"request": request}).data)

    @extend_schema(responses={(200, "application/octet-stream"): OpenApiResponse(response=OpenApiTypes.BINARY)})
    @action(detail=True, methods=["get"], url_path=r"attachments/(?P<attachment_pk>[0-9]+)", url_name="attachment")
    def attachment(self, request, pk=None, attachment_pk=None):
        """An attachment of the entry, as a download; 404 to whoever may read only the tearline."""
        with recording_denial(
            request,
            action=AuditAction.DOWNLOAD,
            item=ItemRef.of(FeedEntry, pk),
            detail={"attachment_id": attachment_pk},
        ):
            entry = self.get_object()
            if not entry.full_access:
                raise Http404("No such attachment.")
        attachment = get_object_or_404(entry.attachments, pk=attachment_pk)
        response = download_response(
            attachment.file, filename=attachment.filename, content_type=attachment.content_type
        )
        record_audit(
            action=AuditAction.DOWNLOAD,
            item=entry,
            request=request,
            detail={"attachment": attachment.filename, "attachment_id": attachment.pk},
        )
        return response


class CapXmlParser(BaseParser):
    """The raw bytes of a CAP document; parse_cap reads (and refuses) it safely."""

    media_type = "application/cap+xml"

    def parse(self, stream, media_type=None, parser_context=None):
        # One byte past the limit is enough for the parser to refuse an oversized document.
        return stream.read(settings.CAP_MAX_BYTES + 1) if stream is not None else b""


class XmlParser(CapXmlParser):
    media_type = "application/xml"


class TextXmlParser(CapXmlParser):
    media_type = "text/xml"


class CapImportView(APIView):
    """Import a CAP 1.2 alert (the XML as the body, or a multipart `file`) into an incident's feed
    (`?incident=`) or an EOC-wide feed (`?eoc=`)."""

    parser_classes = [CapXmlParser, XmlParser, TextXmlParser, MultiPartParser]

    @extend_schema(
        parameters=[OpenApiParameter("incident", int), OpenApiParameter("eoc", int)],
        request={"application/cap+xml": OpenApiTypes.STR, "multipart/form-data": OpenApiTypes.OBJECT},
        responses={201: FeedEntrySerializer, 200: FeedEntrySerializer},
    )
    def post(self, request):
        incident = eoc = None
        try:
            if request.query_params.get("incident"):
                incident = get_object_or_404(visible_incidents(request), pk=int(request.query_params["incident"]))
            elif request.query_params.get("eoc"):
                eoc = get_object_or_404(Agency, pk=int(request.query_params["eoc"]), kind=Agency.Kind.EOC)
            else:
                eoc = request.user.agency if request.user.agency.is_eoc else None
        except ValueError:
            return Response({"errors": {"incident": ["Give the incident or EOC by its id."]}}, status=400)
        upload = request.FILES.get("file")
        data = upload.read(settings.CAP_MAX_BYTES + 1) if upload is not None else request.data
        if not isinstance(data, bytes):
            return Response({"errors": {"document": ["Send the CAP alert as XML, or as a file named `file`."]}}, 400)
        entry, created = import_cap_alert(by=request.user, data=data, incident=incident, eoc=eoc)
        scope = {"incident_id": entry.incident_id} if entry.incident_id else {"eoc_id": entry.eoc_id}
        shown = selectors.feed_entries(person=request.user, **scope, related=selectors.API_RELATED).get(pk=entry.pk)
        data = FeedEntrySerializer(shown, context={"request": request}).data
        return Response(data, status=status.HTTP_201_CREATED if created else 200)


# --- Activation ----------------------------------------------------------------------------------


class ActivationChangeSerializer(serializers.ModelSerializer):
    class Meta:
        model = ActivationChange
        fields = ["from_level", "to_level", "reason", "incident", "changed_by", "changed_at"]


class ActivationRequestSerializer(serializers.Serializer):
    level = serializers.ChoiceField(choices=ActivationLevel.choices)
    reason = serializers.CharField(allow_blank=True)
    incident = serializers.IntegerField(required=False, allow_null=True, default=None)


class ActivationView(APIView):
    """An EOC's activation level (as its jurisdiction labels it) and history; POST changes it."""

    def _eoc(self, pk):
        return get_object_or_404(Agency, pk=pk, kind=Agency.Kind.EOC)

    def _body(self, eoc):
        status_row = incident_services.eoc_status(eoc)
        history = ActivationChange.objects.filter(eoc=eoc)[:50]
        return {
            "eoc": eoc.pk,
            "level": status_row.level,
            "label": status_row.level_label,
            "incident": status_row.incident_id,
            "since": status_row.since,
            "history": ActivationChangeSerializer(history, many=True).data,
        }

    @extend_schema(responses={200: OpenApiTypes.OBJECT})
    def get(self, request, pk):
        return Response(self._body(self._eoc(pk)))

    @extend_schema(request=ActivationRequestSerializer, responses={200: OpenApiTypes.OBJECT})
    def post(self, request, pk):
        eoc = self._eoc(pk)
        data = ActivationRequestSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        incident = None
        if data.validated_data["incident"]:
            incident = visible_incidents(request).filter(pk=data.validated_data["incident"]).first()
            if incident is None:
                return Response({"errors": {"incident": ["No incident you can see has that id."]}}, status=400)
        incident_services.change_activation(
            eoc=eoc, by=request.user, level=data.validated_data["level"], reason=data.validated_data["reason"],
            incident=incident,
        )  # fmt: skip
        return Response(self._body(eoc))


# --- Situation reports, resource requests, tasks -----------------------------------------------


class SituationReportSerializer(serializers.ModelSerializer):
    class Meta:
        model = SituationReport
        fields = ["id", "incident", "operational_period", "number", "state", *logistics.SITREP_SECTIONS,
                  "author", "created_at", "published_at"]  # fmt: skip
        read_only_fields = ["id", "number", "state", "author", "created_at", "published_at"]

    def get_fields(self):
        fields = super().get_fields()
        request = self.context.get("request")
        if request is not None and request.user.is_authenticated:
            fields["incident"].queryset = Incident.objects.visible_to(request.user)
            fields["operational_period"].queryset = OperationalPeriod.objects.filter(
                incident__in=Incident.objects.visible_to(request.user)
            )
        return fields


class SituationReportViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin,
                             mixins.UpdateModelMixin, viewsets.GenericViewSet):  # fmt: skip
    serializer_class = SituationReportSerializer
    filterset_fields = ["incident", "state", "operational_period"]

    def get_queryset(self):
        return SituationReport.objects.filter(incident__in=visible_incidents(self.request)).order_by("-pk")

    def perform_create(self, serializer):
        data = dict(serializer.validated_data)
        incident, period = data.pop("incident"), data.pop("operational_period")
        serializer.instance = logistics.write_situation_report(
            incident=incident, period=period, by=self.request.user, sections=data
        )

    def perform_update(self, serializer):
        data = {k: v for k, v in serializer.validated_data.items() if k in logistics.SITREP_SECTIONS}
        serializer.instance = logistics.edit_situation_report(
            report=serializer.instance, by=self.request.user, sections=data
        )

    @extend_schema(request=None, responses=SituationReportSerializer)
    @action(detail=True, methods=["post"])
    def publish(self, request, pk=None):
        report = logistics.publish_situation_report(report=self.get_object(), by=request.user)
        return Response(SituationReportSerializer(report, context={"request": request}).data)


class ResourceRequestSerializer(serializers.ModelSerializer):
    class Meta:
        model = ResourceRequest
        fields = ["id", "incident", "number", "resource_kind", "nims_type", "quantity", "priority", "needed_by",
                  "deliver_to", "requesting_agency", "assigned_agency", "state", "created_at",
                  "updated_at"]  # fmt: skip
        read_only_fields = ["id", "number", "requesting_agency", "assigned_agency", "state", "created_at",
                            "updated_at"]  # fmt: skip

    def get_fields(self):
        fields = super().get_fields()
        request = self.context.get("request")
        if request is not None and request.user.is_authenticated:
            fields["incident"].queryset = Incident.objects.visible_to(request.user)
        return fields


class TransitionSerializer(serializers.Serializer):
    state = serializers.ChoiceField(choices=ResourceRequest.State.choices)
    note = serializers.CharField(required=False, allow_blank=True, default="")
    assigned_agency = serializers.PrimaryKeyRelatedField(
        queryset=Agency.objects.filter(is_active=True), required=False, allow_null=True, default=None
    )


class ResourceRequestViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin,
                             viewsets.GenericViewSet):  # fmt: skip
    serializer_class = ResourceRequestSerializer
    filterset_fields = ["incident", "state", "priority"]

    def get_queryset(self):
        return ResourceRequest.objects.filter(incident__in=visible_incidents(self.request)).order_by("needed_by", "pk")

    def perform_create(self, serializer):
        data = dict(serializer.validated_data)
        incident = data.pop("incident")
        serializer.instance = logistics.request_resource(
            incident=incident, by=self.request.user, details=logistics.RequestDetails(**data)
        )

    @extend_schema(request=TransitionSerializer, responses=ResourceRequestSerializer)
    @action(detail=True, methods=["post"])
    def transition(self, request, pk=None):
        data = TransitionSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        moved = logistics.move_resource_request(request=self.get_object(), by=request.user, **data.validated_data)
        return Response(ResourceRequestSerializer(moved, context={"request": request}).data)


class TaskSerializer(serializers.ModelSerializer):
    class Meta:
        model = Task
        fields = ["id", "incident", "title", "description", "assigned_agency", "esf", "section", "due_at", "status",
                  "created_at", "completed_at"]  # fmt: skip
        read_only_fields = ["id", "status", "created_at", "completed_at"]

    def get_fields(self):
        fields = super().get_fields()
        request = self.context.get("request")
        if request is not None and request.user.is_authenticated:
            fields["incident"].queryset = Incident.objects.visible_to(request.user)
        return fields


class TaskStatusSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=Task.Status.choices)


class TaskViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin,
                  viewsets.GenericViewSet):  # fmt: skip
    serializer_class = TaskSerializer
    filterset_fields = ["incident", "status", "esf", "section", "assigned_agency"]

    def get_queryset(self):
        return Task.objects.filter(incident__in=visible_incidents(self.request)).order_by("due_at", "pk")

    def perform_create(self, serializer):
        data = dict(serializer.validated_data)
        incident = data.pop("incident")
        serializer.instance = logistics.assign_task(
            incident=incident, by=self.request.user, details=logistics.TaskDetails(**data)
        )

    @extend_schema(request=TaskStatusSerializer, responses=TaskSerializer)
    @action(detail=True, methods=["post"], url_path="status")
    def change_status(self, request, pk=None):
        data = TaskStatusSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        task = logistics.change_task_status(
            task=self.get_object(), by=request.user, status=data.validated_data["status"]
        )
        return Response(TaskSerializer(task, context={"request": request}).data)
