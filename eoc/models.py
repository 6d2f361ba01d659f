"""The EOC: activation levels, incidents and operational periods, the incident feed, situation
reports, resource requests (ICS-213RR) and tasks."""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from agencies.markings import MarkedItem
from agencies.uploads import FILENAME_MAX_LENGTH, content_path
from agencies.visibility import MarkedQuerySet, person_may_see_anything

LATITUDE = [MinValueValidator(-90), MaxValueValidator(90)]
LONGITUDE = [MinValueValidator(-180), MaxValueValidator(180)]


class ActivationLevel(models.IntegerChoices):
    """NIMS activation levels, stored canonically (3 is steady state, 1 full activation)."""

    FULL = 1, "Level 1 — full activation"
    PARTIAL = 2, "Level 2 — partial activation"
    MONITORING = 3, "Level 3 — steady state / monitoring"


class EocStatus(models.Model):
    """An EOC's current activation level. Its history is the ActivationChange rows."""

    class Numbering(models.TextChoices):
        NIMS = "nims", "NIMS (Level 1 is full activation)"
        REVERSED = "reversed", "Reversed (Level 3 is full activation, as in California)"

    eoc = models.OneToOneField("agencies.Agency", on_delete=models.PROTECT, related_name="eoc_status")
    level = models.PositiveSmallIntegerField(choices=ActivationLevel.choices, default=ActivationLevel.MONITORING)
    numbering = models.CharField(max_length=10, choices=Numbering.choices, default=Numbering.NIMS)
    incident = models.ForeignKey("Incident", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    since = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = "EOC status"
        verbose_name_plural = "EOC statuses"

    def __str__(self) -> str:
        return f"{self.eoc.acronym}: {self.level_label}"

    @property
    def level_label(self) -> str:
        """The level as this EOC's jurisdiction numbers it."""
        return local_level_label(self.level, self.numbering)

    @property
    def is_activated(self) -> bool:
        return self.level in (ActivationLevel.FULL, ActivationLevel.PARTIAL)


def local_level_label(level: int, numbering: str) -> str:
    words = {1: "full activation", 2: "partial activation", 3: "steady state / monitoring"}[level]
    number = 4 - level if numbering == EocStatus.Numbering.REVERSED else level
    return f"Level {number} — {words}"


class ActivationChange(models.Model):
    """One change of an EOC's activation level, with its reason."""

    eoc = models.ForeignKey("agencies.Agency", on_delete=models.PROTECT, related_name="activation_changes")
    from_level = models.PositiveSmallIntegerField(choices=ActivationLevel.choices)
    to_level = models.PositiveSmallIntegerField(choices=ActivationLevel.choices)
    reason = models.TextField()
    incident = models.ForeignKey("Incident", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    changed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    changed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-changed_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.eoc_id}: {self.from_level} → {self.to_level}"


class IncidentQuerySet(models.QuerySet):
    def visible_to(self, person):
        """Every active person sees real incidents (the common operating picture); an exercise only
        its participants: the lead EOC and the supporting agencies."""
        if not person_may_see_anything(person):
            return self.none()
        return self.filter(Q(is_exercise=False) | participant_condition(person))

    def open(self):
        return self.exclude(status=Incident.Status.CLOSED)


def participant_condition(person, *, incident_ref: str = "pk", lead_field: str = "lead_eoc_id") -> Q:
    """Whether the person's agency takes part in the incident: its lead EOC or a supporting agency."""
    supporting = Incident.supporting_agencies.through.objects.filter(
        incident_id=OuterRef(incident_ref), agency_id=person.agency_id
    )
    return Q(**{lead_field: person.agency_id}) | Q(Exists(supporting))


class Incident(models.Model):
    class Type(models.TextChoices):
        FLOOD = "flood", "Flood"
        SEVERE_WEATHER = "severe_weather", "Severe weather"
        HURRICANE = "hurricane", "Hurricane"
        WILDFIRE = "wildfire", "Wildfire"
        EARTHQUAKE = "earthquake", "Earthquake"
        HAZMAT = "hazmat", "Hazardous materials"
        MASS_CASUALTY = "mass_casualty", "Mass casualty"
        ACTIVE_THREAT = "active_threat", "Active threat"
        CIVIL_UNREST = "civil_unrest", "Civil unrest"
        INFRASTRUCTURE_FAILURE = "infrastructure_failure", "Infrastructure failure"
        CYBER = "cyber", "Cyber"
        PUBLIC_HEALTH = "public_health", "Public health"
        PLANNED_EVENT = "planned_event", "Planned event"
        OTHER = "other", "Other"

    class Status(models.TextChoices):
        MONITORING = "monitoring", "Monitoring"
        ACTIVE = "active", "Active"
        RECOVERY = "recovery", "Recovery"
        CLOSED = "closed", "Closed"

    class Priority(models.TextChoices):
        LOW = "low", "Low"
        MODERATE = "moderate", "Moderate"
        HIGH = "high", "High"
        CRITICAL = "critical", "Critical"

    number = models.CharField(max_length=40, unique=True)
    name = models.CharField(max_length=200)
    incident_type = models.CharField("type", max_length=30, choices=Type.choices)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.MONITORING, db_index=True)
    priority = models.CharField(max_length=20, choices=Priority.choices, default=Priority.MODERATE)
    is_exercise = models.BooleanField("exercise", default=False)
    description = models.TextField(blank=True)
    address = models.CharField(max_length=250, blank=True)
    latitude = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True, validators=LATITUDE)
    longitude = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True, validators=LONGITUDE)
    affected_jurisdictions = models.ManyToManyField("agencies.Jurisdiction", blank=True, related_name="incidents")
    lead_eoc = models.ForeignKey("agencies.Agency", on_delete=models.PROTECT, related_name="led_incidents")
    supporting_agencies = models.ManyToManyField("agencies.Agency", blank=True, related_name="supported_incidents")
    started_at = models.DateTimeField(default=timezone.now)
    closed_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    objects = IncidentQuerySet.as_manager()

    class Meta:
        ordering = ["-started_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(latitude__isnull=True) | Q(latitude__gte=-90, latitude__lte=90), name="incident_latitude"
            ),
            models.CheckConstraint(
                condition=Q(longitude__isnull=True) | Q(longitude__gte=-180, longitude__lte=180),
                name="incident_longitude",
            ),
        ]

    def __str__(self) -> str:
        prefix = "EXERCISE " if self.is_exercise else ""
        return f"{prefix}{self.number} {self.name}"

    @property
    def is_closed(self) -> bool:
        return self.status == self.Status.CLOSED


