"""Threat products and their versions, attachments, information needs, requests for information."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVectorField
from django.db import models
from django.db.models import Q
from django.utils import timezone

from agencies.markings import MarkedItem
from agencies.uploads import FILENAME_MAX_LENGTH, content_path
from agencies.visibility import MarkedQuerySet, person_may_see_anything

CRIMINAL_INTELLIGENCE_RETENTION = timedelta(days=5 * 365)


class InformationNeed(models.Model):
    """A standing information need (or priority information requirement) of a partner agency."""

    code = models.CharField(max_length=30, unique=True, help_text="e.g. SIN-NC-003")
    title = models.CharField(max_length=200)
    agency = models.ForeignKey("agencies.Agency", on_delete=models.PROTECT, related_name="information_needs")
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.code} {self.title}"


class ProductNumberSequence(models.Model):
    """The last number given to a center's products in a year. Incremented under a row lock in the
    publishing transaction, so concurrent publishing leaves neither duplicates nor gaps."""

    agency = models.ForeignKey("agencies.Agency", on_delete=models.PROTECT)
    year = models.PositiveIntegerField()
    last_value = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["agency", "year"], name="product_number_sequence_unique")]

    def __str__(self) -> str:
        return f"{self.agency_id}/{self.year}: {self.last_value}"


class ThreatProductQuerySet(MarkedQuerySet):
    def visibility_conditions(self, person):
        """Released versions (published, superseded, retracted) through the marking policy; drafts and
        versions in review only to their author and the originating center's analysts and supervisors."""
        from agencies.models import Role

        may_see, full = super().visibility_conditions(person)
        released = ~Q(state__in=ThreatProduct.UNRELEASED_STATES)
        workers = Q(author=person)
        if person.has_role(Role.ANALYST, Role.SUPERVISOR):
            workers |= Q(originating_agency_id=person.agency_id)
        unreleased = Q(state__in=ThreatProduct.UNRELEASED_STATES) & workers
        # The author always reads what they wrote, even under a caveat they do not hold (LES); whoever
        # may see an unreleased version works on it and reads it in full.
        author = Q(author=person)
        return author | (released & may_see) | unreleased, author | ~released | full

    def published(self):
        return self.filter(state=ThreatProduct.State.PUBLISHED)

    def current(self):
        """Not expired: what default lists show."""
        return self.filter(Q(expires_at__isnull=True) | Q(expires_at__gt=timezone.now()))


