"""Between the fusion center and the EOCs: liaison assignments, duty contacts, routing rules,
relays, and the fusion center's situational-awareness queue."""

from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import Q
from django.utils import timezone

from agencies.markings import MarkedItem
from agencies.visibility import MarkedQuerySet


class Direction(models.TextChoices):
    TO_EOC = "to_eoc", "Fusion center → EOC"
    TO_FUSION_CENTER = "to_fusion_center", "EOC → fusion center"


class Priority(models.TextChoices):
    """Priorities of the incident feed, in increasing order; a rule's minimum is compared with them."""

    ROUTINE = "routine", "Routine"
    PRIORITY = "priority", "Priority"
    FLASH = "flash", "Flash"


PRIORITY_RANK = {Priority.ROUTINE: 0, Priority.PRIORITY: 1, Priority.FLASH: 2}


class AssignmentQuerySet(models.QuerySet):
    def current(self, at=None):
        at = at or timezone.now()
        return self.filter(Q(starts_at__lte=at), Q(ends_at__isnull=True) | Q(ends_at__gt=at))


class LiaisonAssignment(models.Model):
    """A fusion center's liaison officer assigned to an EOC, or during an activation to one of its incidents."""

    officer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="liaison_assignments")
    fusion_center = models.ForeignKey("agencies.Agency", on_delete=models.PROTECT, related_name="+")
    eoc = models.ForeignKey("agencies.Agency", on_delete=models.PROTECT, related_name="liaison_assignments")
    incident = models.ForeignKey(
        "eoc.Incident", null=True, blank=True, on_delete=models.PROTECT, related_name="liaison_assignments"
    )
    starts_at = models.DateTimeField(default=timezone.now)
    ends_at = models.DateTimeField(null=True, blank=True)
    phone = models.CharField(
        max_length=40, blank=True, help_text="How the EOC reaches the officer during the assignment."
    )
    note = models.CharField(max_length=250, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    objects = AssignmentQuerySet.as_manager()

    class Meta:
        ordering = ["-starts_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__isnull=True) | Q(ends_at__gt=models.F("starts_at")), name="assignment_order"
            )
        ]
        indexes = [models.Index(fields=["eoc", "ends_at"], name="assignment_eoc")]

    def __str__(self) -> str:
        return f"{self.officer} → {self.eoc}"

    @property
    def is_current(self) -> bool:
        now = timezone.now()
        return self.starts_at <= now and (self.ends_at is None or self.ends_at > now)