class OperationalPeriod(models.Model):
    """The span (often 12 or 24 hours) that a situation report and the incident objectives cover."""

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="operational_periods")
    number = models.PositiveIntegerField()
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    objectives = models.TextField(blank=True, help_text="ICS-202 incident objectives for this period.")
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["incident", "number"]
        constraints = [
            models.UniqueConstraint(fields=["incident", "number"], name="operational_period_number_unique"),
            models.CheckConstraint(condition=Q(ends_at__gt=models.F("starts_at")), name="operational_period_order"),
        ]

    def __str__(self) -> str:
        return f"Operational period {self.number}"

    @property
    def is_closed(self) -> bool:
        return self.closed_at is not None


class FeedEntryQuerySet(MarkedQuerySet):
    def visibility_conditions(self, person):
        """The marking policy, and for an exercise only its participants, whatever the markings."""
        may_see, full = super().visibility_conditions(person)
        real = Q(incident__isnull=True) | Q(incident__is_exercise=False)
        in_exercise = participant_condition(person, incident_ref="incident_id", lead_field="incident__lead_eoc_id")
        return may_see & (real | in_exercise), full


class FeedEntry(MarkedItem):
    """One timestamped entry of an incident feed (significant events log), or of an EOC-wide feed
    when it belongs to no incident. Never edited or deleted: corrected by a new entry."""

    class Kind(models.TextChoices):
        SIGNIFICANT_EVENT = "significant_event", "Significant event"
        SITUATION_UPDATE = "situation_update", "Situation update"
        WARNING = "warning", "Warning"
        DECISION = "decision", "Decision"
        RESOURCE_NOTE = "resource_note", "Resource note"
        RELAYED_ITEM = "relayed_item", "Relayed item"

    class Priority(models.TextChoices):
        ROUTINE = "routine", "Routine"
        PRIORITY = "priority", "Priority"
        FLASH = "flash", "Flash"

    eoc = models.ForeignKey("agencies.Agency", on_delete=models.PROTECT, related_name="feed_entries")
    incident = models.ForeignKey(Incident, null=True, blank=True, on_delete=models.PROTECT, related_name="entries")
    kind = models.CharField(max_length=30, choices=Kind.choices)
    priority = models.CharField(max_length=10, choices=Priority.choices, default=Priority.ROUTINE, db_index=True)
    title = models.CharField(max_length=250)
    body = models.TextField(blank=True)
    occurred_at = models.DateTimeField("time of event", default=timezone.now)
    posted_at = models.DateTimeField("time posted", default=timezone.now, db_index=True)
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="feed_entries")
    author_agency = models.ForeignKey("agencies.Agency", on_delete=models.PROTECT, related_name="+")
    latitude = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True, validators=LATITUDE)
    longitude = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True, validators=LONGITUDE)
    corrects = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="corrections")
    # Where a relayed entry came from (set by the liaison app): "sharing.threatproduct", id.
    source_type = models.CharField(max_length=60, blank=True)
    source_id = models.BigIntegerField(null=True, blank=True)
    # CAP 1.2 alerts imported or exported: the alert's own fields, kept as received.
    cap_identifier = models.CharField(max_length=250, blank=True)
    cap_sender = models.CharField(max_length=250, blank=True)
    cap_sent = models.DateTimeField(null=True, blank=True)
    cap_msg_type = models.CharField(max_length=20, blank=True)
    cap_severity = models.CharField(max_length=20, blank=True)
    cap_urgency = models.CharField(max_length=20, blank=True)
    cap_certainty = models.CharField(max_length=20, blank=True)
    cap_area = models.JSONField(default=list, blank=True)

    objects = FeedEntryQuerySet.as_manager()

    class Meta:
        ordering = ["-posted_at", "-pk"]
        verbose_name_plural = "feed entries"
        constraints = [
            models.UniqueConstraint(
                fields=["cap_sender", "cap_identifier"], condition=~Q(cap_identifier=""), name="feed_entry_cap_unique"
            ),
            models.CheckConstraint(
                condition=Q(latitude__isnull=True) | Q(latitude__gte=-90, latitude__lte=90), name="entry_latitude"
            ),
            models.CheckConstraint(
                condition=Q(longitude__isnull=True) | Q(longitude__gte=-180, longitude__lte=180),
                name="entry_longitude",
            ),
        ]
        indexes = [
            models.Index(fields=["incident", "-posted_at", "-id"], name="entry_incident_feed"),
            models.Index(fields=["eoc", "-posted_at", "-id"], name="entry_eoc_feed"),
            models.Index(fields=["source_type", "source_id"], name="entry_source"),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def is_flash(self) -> bool:
        return self.priority == self.Priority.FLASH


def feed_attachment_path(instance: FeedEntryAttachment, filename: str) -> str:
    return content_path("feed-attachments", instance.sha256)


class FeedEntryAttachment(models.Model):
    """A PDF or image posted with a feed entry, in the same transaction; like its entry it never
    changes. Served only to those who may read the entry in full."""

    entry = models.ForeignKey(FeedEntry, on_delete=models.PROTECT, related_name="attachments")
    file = models.FileField(upload_to=feed_attachment_path)
    filename = models.CharField(max_length=FILENAME_MAX_LENGTH)
    content_type = models.CharField(max_length=100)
    size = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)

    class Meta:
        ordering = ["entry", "pk"]
        constraints = [models.UniqueConstraint(fields=["entry", "sha256"], name="feed_attachment_once_per_entry")]

    def __str__(self) -> str:
        return self.filename


