"""REST API for threat products: list and search, read, write drafts, the lifecycle actions, the
versions of a product and its STIX 2.1 bundle. Thin: every read through the selectors (so through
the visibility policy), every write through a service."""

from __future__ import annotations

from django.db.models import prefetch_related_objects
from django.http import Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response

from agencies.audit import ItemRef, record_audit
from agencies.markings import TLP, Caveat
from agencies.models import Agency, AuditAction, AuditOutcome, Jurisdiction, User

from . import selectors, stix
from .models import InformationNeed, ThreatProduct
from .services import products as services

Product = ThreatProduct

# What a reader without full access (an LES product read by someone without law-enforcement status)
# never receives: everything but the fields every reader sees, listed in ProductSerializer.
FULL_ACCESS_FIELDS = frozenset(
    {
        "summary",
        "body",
        "tags",
        "information_needs",
        "is_criminal_intelligence",
        "criminal_predicate",
        "review_by",
        "retraction_reason",
    }
)
# Recipients never see who else received an item, nor who wrote or reviewed it inside the center.
ORIGINATOR_FIELDS = frozenset(
    {
        "author",
        "reviewer",
        "audience_agencies",
        "audience_levels",
        "audience_disciplines",
        "audience_jurisdictions",
        "audience_people",
        "release_reason",
    }
)


# --- Reading ------------------------------------------------------------------------------------


class ProductAgencySerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    name = serializers.CharField(read_only=True)
    acronym = serializers.CharField(read_only=True)


class ProductPersonSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    name = serializers.CharField(source="__str__", read_only=True)


class IdListField(serializers.ListField):
    """The ids of a many-to-many relation, for reading."""

    child = serializers.IntegerField()

    def to_representation(self, related) -> list[int]:
        return [item.pk for item in related.all()]


TIME = serializers.DateTimeField()
DATE = serializers.DateField()


def _time(value) -> str | None:
    return None if value is None else TIME.to_representation(value)


def _person(person: User | None) -> dict | None:
    return None if person is None else {"id": person.pk, "name": str(person)}