class ThreatProduct(MarkedItem):
    """One version of a threat product. Published versions never change; an update is the next version."""

    class Kind(models.TextChoices):
        SITUATIONAL_AWARENESS = "situational_awareness", "Situational awareness bulletin"
        INTELLIGENCE_BULLETIN = "intelligence_bulletin", "Intelligence bulletin"
        INTELLIGENCE_ASSESSMENT = "intelligence_assessment", "Intelligence assessment"
        OFFICER_SAFETY = "officer_safety", "Officer safety bulletin"
        BOLO = "bolo", "BOLO (be on the lookout)"
        SPECIAL_EVENT = "special_event", "Special event threat assessment"
        SAR_SUMMARY = "sar_summary", "SAR summary"

    class State(models.TextChoices):
        DRAFT = "draft", "Draft"
        IN_REVIEW = "in_review", "In review"
        PUBLISHED = "published", "Published"
        SUPERSEDED = "superseded", "Superseded"
        RETRACTED = "retracted", "Retracted"

    UNRELEASED_STATES = (State.DRAFT, State.IN_REVIEW)

    kind = models.CharField(max_length=30, choices=Kind.choices)
    number = models.CharField(max_length=40, blank=True, db_index=True, help_text="Given at first publication.")
    version = models.PositiveIntegerField(default=1)
    previous_version = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="next_version"
    )
    state = models.CharField(max_length=20, choices=State.choices, default=State.DRAFT, db_index=True)
    title = models.CharField(max_length=250)
    summary = models.TextField(blank=True)
    body = models.TextField(blank=True, help_text="Markdown.")
    tags = ArrayField(models.CharField(max_length=60), default=list, blank=True)
    information_needs = models.ManyToManyField(InformationNeed, blank=True, related_name="products")
    release_reason = models.TextField(
        "reason for release",
        blank=True,
        help_text="Why the audience outside the originating agency needs to know (28 CFR Part 23).",
    )
    is_criminal_intelligence = models.BooleanField("criminal intelligence", default=False)
    criminal_predicate = models.TextField(
        blank=True, help_text="The reasonable suspicion of criminal conduct this intelligence rests on."
    )
    review_by = models.DateField(null=True, blank=True, help_text="Criminal intelligence: validate or purge by.")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="authored_products")
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="reviewed_products"
    )
    effective_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True, db_index=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)
    published_at = models.DateTimeField(null=True, blank=True, db_index=True)
    retracted_at = models.DateTimeField(null=True, blank=True)
    retraction_reason = models.TextField(blank=True)
    purged_at = models.DateTimeField(
        null=True, blank=True, help_text="Criminal intelligence purged under 28 CFR Part 23: only a tombstone is left."
    )
    # Full-text search: title (A) above summary (B) above body (C), English stemming; kept by the
    # services that write the text. The tearline has its own vector so those who see only the
    # tearline are never matched on words of the full text.
    search_vector = SearchVectorField(null=True, editable=False)
    tearline_search_vector = SearchVectorField(null=True, editable=False)

    objects = ThreatProductQuerySet.as_manager()

    class Meta:
        ordering = ["-published_at", "-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["number", "version"], condition=~Q(number=""), name="product_number_version_unique"
            ),
            models.CheckConstraint(
                condition=~Q(state="published") | ~Q(number=""), name="published_product_has_number"
            ),
            models.CheckConstraint(
                condition=Q(is_criminal_intelligence=False) | ~Q(criminal_predicate=""),
                name="criminal_intelligence_has_predicate",
            ),
        ]
        indexes = [
            GinIndex(fields=["search_vector"], name="product_search_gin"),
            GinIndex(fields=["tearline_search_vector"], name="product_tearline_search_gin"),
            GinIndex(fields=["tags"], name="product_tags_gin"),
            models.Index(fields=["originating_agency", "state", "-published_at"], name="product_origin_state"),
            # The product list's own order: a page of the newest products the reader may see walks this
            # index and stops after a page, instead of sorting every visible product (make bench).
            models.Index(
                models.F("published_at").desc(nulls_last=True),
                models.F("created_at").desc(),
                models.F("id").desc(),
                name="product_list_order",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.number or 'Draft'} {self.title}"

    @property
    def display_number(self) -> str:
        if not self.number:
            return "Draft"
        return self.number if self.version == 1 else f"{self.number} v{self.version}"

    @property
    def is_expired(self) -> bool:
        return self.expires_at is not None and self.expires_at <= timezone.now()

    @property
    def is_released(self) -> bool:
        return self.state not in self.UNRELEASED_STATES

    @property
    def is_purged(self) -> bool:
        return self.purged_at is not None


class ProductTransition(models.Model):
    """One step of a product's lifecycle: who did what, when, with what comment."""

    class Action(models.TextChoices):
        CREATED = "created", "Created"
        EDITED = "edited", "Edited"
        SUBMITTED = "submitted", "Submitted for review"
        RETURNED = "returned", "Returned with comments"
        APPROVED = "approved", "Approved and published"
        SUPERSEDED = "superseded", "Superseded by a new version"
        RETRACTED = "retracted", "Retracted"
        NEW_VERSION = "new_version", "New version started"
        RETENTION_VALIDATED = "retention_validated", "Validated for retention (28 CFR Part 23)"
        PURGED = "purged", "Purged (28 CFR Part 23)"

    product = models.ForeignKey(ThreatProduct, on_delete=models.CASCADE, related_name="transitions")
    action = models.CharField(max_length=20, choices=Action.choices)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField(default=timezone.now)
    comment = models.TextField(blank=True)

    class Meta:
        ordering = ["at", "pk"]

    def __str__(self) -> str:
        return f"{self.get_action_display()} by {self.by} at {self.at:%Y-%m-%d %H:%M}"


class ProductRead(models.Model):
    """When a person first opened a product version: what the unread marks of product lists rest on."""

    product = models.ForeignKey(ThreatProduct, on_delete=models.CASCADE, related_name="reads")
    person = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    read_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["product", "person"], name="product_read_unique")]

    def __str__(self) -> str:
        return f"{self.person_id} read {self.product_id} at {self.read_at:%Y-%m-%d %H:%M}"


class RetentionReview(models.Model):
    """The review of a criminal-intelligence product (28 CFR Part 23) before its review-by date: a
    supervisor of the originating center validates it for a new period or purges it.

    A review concerns the product number as a whole: every released version of it, the current one
    and those it superseded. At most one review per number is open at a time.
    """

    class State(models.TextChoices):
        OPEN = "open", "Open"
        VALIDATED = "validated", "Validated"
        PURGED = "purged", "Purged"

    number = models.CharField(max_length=40, help_text="The product number under review.")
    agency = models.ForeignKey("agencies.Agency", on_delete=models.PROTECT, related_name="retention_reviews")
    product = models.ForeignKey(
        ThreatProduct,
        on_delete=models.PROTECT,
        related_name="retention_reviews",
        help_text="The newest released version of the number when the review was opened.",
    )
    due_date = models.DateField(help_text="The earliest review-by date among the number's versions.")
    state = models.CharField(max_length=20, choices=State.choices, default=State.OPEN)
    opened_at = models.DateTimeField(default=timezone.now)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    justification = models.TextField(blank=True)
    new_review_by = models.DateField(null=True, blank=True, help_text="Validated: the new review-by date.")

    class Meta:
        ordering = ["due_date", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["number"], condition=Q(state="open"), name="retention_review_one_open"),
            models.CheckConstraint(
                condition=Q(state="open")
                | (Q(decided_by__isnull=False) & Q(decided_at__isnull=False) & ~Q(justification="")),
                name="retention_review_decision_complete",
            ),
            models.CheckConstraint(
                condition=~Q(state="validated") | Q(new_review_by__isnull=False),
                name="retention_review_validated_has_date",
            ),
        ]
        indexes = [models.Index(fields=["agency", "state", "due_date"], name="retention_review_queue")]

    def __str__(self) -> str:
        return f"Retention review of {self.number} due {self.due_date:%Y-%m-%d} ({self.state})"

    @property
    def is_open(self) -> bool:
        return self.state == self.State.OPEN

    @property
    def is_overdue(self) -> bool:
        return self.is_open and self.due_date < timezone.localdate()

    @property
    def days_left(self) -> int:
        return (self.due_date - timezone.localdate()).days

    @property
    def days_overdue(self) -> int:
        return max(0, -self.days_left)