class FeedAcknowledgement(models.Model):
    entry = models.ForeignKey(FeedEntry, on_delete=models.CASCADE, related_name="acknowledgements")
    person = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    acknowledged_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["entry", "person"], name="feed_acknowledgement_unique")]

    def __str__(self) -> str:
        return f"{self.person_id} acknowledged {self.entry_id}"


class SituationReport(models.Model):
    """ICS-209-like situation report of one operational period; published ones never change."""

    class State(models.TextChoices):
        DRAFT = "draft", "Draft"
        PUBLISHED = "published", "Published"

    incident = models.ForeignKey(Incident, on_delete=models.PROTECT, related_name="situation_reports")
    operational_period = models.ForeignKey(OperationalPeriod, on_delete=models.PROTECT, related_name="reports")
    number = models.PositiveIntegerField()
    state = models.CharField(max_length=20, choices=State.choices, default=State.DRAFT)
    situation_summary = models.TextField(blank=True)
    actions_taken = models.TextField(blank=True)
    resources = models.TextField(blank=True)
    casualties_damage = models.TextField("casualties and damage", blank=True)
    weather = models.TextField(blank=True)
    public_information = models.TextField(blank=True)
    next_steps = models.TextField(blank=True)
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    published_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["incident", "-number"]
        constraints = [models.UniqueConstraint(fields=["incident", "number"], name="situation_report_number_unique")]

    def __str__(self) -> str:
        return f"Situation report {self.number}"