class ProductSerializer(serializers.Serializer):
    """A product version as one reader may see it.

    Every reader gets the identity, markings, state, dates, originating agency and tearline.
    `summary`, `body`, `tags`, `information_needs`, the criminal-intelligence fields and the
    retraction reason only with full access (`access` is "full"). Author, reviewer, audience and
    reason for release only for people of the originating agency. (The fields some readers do not
    get are declared `required=False`, which documents them as optional; nothing is written here.)
    """

    id = serializers.IntegerField(read_only=True)
    number = serializers.CharField(read_only=True, help_text="Empty until first published.")
    display_number = serializers.CharField(read_only=True)
    version = serializers.IntegerField(read_only=True)
    previous_version = serializers.IntegerField(source="previous_version_id", read_only=True, allow_null=True)
    kind = serializers.ChoiceField(choices=Product.Kind.choices, read_only=True)
    title = serializers.CharField(read_only=True)
    tlp = serializers.ChoiceField(choices=TLP.choices, read_only=True)
    tlp_label = serializers.CharField(read_only=True)
    caveats = serializers.ListField(child=serializers.ChoiceField(choices=Caveat.choices), read_only=True)
    state = serializers.ChoiceField(choices=Product.State.choices, read_only=True)
    access = serializers.SerializerMethodField()
    originating_agency = ProductAgencySerializer(read_only=True)
    tearline = serializers.CharField(read_only=True)
    effective_at = serializers.DateTimeField(read_only=True, allow_null=True)
    expires_at = serializers.DateTimeField(read_only=True, allow_null=True)
    is_expired = serializers.BooleanField(read_only=True)
    created_at = serializers.DateTimeField(read_only=True)
    updated_at = serializers.DateTimeField(read_only=True)
    published_at = serializers.DateTimeField(read_only=True, allow_null=True)
    retracted_at = serializers.DateTimeField(read_only=True, allow_null=True)
    purged_at = serializers.DateTimeField(
        read_only=True, allow_null=True, help_text="Purged under 28 CFR Part 23: only this tombstone is left."
    )

    summary = serializers.CharField(required=False)
    body = serializers.CharField(required=False, help_text="Markdown.")
    tags = serializers.ListField(child=serializers.CharField(), required=False)
    information_needs = IdListField(required=False)
    is_criminal_intelligence = serializers.BooleanField(required=False)
    criminal_predicate = serializers.CharField(required=False)
    review_by = serializers.DateField(required=False, allow_null=True)
    retraction_reason = serializers.CharField(required=False)

    author = ProductPersonSerializer(required=False)
    reviewer = ProductPersonSerializer(required=False, allow_null=True)
    audience_agencies = IdListField(required=False)
    audience_levels = serializers.ListField(child=serializers.ChoiceField(choices=Agency.Level.choices), required=False)
    audience_disciplines = serializers.ListField(
        child=serializers.ChoiceField(choices=Agency.Discipline.choices), required=False
    )
    audience_jurisdictions = IdListField(required=False)
    audience_people = IdListField(required=False)
    release_reason = serializers.CharField(required=False)

    @extend_schema_field(serializers.ChoiceField(choices=["full", "tearline"]))
    def get_access(self, product: ThreatProduct) -> str:
        return "full" if product.full_access else "tearline"

    def hidden_fields(self, product: ThreatProduct) -> frozenset[str]:
        person = self.context["request"].user
        hidden: frozenset[str] = frozenset()
        if not product.full_access:
            hidden |= FULL_ACCESS_FIELDS
        if person.agency_id != product.originating_agency_id:
            hidden |= ORIGINATOR_FIELDS
        return hidden

    def to_representation(self, product: ThreatProduct) -> dict:
        """The declared fields this reader may see, read straight from the product: a page has 50 products,
        and DRF's generic path, field by field, cost more than the page's queries (make bench). The
        generic path is the reference (tests/sharing/test_api.py compares the two). Fields hidden from
        this reader are never even read from the product."""
        self._hidden = hidden = self.hidden_fields(product)
        agency = product.originating_agency
        data = {
            "id": product.pk,
            "number": product.number,
            "display_number": product.display_number,
            "version": product.version,
            "previous_version": product.previous_version_id,
            "kind": product.kind,
            "title": product.title,
            "tlp": product.tlp,
            "tlp_label": product.tlp_label,
            "caveats": [str(caveat) for caveat in product.caveats],
            "state": product.state,
            "access": self.get_access(product),
            "originating_agency": {"id": agency.pk, "name": agency.name, "acronym": agency.acronym},
            "tearline": product.tearline,
            "effective_at": _time(product.effective_at),
            "expires_at": _time(product.expires_at),
            "is_expired": product.is_expired,
            "created_at": _time(product.created_at),
            "updated_at": _time(product.updated_at),
            "published_at": _time(product.published_at),
            "retracted_at": _time(product.retracted_at),
            "purged_at": _time(product.purged_at),
        }
        if "summary" not in hidden:
            data |= {
                "summary": product.summary,
                "body": product.body,
                "tags": [str(tag) for tag in product.tags],
                "information_needs": [need.pk for need in product.information_needs.all()],
                "is_criminal_intelligence": product.is_criminal_intelligence,
                "criminal_predicate": product.criminal_predicate,
                "review_by": None if product.review_by is None else DATE.to_representation(product.review_by),
                "retraction_reason": product.retraction_reason,
            }
        if "author" not in hidden:
            data |= {
                "author": _person(product.author),
                "reviewer": _person(product.reviewer),
                "audience_agencies": [agency.pk for agency in product.audience_agencies.all()],
                "audience_levels": [str(level) for level in product.audience_levels],
                "audience_disciplines": [str(discipline) for discipline in product.audience_disciplines],
                "audience_jurisdictions": [place.pk for place in product.audience_jurisdictions.all()],
                "audience_people": [person.pk for person in product.audience_people.all()],
                "release_reason": product.release_reason,
            }
        return data

    @property
    def _readable_fields(self):
        hidden = getattr(self, "_hidden", frozenset())
        return (field for field in super()._readable_fields if field.field_name not in hidden)


AUDIENCE_RELATIONS = ("audience_agencies", "audience_jurisdictions", "audience_people")


def with_relations(products):
    """What ProductSerializer reads, fetched in a fixed number of queries whatever the rows."""
    return products.select_related("originating_agency", "author", "reviewer").prefetch_related(
        "information_needs", *AUDIENCE_RELATIONS
    )


def with_list_relations(products):
    """What ProductSerializer reads of a page of products but their audience: see `audience_for_originator`."""
    return products.select_related("originating_agency", "author", "reviewer").prefetch_related("information_needs")