class DutyContact(models.Model):
    """The fusion center's contact of the day: who the EOCs call first."""

    fusion_center = models.ForeignKey("agencies.Agency", on_delete=models.PROTECT, related_name="+")
    on_date = models.DateField()
    person = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    phone = models.CharField(max_length=40, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["-on_date"]
        constraints = [models.UniqueConstraint(fields=["fusion_center", "on_date"], name="duty_contact_unique")]

    def __str__(self) -> str:
        return f"{self.on_date}: {self.person}"


class RoutingRule(models.Model):
    """Which items flow between a fusion center and an EOC (or every EOC within a jurisdiction)."""

    class Mode(models.TextChoices):
        AUTOMATIC = "automatic", "Automatic"
        PROPOSED = "proposed", "Proposed for a liaison officer to approve"

    class When(models.TextChoices):
        ALWAYS = "always", "Always"
        ACTIVATED = "activated", "Only while the EOC is at Level 2 or 1"

    class Direction(models.TextChoices):
        TO_EOC = "to_eoc", "Fusion center → EOC"
        TO_FUSION_CENTER = "to_fusion_center", "EOC → fusion center"
        BOTH = "both", "Both directions"

    name = models.CharField(max_length=200)
    fusion_center = models.ForeignKey("agencies.Agency", on_delete=models.PROTECT, related_name="routing_rules")
    target_eoc = models.ForeignKey(
        "agencies.Agency", null=True, blank=True, on_delete=models.PROTECT, related_name="routing_rules_targeting"
    )
    target_jurisdiction = models.ForeignKey(
        "agencies.Jurisdiction",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="Every EOC within this jurisdiction (and those under it).",
    )
    direction = models.CharField(max_length=20, choices=Direction.choices, default=Direction.TO_EOC)
    product_kinds = ArrayField(
        models.CharField(max_length=30), default=list, blank=True, help_text="Empty: every kind."
    )
    tags = ArrayField(models.CharField(max_length=60), default=list, blank=True, help_text="Empty: any tag.")
    information_needs = models.ManyToManyField("sharing.InformationNeed", blank=True, related_name="+")
    match_incident_jurisdictions = models.BooleanField(
        "only items about the incident's jurisdictions",
        default=False,
        help_text="A product flows only if one of its jurisdictions overlaps the incident's.",
    )
    minimum_priority = models.CharField(max_length=10, choices=Priority.choices, default=Priority.ROUTINE)
    mode = models.CharField(max_length=20, choices=Mode.choices, default=Mode.PROPOSED)
    when = models.CharField(max_length=20, choices=When.choices, default=When.ALWAYS)
    is_active = models.BooleanField(default=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(target_eoc__isnull=False) | Q(target_jurisdiction__isnull=False), name="rule_has_target"
            )
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def target_label(self) -> str:
        if self.target_eoc_id:
            return self.target_eoc.name
        return f"Every EOC in {self.target_jurisdiction}"

    def flows(self, direction: str) -> bool:
        return self.direction in (direction, self.Direction.BOTH)


class RelayQuerySet(models.QuerySet):
    def visible_to(self, person):
        """Relays of the person's fusion center; for the people of an EOC, what it sent and what reached
        it (a relay to it that was proposed or refused stays with the center: its label names an item
        the EOC was never given); everything for system admins. The relayed content itself is read
        through the delivered item, under its markings."""
        from agencies.visibility import person_may_see_anything

        if not person_may_see_anything(person):
            return self.none()
        if person.is_system_admin:
            return self.all()
        sent = Q(direction=Direction.TO_FUSION_CENTER, eoc_id=person.agency_id)
        received = Q(
            direction=Direction.TO_EOC,
            eoc_id=person.agency_id,
            state__in=[Relay.State.DELIVERED, Relay.State.ACKNOWLEDGED],
        )
        return self.filter(Q(fusion_center_id=person.agency_id) | sent | received)


class Relay(models.Model):
    """One item carried from one side to the other, under its markings, with the check that allowed it."""

    class State(models.TextChoices):
        PROPOSED = "proposed", "Proposed"
        APPROVED = "approved", "Approved"
        DELIVERED = "delivered", "Delivered"
        ACKNOWLEDGED = "acknowledged", "Acknowledged"
        REJECTED = "rejected", "Rejected"

    OPEN_STATES = (State.PROPOSED, State.APPROVED)

    direction = models.CharField(max_length=20, choices=Direction.choices)
    # The source: one version of a product, a feed entry, a situation report, a request for information.
    source_type = models.CharField(max_length=60)
    source_id = models.BigIntegerField()
    source_label = models.CharField(max_length=300, help_text="Number and title, as the source had them.")
    fusion_center = models.ForeignKey("agencies.Agency", on_delete=models.PROTECT, related_name="+")
    eoc = models.ForeignKey("agencies.Agency", on_delete=models.PROTECT, related_name="relays")
    incident = models.ForeignKey("eoc.Incident", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    rule = models.ForeignKey(RoutingRule, null=True, blank=True, on_delete=models.SET_NULL, related_name="relays")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    note = models.TextField(blank=True)
    # Markings of the source, kept on the relay and on what it delivers.
    tlp = models.CharField("TLP", max_length=20)
    caveats = ArrayField(models.CharField(max_length=10), default=list, blank=True)
    check_allowed = models.BooleanField(default=False)
    check_access = models.CharField(max_length=20, blank=True, help_text="full, tearline (LES), or empty if refused")
    check_reasons = ArrayField(models.TextField(), default=list, blank=True)
    state = models.CharField(max_length=20, choices=State.choices, default=State.PROPOSED, db_index=True)
    rejection_reason = models.TextField(blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    # What the relay made on the other side: a feed entry, or a situational-awareness item.
    delivered_type = models.CharField(max_length=60, blank=True)
    delivered_id = models.BigIntegerField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    objects = RelayQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            # At most one relay per source version and target (an event handled twice relays once).
            models.UniqueConstraint(
                fields=["source_type", "source_id", "direction", "eoc", "incident"],
                name="relay_once_per_source_and_target",
                nulls_distinct=False,
            ),
            models.CheckConstraint(
                condition=~Q(state="rejected") | ~Q(rejection_reason=""), name="rejected_relay_has_reason"
            ),
        ]
        indexes = [
            models.Index(fields=["fusion_center", "state", "-created_at"], name="relay_center_queue"),
            models.Index(fields=["eoc", "state", "-created_at"], name="relay_eoc_queue"),
            models.Index(fields=["source_type", "source_id"], name="relay_source"),
            models.Index(fields=["delivered_type", "delivered_id"], name="relay_delivered"),
        ]

    def __str__(self) -> str:
        return f"{self.get_direction_display()}: {self.source_label}"

    @property
    def tlp_label(self) -> str:
        from agencies.markings import TLP

        return TLP(self.tlp).label if self.tlp in TLP.values else self.tlp

    @property
    def target_label(self) -> str:
        if self.direction == Direction.TO_FUSION_CENTER:
            return self.fusion_center.name
        if self.incident_id:
            return f"{self.eoc.name} — {self.incident}"
        return f"{self.eoc.name} — EOC-wide feed"

    @property
    def is_open(self) -> bool:
        return self.state in self.OPEN_STATES


class AwarenessItemQuerySet(MarkedQuerySet):
    pass


class AwarenessItem(MarkedItem):
    """An item in the fusion center's situational-awareness queue, relayed from an EOC: a warning,
    flash or significant entry, a situation report, an imported CAP alert, or a request for
    information. An analyst can start a product from it. Keeps the markings of its source."""

    class Kind(models.TextChoices):
        WARNING = "warning", "Warning"
        SIGNIFICANT_EVENT = "significant_event", "Significant event"
        FLASH = "flash", "Flash entry"
        CAP_ALERT = "cap_alert", "CAP alert"
        SITUATION_REPORT = "situation_report", "Situation report"
        REQUEST = "request", "Request for information"

    class State(models.TextChoices):
        NEW = "new", "New"
        REVIEWED = "reviewed", "Reviewed"
        PRODUCT_STARTED = "product_started", "Product started"

    fusion_center = models.ForeignKey("agencies.Agency", on_delete=models.PROTECT, related_name="awareness_items")
    relay = models.OneToOneField(Relay, on_delete=models.PROTECT, related_name="awareness_item")
    kind = models.CharField(max_length=30, choices=Kind.choices)
    priority = models.CharField(max_length=10, choices=Priority.choices, default=Priority.ROUTINE)
    title = models.CharField(max_length=300)
    body = models.TextField(blank=True)
    eoc = models.ForeignKey("agencies.Agency", on_delete=models.PROTECT, related_name="+")
    incident = models.ForeignKey("eoc.Incident", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    source_url = models.CharField(max_length=300, blank=True)
    occurred_at = models.DateTimeField(default=timezone.now)
    received_at = models.DateTimeField(default=timezone.now, db_index=True)
    state = models.CharField(max_length=20, choices=State.choices, default=State.NEW)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    product = models.ForeignKey(
        "sharing.ThreatProduct", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects = AwarenessItemQuerySet.as_manager()

    class Meta:
        ordering = ["-received_at", "-pk"]
        indexes = [models.Index(fields=["fusion_center", "-received_at", "-id"], name="awareness_queue")]

    def __str__(self) -> str:
        return self.title


class LiaisonNotice(MarkedItem):
    """A notice to named people (an activation to its liaison officers, an acknowledgement to the
    analyst whose product was relayed), delivered through the dissemination app."""

    class Kind(models.TextChoices):
        ACTIVATION = "activation", "EOC activated"
        DEACTIVATION = "deactivation", "EOC deactivated"
        ACKNOWLEDGED = "acknowledged", "Relay acknowledged"
        PROPOSED = "proposed", "Relays proposed"

    kind = models.CharField(max_length=20, choices=Kind.choices)
    title = models.CharField(max_length=300)
    text = models.TextField(blank=True)
    url = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    # What the notice is about, so that one event never makes two notices.
    key = models.CharField(max_length=120, unique=True)

    objects = MarkedQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return self.title