def attachment_path(instance: ProductAttachment, filename: str) -> str:
    return content_path("attachments", instance.sha256)


class ProductAttachment(models.Model):
    """A PDF or image attached to a product version; served only through the visibility policy."""

    product = models.ForeignKey(ThreatProduct, on_delete=models.CASCADE, related_name="attachments")
    file = models.FileField(upload_to=attachment_path)
    filename = models.CharField(max_length=FILENAME_MAX_LENGTH)
    content_type = models.CharField(max_length=100)
    size = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    uploaded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["uploaded_at", "pk"]

    def __str__(self) -> str:
        return self.filename


class RequestNumberSequence(models.Model):
    """The last number given to requests for information in a year. Incremented under a row lock in the
    submitting transaction, so concurrent requests get neither duplicates nor gaps."""

    year = models.PositiveIntegerField(unique=True)
    last_value = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"RFI {self.year}: {self.last_value}"


class RequestForInformationQuerySet(models.QuerySet):
    def visible_to(self, person):
        """The requester's agency follows its requests; the fusion center asked sees all it received."""
        if not person_may_see_anything(person):
            return self.none()
        return self.filter(Q(requesting_agency_id=person.agency_id) | Q(fusion_center_id=person.agency_id))


class RequestForInformation(models.Model):
    class Priority(models.TextChoices):
        ROUTINE = "routine", "Routine"
        PRIORITY = "priority", "Priority"
        IMMEDIATE = "immediate", "Immediate"

    class State(models.TextChoices):
        SUBMITTED = "submitted", "Submitted"
        ASSIGNED = "assigned", "Assigned"
        ANSWERED = "answered", "Answered"
        CLOSED = "closed", "Closed"

    # Waiting on the fusion center: these can be overdue.
    OPEN_STATES = (State.SUBMITTED, State.ASSIGNED)

    number = models.CharField(max_length=40, unique=True)
    question = models.TextField()
    priority = models.CharField(max_length=20, choices=Priority.choices, default=Priority.ROUTINE)
    due_date = models.DateField()
    jurisdiction = models.ForeignKey("agencies.Jurisdiction", null=True, blank=True, on_delete=models.PROTECT)
    requester = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="requests_made")
    requesting_agency = models.ForeignKey("agencies.Agency", on_delete=models.PROTECT, related_name="requests_made")
    fusion_center = models.ForeignKey("agencies.Agency", on_delete=models.PROTECT, related_name="requests_received")
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="requests_assigned"
    )
    state = models.CharField(max_length=20, choices=State.choices, default=State.SUBMITTED, db_index=True)
    answer = models.TextField(blank=True)
    answer_products = models.ManyToManyField(ThreatProduct, blank=True, related_name="answers_requests")
    created_at = models.DateTimeField(default=timezone.now)
    answered_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    objects = RequestForInformationQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "request for information"
        verbose_name_plural = "requests for information"
        constraints = [
            models.CheckConstraint(
                condition=~Q(state__in=["assigned", "answered"]) | Q(assignee__isnull=False),
                name="rfi_assigned_has_assignee",
            ),
            models.CheckConstraint(
                condition=~Q(state="answered") | Q(answered_at__isnull=False), name="rfi_answered_has_time"
            ),
            models.CheckConstraint(
                condition=~Q(state="closed") | Q(closed_at__isnull=False), name="rfi_closed_has_time"
            ),
        ]
        indexes = [
            models.Index(fields=["fusion_center", "state", "due_date"], name="rfi_received_queue"),
            models.Index(fields=["requesting_agency", "state", "due_date"], name="rfi_requested_list"),
        ]

    def __str__(self) -> str:
        return f"{self.number} {self.question[:60]}"

    @property
    def is_overdue(self) -> bool:
        return self.state in self.OPEN_STATES and self.due_date < timezone.localdate()


class RequestEvent(models.Model):
    """Every step of a request for information, recorded."""

    class Action(models.TextChoices):
        SUBMITTED = "submitted", "Submitted"
        ASSIGNED = "assigned", "Assigned"
        ANSWERED = "answered", "Answered"
        CLOSED = "closed", "Closed"

    request = models.ForeignKey(RequestForInformation, on_delete=models.CASCADE, related_name="events")
    action = models.CharField(max_length=30, choices=Action.choices)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField(default=timezone.now)
    note = models.TextField(blank=True)

    class Meta:
        ordering = ["at", "pk"]

    def __str__(self) -> str:
        return f"{self.action} by {self.by} at {self.at:%Y-%m-%d %H:%M}"