def audience_for_originator(page: list[ThreatProduct], person: User) -> None:
    """The audience of the products of the page that the person's agency originated (the only ones whose
    audience they are shown), fetched in three queries if there are any: a partner's page of 50
    products then reads no audience they never see."""
    own = [product for product in page if product.originating_agency_id == person.agency_id]
    prefetch_related_objects(own, *AUDIENCE_RELATIONS)


class ProductFilterSerializer(serializers.Serializer):
    """The query string of the product list: the same filters and search as the browser's list."""

    q = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=200,
        help_text="Search words (full text: title above summary above body; ranked). Without it, only "
        "current released versions are listed, newest first.",
    )
    kind = serializers.ChoiceField(choices=Product.Kind.choices, required=False, allow_blank=True)
    tlp = serializers.ChoiceField(choices=TLP.choices, required=False, allow_blank=True)
    tag = serializers.CharField(required=False, allow_blank=True, max_length=60)
    state = serializers.ChoiceField(choices=Product.State.choices, required=False, allow_blank=True)
    originator = serializers.IntegerField(required=False, min_value=1, help_text="Id of the originating agency.")
    published_from = serializers.DateField(required=False)
    published_to = serializers.DateField(required=False)
    include_expired = serializers.BooleanField(required=False, default=False)

    def validate(self, data: dict) -> dict:
        start, end = data.get("published_from"), data.get("published_to")
        if start and end and end < start:
            raise serializers.ValidationError(
                {"published_to": "The end of the date range must not come before its start."}
            )
        return data

    def to_filters(self) -> selectors.ProductFilters:
        values = {name: value for name, value in self.validated_data.items() if value is not None}
        values["q"] = values.get("q", "").strip()
        values["tag"] = values.get("tag", "").strip()
        return selectors.ProductFilters(**values)


# --- Writing ------------------------------------------------------------------------------------


class TagListField(serializers.ListField):
    child = serializers.CharField(allow_blank=True)

    def to_internal_value(self, data) -> list[str]:
        try:
            values = super().to_internal_value(data)
        except serializers.ValidationError as error:
            if isinstance(error.detail, dict):  # one message for the field, not one per item
                raise serializers.ValidationError("Give the tags as a list of words.") from None
            raise
        tags: list[str] = []
        for value in values:
            tag = value.strip()
            if tag and tag not in tags:
                tags.append(tag)
        too_long = [tag for tag in tags if len(tag) > 60]
        if too_long:
            raise serializers.ValidationError(f"A tag has at most 60 characters: {too_long[0][:60]}…")
        return tags


def _ids_of(queryset, what: str, **kwargs) -> serializers.PrimaryKeyRelatedField:
    return serializers.PrimaryKeyRelatedField(
        many=True,
        queryset=queryset,
        required=False,
        default=list,
        error_messages={
            "does_not_exist": f"There is no {what} with the id {{pk_value}}.",
            "incorrect_type": f"Give {what} ids as numbers, not {{data_type}}.",
        },
        **kwargs,
    )


class ProductWriteSerializer(serializers.Serializer):
    """What an author writes in a draft. Markings, audience and the rules of 28 CFR Part 23 are checked
    by the service, which answers with a message per field."""

    kind = serializers.ChoiceField(choices=Product.Kind.choices)
    title = serializers.CharField(max_length=250)
    summary = serializers.CharField(required=False, allow_blank=True, default="")
    body = serializers.CharField(required=False, allow_blank=True, default="", help_text="Markdown.")
    tearline = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        help_text="The releasable part, for readers who may not read the full text.",
    )
    tlp = serializers.ChoiceField(choices=TLP.choices, required=False, default=TLP.AMBER)
    caveats = serializers.MultipleChoiceField(choices=Caveat.choices, required=False, default=list)
    audience_agencies = _ids_of(Agency.objects.filter(is_active=True), "active agency")
    audience_levels = serializers.MultipleChoiceField(choices=Agency.Level.choices, required=False, default=list)
    audience_disciplines = serializers.MultipleChoiceField(
        choices=Agency.Discipline.choices, required=False, default=list
    )
    audience_jurisdictions = _ids_of(
        Jurisdiction.objects.all(), "jurisdiction", help_text="A jurisdiction includes those under it."
    )
    audience_people = _ids_of(
        User.objects.filter(is_active=True, agency__is_active=True),
        "active person",
        help_text="Named recipients; the only audience of TLP:RED.",
    )
    tags = TagListField(required=False, default=list)
    information_needs = _ids_of(InformationNeed.objects.filter(is_active=True), "active information need")
    release_reason = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        help_text="Why the audience outside the originating agency needs to know (28 CFR Part 23).",
    )
    is_criminal_intelligence = serializers.BooleanField(required=False, default=False)
    criminal_predicate = serializers.CharField(required=False, allow_blank=True, default="")
    effective_at = serializers.DateTimeField(required=False, allow_null=True, default=None)
    expires_at = serializers.DateTimeField(required=False, allow_null=True, default=None)

    CHOICE_LISTS = {"caveats": Caveat, "audience_levels": Agency.Level, "audience_disciplines": Agency.Discipline}

    def to_content(self, base: services.ProductContent | None = None) -> services.ProductContent:
        """The content to save: what was sent, over `base` (the draft as it is) for a partial update."""
        content = base or services.ProductContent(kind="", title="")
        for name, value in self.validated_data.items():
            if name in self.CHOICE_LISTS:  # a set from MultipleChoiceField, kept in the choices' order
                value = [choice for choice in self.CHOICE_LISTS[name].values if choice in value]
            setattr(content, name, list(value) if isinstance(value, list) else value)
        return content