class ResourceRequest(models.Model):
    """ICS-213RR: request > approve > source > assign > en route > deliver > demobilise."""

    class State(models.TextChoices):
        REQUESTED = "requested", "Requested"
        APPROVED = "approved", "Approved"
        DENIED = "denied", "Denied"
        SOURCING = "sourcing", "Sourcing"
        ASSIGNED = "assigned", "Assigned"
        EN_ROUTE = "en_route", "En route"
        DELIVERED = "delivered", "Delivered"
        DEMOBILISED = "demobilised", "Demobilised"
        CANCELLED = "cancelled", "Cancelled"

    class Priority(models.TextChoices):
        ROUTINE = "routine", "Routine"
        URGENT = "urgent", "Urgent"
        IMMEDIATE = "immediate", "Immediate"

    incident = models.ForeignKey(Incident, on_delete=models.PROTECT, related_name="resource_requests")
    number = models.CharField(max_length=40)
    resource_kind = models.CharField(max_length=200, help_text="e.g. Swift-water rescue team")
    nims_type = models.CharField("NIMS type", max_length=40, blank=True, help_text="e.g. Type 2")
    quantity = models.PositiveIntegerField(validators=[MinValueValidator(1)])
    priority = models.CharField(max_length=20, choices=Priority.choices, default=Priority.ROUTINE)
    needed_by = models.DateTimeField()
    deliver_to = models.CharField(max_length=250)
    requesting_agency = models.ForeignKey("agencies.Agency", on_delete=models.PROTECT, related_name="+")
    assigned_agency = models.ForeignKey(
        "agencies.Agency", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    state = models.CharField(max_length=20, choices=State.choices, default=State.REQUESTED, db_index=True)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["needed_by", "pk"]
        constraints = [models.UniqueConstraint(fields=["incident", "number"], name="resource_request_number_unique")]

    def __str__(self) -> str:
        return f"{self.number} {self.resource_kind}"

    @property
    def is_overdue(self) -> bool:
        open_states = {
            self.State.REQUESTED,
            self.State.APPROVED,
            self.State.SOURCING,
            self.State.ASSIGNED,
            self.State.EN_ROUTE,
        }
        return self.state in open_states and self.needed_by < timezone.now()


class ResourceRequestEvent(models.Model):
    request = models.ForeignKey(ResourceRequest, on_delete=models.CASCADE, related_name="events")
    from_state = models.CharField(max_length=20, blank=True)
    to_state = models.CharField(max_length=20)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField(default=timezone.now)
    note = models.TextField(blank=True)

    class Meta:
        ordering = ["at", "pk"]

    def __str__(self) -> str:
        return f"{self.from_state} → {self.to_state}"


class Task(models.Model):
    """A mission assigned to an agency, an Emergency Support Function or a section."""

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        IN_PROGRESS = "in_progress", "In progress"
        DONE = "done", "Done"
        CANCELLED = "cancelled", "Cancelled"

    class Section(models.TextChoices):
        OPERATIONS = "operations", "Operations"
        PLANNING = "planning", "Planning"
        LOGISTICS = "logistics", "Logistics"
        FINANCE = "finance", "Finance/Administration"

    class ESF(models.IntegerChoices):
        TRANSPORTATION = 1, "ESF 1 — Transportation"
        COMMUNICATIONS = 2, "ESF 2 — Communications"
        PUBLIC_WORKS = 3, "ESF 3 — Public works and engineering"
        FIREFIGHTING = 4, "ESF 4 — Firefighting"
        INFORMATION_PLANNING = 5, "ESF 5 — Information and planning"
        MASS_CARE = 6, "ESF 6 — Mass care"
        LOGISTICS = 7, "ESF 7 — Logistics"
        HEALTH_MEDICAL = 8, "ESF 8 — Public health and medical"
        SEARCH_RESCUE = 9, "ESF 9 — Search and rescue"
        HAZMAT = 10, "ESF 10 — Oil and hazardous materials"
        AGRICULTURE = 11, "ESF 11 — Agriculture and natural resources"
        ENERGY = 12, "ESF 12 — Energy"
        PUBLIC_SAFETY = 13, "ESF 13 — Public safety and security"
        CROSS_SECTOR = 14, "ESF 14 — Cross-sector business and infrastructure"
        EXTERNAL_AFFAIRS = 15, "ESF 15 — External affairs"

    incident = models.ForeignKey(Incident, on_delete=models.PROTECT, related_name="tasks")
    title = models.CharField(max_length=250)
    description = models.TextField(blank=True)
    assigned_agency = models.ForeignKey(
        "agencies.Agency", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    esf = models.PositiveSmallIntegerField("ESF", choices=ESF.choices, null=True, blank=True)
    section = models.CharField(max_length=20, choices=Section.choices, blank=True)
    due_at = models.DateTimeField()
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.OPEN, db_index=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["due_at", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(assigned_agency__isnull=True, esf__isnull=True, section=""), name="task_has_assignee"
            ),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def is_overdue(self) -> bool:
        return self.status in (self.Status.OPEN, self.Status.IN_PROGRESS) and self.due_at < timezone.now()