class ProductCommentSerializer(serializers.Serializer):
    comment = serializers.CharField(required=False, allow_blank=True, default="", max_length=5000)


class ProductReturnSerializer(serializers.Serializer):
    comment = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        max_length=5000,
        help_text="Required: what the author should change.",
    )


class ProductRetractSerializer(serializers.Serializer):
    reason = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        max_length=5000,
        help_text="Required: why the product is retracted. Recipients read it.",
    )


# --- Views --------------------------------------------------------------------------------------


class StixRenderer(JSONRenderer):
    # Without the version parameter, so that "*/*" and "application/stix+json" also choose it (a
    # renderer whose media type has parameters matches only an Accept header with the same ones);
    # the response then names the version.
    media_type = "application/stix+json"
    format = "stix"


class ProductViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """Threat products the person may see: in full, or only the tearline where the markings say so.
    Whoever may not see a product gets 404 for it and everything under it."""

    serializer_class = ProductSerializer
    queryset = ThreatProduct.objects.none()
    filter_backends: list = []

    def _visible(self):
        return with_relations(ThreatProduct.objects.visible_to(self.request.user))

    def get_object(self) -> ThreatProduct:
        try:
            return self._visible().get(pk=int(self.kwargs["pk"]))
        except (ThreatProduct.DoesNotExist, ValueError):
            record_audit(
                action=AuditAction.EXPORT if self.action == "stix" else AuditAction.VIEW,
                item=ItemRef.of(ThreatProduct, self.kwargs["pk"]),
                outcome=AuditOutcome.DENIED,
                request=self.request,
                detail={"api": self.action},
            )
            raise Http404("No such product.") from None

    def _shown(self, product: ThreatProduct, code: int = status.HTTP_200_OK) -> Response:
        """The product as the person now sees it, read again through the policy after a write."""
        product = self._visible().get(pk=product.pk)
        return Response(ProductSerializer(product, context=self.get_serializer_context()).data, status=code)

    def _page(self, products) -> Response:
        if isinstance(products, selectors.ProductSearch):  # its rows come with their relations but one
            page = self.paginate_queryset(products)
            prefetch_related_objects(page, "information_needs")
        else:
            page = self.paginate_queryset(with_list_relations(products))
        audience_for_originator(page, self.request.user)
        return self.get_paginated_response(
            ProductSerializer(page, many=True, context=self.get_serializer_context()).data
        )

    @extend_schema(parameters=[ProductFilterSerializer], responses=ProductSerializer(many=True))
    def list(self, request):
        filters = ProductFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        product_filters = filters.to_filters()
        if product_filters.q:  # a search ranks a bounded set of candidates: its list ends with them
            self.paginator.max_rows = selectors.SEARCH_CANDIDATES
        if product_filters.q:
            products = selectors.product_search(person=request.user, filters=product_filters, snippets=False)
        else:
            products = selectors.product_list(person=request.user, filters=product_filters)
        response = self._page(products)
        if product_filters.q:
            count, exact = response.data.get("count"), response.data.get("count_is_exact")
            record_audit(
                action=AuditAction.SEARCH,
                request=request,
                detail={"q": product_filters.q, "api": "list", "results": count if exact else f"more than {count:,}"},
            )
        return response

    def retrieve(self, request, pk=None):
        product = self.get_object()
        record_audit(
            action=AuditAction.VIEW,
            item=product,
            request=request,
            detail={"api": "retrieve", "access": "full" if product.full_access else "tearline"},
        )
        return Response(ProductSerializer(product, context=self.get_serializer_context()).data)

    @extend_schema(request=ProductWriteSerializer, responses={201: ProductSerializer})
    def create(self, request):
        data = ProductWriteSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        product = services.create_product(author=request.user, content=data.to_content())
        return self._shown(product, status.HTTP_201_CREATED)

    @extend_schema(request=ProductWriteSerializer, responses=ProductSerializer)
    def update(self, request, pk=None, partial=False):
        """Change a draft (PUT replaces what the author wrote, PATCH changes the fields sent). A
        published version never changes: start an update instead."""
        product = self.get_object()
        data = ProductWriteSerializer(data=request.data, partial=partial)
        data.is_valid(raise_exception=True)
        base = services.ProductContent.of(product) if partial else None
        product = services.edit_product(product=product, by=request.user, content=data.to_content(base))
        return self._shown(product)

    @extend_schema(request=ProductWriteSerializer, responses=ProductSerializer)
    def partial_update(self, request, pk=None):
        return self.update(request, pk=pk, partial=True)

    @extend_schema(request=ProductCommentSerializer, responses=ProductSerializer)
    @action(detail=True, methods=["post"])
    def submit(self, request, pk=None):
        """Send a draft for review by a supervisor."""
        product = self.get_object()
        data = ProductCommentSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        product = services.submit_for_review(product=product, by=request.user, comment=data.validated_data["comment"])
        return self._shown(product)

    @extend_schema(request=ProductReturnSerializer, responses=ProductSerializer)
    @action(detail=True, methods=["post"], url_path="return", url_name="return")
    def return_to_author(self, request, pk=None):
        """Send a product in review back to its author with comments (a supervisor other than the author)."""
        product = self.get_object()
        data = ProductReturnSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        product = services.return_product(
            product=product, reviewer=request.user, comment=data.validated_data["comment"]
        )
        return self._shown(product)

    @extend_schema(request=ProductCommentSerializer, responses=ProductSerializer)
    @action(detail=True, methods=["post"])
    def approve(self, request, pk=None):
        """Approve and publish a product in review (a supervisor other than the author)."""
        product = self.get_object()
        data = ProductCommentSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        product = services.approve_product(
            product=product, reviewer=request.user, comment=data.validated_data["comment"]
        )
        return self._shown(product)

    @extend_schema(request=None, responses={201: ProductSerializer})
    @action(detail=True, methods=["post"], url_path="update", url_name="start-update")
    def start_update(self, request, pk=None):
        """Start the next version of a published product: a draft copied from it, returned here."""
        draft = services.start_update(product=self.get_object(), by=request.user)
        return self._shown(draft, status.HTTP_201_CREATED)

    @extend_schema(request=ProductRetractSerializer, responses=ProductSerializer)
    @action(detail=True, methods=["post"])
    def retract(self, request, pk=None):
        """Withdraw a published product (a supervisor of the originating center); a tombstone stays."""
        product = self.get_object()
        data = ProductRetractSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        product = services.retract_product(product=product, by=request.user, reason=data.validated_data["reason"])
        return self._shown(product)

    @extend_schema(responses=ProductSerializer(many=True))
    @action(detail=True, methods=["get"])
    def versions(self, request, pk=None):
        """Every version of the product's series that the person may see, newest first."""
        return self._page(selectors.versions_of(self.get_object(), person=request.user))

    @extend_schema(
        responses={
            200: OpenApiResponse(
                OpenApiTypes.OBJECT,
                description="A STIX 2.1 bundle: a `report` with the TLP 2.0 marking definition and the "
                "caveats as statement markings, and the originating agency's `identity`; the body as a "
                "`note` for readers with full access, the tearline as the description for the others.",
            )
        }
    )
    @action(detail=True, methods=["get"], renderer_classes=[StixRenderer, JSONRenderer])
    def stix(self, request, pk=None):
        """The product version as a STIX 2.1 bundle (`application/stix+json;version=2.1`)."""
        product = self.get_object()
        bundle = stix.product_bundle(product, full_access=product.full_access)
        record_audit(
            action=AuditAction.EXPORT,
            item=product,
            request=request,
            detail={"format": "stix", "access": "full" if product.full_access else "tearline"},
        )
        as_stix = isinstance(request.accepted_renderer, StixRenderer)
        return Response(bundle, content_type=stix.MEDIA_TYPE if as_stix else None)
