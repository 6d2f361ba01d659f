"""Who is who: jurisdictions, agencies, people and their roles, and sign-in lock-outs."""

from __future__ import annotations

import datetime

from django.conf import settings
from django.contrib.auth.models import AbstractUser, Group, UserManager
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator, RegexValidator
from django.db import models
from django.db.models.functions import Lower
from django.utils.functional import cached_property


class Jurisdiction(models.Model):
    """A place with its own government: state > county (or equivalent) > city, and others."""

    class Kind(models.TextChoices):
        STATE = "state", "State"
        COUNTY = "county", "County"
        CITY = "city", "City"
        TRIBAL = "tribal", "Tribal nation"
        TERRITORY = "territory", "Territory"
        REGION = "region", "Region"

    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    fips_code = models.CharField(
        "FIPS code",
        max_length=7,
        blank=True,
        validators=[RegexValidator(r"^\d{2}(\d{3}(\d{2})?)?$", "A FIPS code has 2 (state), 5 (county) or 7 digits.")],
        help_text="State: 2 digits; county: 5 digits (state + county); place: 7 digits.",
    )
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="children")
    # Materialised path of ancestor ids, "/1/5/12/", so "this jurisdiction or any under it" is one
    # indexed prefix match. Kept by save().
    path = models.CharField(max_length=255, editable=False, db_index=True, default="")

    class Meta:
        ordering = ["path"]
        constraints = [
            models.UniqueConstraint(
                fields=["fips_code"], condition=~models.Q(fips_code=""), name="jurisdiction_fips_code_unique"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs) -> None:
        super().save(*args, **kwargs)
        path = f"{self.parent.path if self.parent_id else '/'}{self.pk}/"
        if path != self.path:
            self.path = path
            Jurisdiction.objects.filter(pk=self.pk).update(path=path)

    @property
    def same_code(self) -> str:
        """The 6-digit SAME code CAP geocodes use for a county: 0 (whole county) + its FIPS code."""
        return f"0{self.fips_code}" if len(self.fips_code) == 5 else ""

    @property
    def ancestor_ids(self) -> list[int]:
        return [int(part) for part in self.path.strip("/").split("/") if part]


MIN_IDLE_TIMEOUT_MINUTES = 5


def site_idle_timeout_minutes() -> int:
    return int(settings.SESSION_IDLE_TIMEOUT.total_seconds() // 60)


def site_session_max_hours() -> int:
    return int(settings.SESSION_MAX_AGE.total_seconds() // 3600)


def sign_in_rule_errors(*, idle_timeout_minutes: int | None, session_max_hours: int | None) -> dict[str, str]:
    """What is wrong with an agency's sign-in rules, by field: an agency may only be stricter than the site."""
    errors = {}
    site_idle = site_idle_timeout_minutes()
    if idle_timeout_minutes is not None and idle_timeout_minutes > site_idle:
        errors["idle_timeout_minutes"] = (
            f"At most {site_idle} minutes, the site's own limit: an agency can make sign-in stricter, never "
            "looser. Leave it empty to use the site's limit."
        )
    site_hours = site_session_max_hours()
    if session_max_hours is not None and session_max_hours > site_hours:
        errors["session_max_hours"] = (
            f"At most {site_hours} hours, the site's own limit: an agency can make sign-in stricter, never "
            "looser. Leave it empty to use the site's limit."
        )
    return errors


class Agency(models.Model):
    class Level(models.TextChoices):
        FEDERAL = "federal", "Federal"
        STATE = "state", "State"
        LOCAL = "local", "Local"
        TRIBAL = "tribal", "Tribal"
        TERRITORIAL = "territorial", "Territorial"
        PRIVATE_SECTOR = "private_sector", "Private sector"

    class Kind(models.TextChoices):
        FUSION_CENTER = "fusion_center", "Fusion center"
        EOC = "eoc", "Emergency operations center"
        LAW_ENFORCEMENT = "law_enforcement", "Law enforcement"
        FIRE = "fire", "Fire"
        EMS = "ems", "Emergency medical services"
        EMERGENCY_MANAGEMENT = "emergency_management", "Emergency management"
        PUBLIC_HEALTH = "public_health", "Public health"
        PUBLIC_WORKS = "public_works", "Public works"
        CRITICAL_INFRASTRUCTURE = "critical_infrastructure", "Critical infrastructure"
        OTHER = "other", "Other"

    class Discipline(models.TextChoices):
        LAW_ENFORCEMENT = "law_enforcement", "Law enforcement"
        FIRE = "fire", "Fire"
        EMS = "ems", "Emergency medical services"
        EMERGENCY_MANAGEMENT = "emergency_management", "Emergency management"
        PUBLIC_HEALTH = "public_health", "Public health"
        PUBLIC_WORKS = "public_works", "Public works"
        TRANSPORTATION = "transportation", "Transportation"
        EDUCATION = "education", "Education"
        CRITICAL_INFRASTRUCTURE = "critical_infrastructure", "Critical infrastructure"
        HOMELAND_SECURITY = "homeland_security", "Homeland security"
        CORRECTIONS = "corrections", "Corrections"
        OTHER = "other", "Other"

    name = models.CharField(max_length=200, unique=True)
    acronym = models.CharField(
        max_length=20,
        unique=True,
        validators=[RegexValidator(r"^[A-Z0-9][A-Z0-9-]*$", "Use capital letters, digits and hyphens.")],
        help_text="Short name, used in product numbers (e.g. NCFC).",
    )
    level = models.CharField(max_length=20, choices=Level.choices)
    kind = models.CharField(max_length=30, choices=Kind.choices)
    discipline = models.CharField(max_length=30, choices=Discipline.choices)
    jurisdiction = models.ForeignKey(Jurisdiction, on_delete=models.PROTECT, related_name="agencies")
    email = models.EmailField(blank=True, help_text="The agency's duty or watch-desk address.")
    phone = models.CharField(max_length=40, blank=True)
    is_active = models.BooleanField(
        "active", default=True, help_text="An inactive agency's people cannot sign in; their records stay."
    )
    # Sign-in rules the agency may make stricter than the site's (CJIS AC-11, IA-11, IA-2), never looser:
    # empty means the site's own limit, and the limits are read through `idle_timeout` and
    # `session_max_age`, which never exceed the site's whatever is stored.
    idle_timeout_minutes = models.PositiveSmallIntegerField(
        "idle sign-out (minutes)",
        null=True,
        blank=True,
        validators=[MinValueValidator(MIN_IDLE_TIMEOUT_MINUTES, "Allow at least 5 minutes without activity.")],
        help_text="Sign the agency's people out after this many minutes without activity, sooner than the "
        "site's limit (30 minutes). Empty: the site's limit.",
    )
    session_max_hours = models.PositiveSmallIntegerField(
        "new sign-in every (hours)",
        null=True,
        blank=True,
        validators=[MinValueValidator(1, "Allow at least 1 hour between sign-ins.")],
        help_text="Ask the agency's people to sign in again (password and code) after this many hours, sooner "
        "than the site's limit (12 hours). Empty: the site's limit.",
    )
    accepts_recovery_codes = models.BooleanField(
        "recovery codes accepted at sign-in",
        default=True,
        help_text="Off: only the authenticator app's code signs in (and creates API tokens); a person who "
        "lost their phone asks an admin to reset their second factor.",
    )

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "agencies"
        constraints = [
            models.CheckConstraint(
                condition=models.Q(idle_timeout_minutes__isnull=True)
                | models.Q(idle_timeout_minutes__gte=MIN_IDLE_TIMEOUT_MINUTES),
                name="agency_idle_timeout_at_least_5_minutes",
            ),
            models.CheckConstraint(
                condition=models.Q(session_max_hours__isnull=True) | models.Q(session_max_hours__gte=1),
                name="agency_session_max_hours_at_least_1",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.acronym})"

    def clean(self) -> None:
        super().clean()
        errors = sign_in_rule_errors(
            idle_timeout_minutes=self.idle_timeout_minutes, session_max_hours=self.session_max_hours
        )
        if errors:
            raise ValidationError(errors)

    @property
    def idle_timeout(self) -> datetime.timedelta:
        """How long the agency's people may stay idle before they are signed out: the site's limit or
        the agency's shorter one."""
        site = settings.SESSION_IDLE_TIMEOUT
        if self.idle_timeout_minutes is None:
            return site
        return min(site, datetime.timedelta(minutes=self.idle_timeout_minutes))

    @property
    def session_max_age(self) -> datetime.timedelta:
        """How long a sign-in of the agency's people lasts at most: the site's limit or the agency's shorter one."""
        site = settings.SESSION_MAX_AGE
        if self.session_max_hours is None:
            return site
        return min(site, datetime.timedelta(hours=self.session_max_hours))

    @property
    def is_fusion_center(self) -> bool:
        return self.kind == self.Kind.FUSION_CENTER

    @property
    def is_eoc(self) -> bool:
        return self.kind == self.Kind.EOC


class Role(models.TextChoices):
    """The roles a person can hold; each is a Django group of the same label with its permissions."""

    ANALYST = "analyst", "Analyst"
    SUPERVISOR = "supervisor", "Supervisor"
    EOC_COORDINATOR = "eoc_coordinator", "EOC coordinator"
    LIAISON_OFFICER = "liaison_officer", "Liaison officer"
    AGENCY_ADMIN = "agency_admin", "Agency admin"
    PARTNER = "partner", "Partner"
    SYSTEM_ADMIN = "system_admin", "System admin"

    @classmethod
    def from_group_name(cls, name: str) -> Role | None:
        return next((role for role in cls if role.label == name), None)


class CaseInsensitiveUserManager(UserManager):
    def get_by_natural_key(self, username: str) -> User:
        return self.get(username__iexact=username)


class User(AbstractUser):
    """A person, always in one agency."""

    agency = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="people")
    title = models.CharField("position", max_length=120, blank=True)
    phone = models.CharField(max_length=40, blank=True)
    is_law_enforcement = models.BooleanField(
        "law-enforcement status",
        default=False,
        help_text="Verified by the agency admin; decides who may read law enforcement sensitive (LES) items.",
    )

    objects = CaseInsensitiveUserManager()
    REQUIRED_FIELDS = ["email", "agency"]

    class Meta:
        ordering = ["last_name", "first_name", "username"]
        constraints = [
            models.UniqueConstraint(Lower("username"), name="user_username_ci_unique"),
        ]

    def __str__(self) -> str:
        return self.get_full_name() or self.username

    def save(self, *args, **kwargs) -> None:
        # Usernames are case-insensitive everywhere; store them in one case.
        self.username = self.username.lower()
        super().save(*args, **kwargs)

    @cached_property
    def roles(self) -> frozenset[Role]:
        """The person's roles, from their groups (prefetched on each request by the sign-in backend)."""
        roles = {Role.from_group_name(group.name) for group in self.groups.all()}
        if self.is_superuser:
            roles.add(Role.SYSTEM_ADMIN)
        return frozenset(role for role in roles if role is not None)

    def has_role(self, *roles: Role) -> bool:
        return any(role in self.roles for role in roles)

    @property
    def is_system_admin(self) -> bool:
        return self.is_superuser or Role.SYSTEM_ADMIN in self.roles

    @property
    def is_agency_admin(self) -> bool:
        return Role.AGENCY_ADMIN in self.roles

    @property
    def role_labels(self) -> list[str]:
        return [role.label for role in Role if role in self.roles]


class AccountLockout(models.Model):
    """Consecutive failed sign-ins for one username (whether or not such a person exists).

    Keyed on the lower-cased username so "Analyst" and "analyst" share one count, and so a
    missing account answers exactly as a real one does.
    """

    username = models.CharField(max_length=150, unique=True)
    failure_count = models.PositiveIntegerField(default=0)
    first_failure_at = models.DateTimeField()
    last_failure_at = models.DateTimeField()
    last_failure_address = models.GenericIPAddressField(null=True, blank=True)
    locked_at = models.DateTimeField(null=True, blank=True, db_index=True)

    class Meta:
        ordering = ["-last_failure_at"]

    def __str__(self) -> str:
        return self.username

    @property
    def is_locked(self) -> bool:
        return self.locked_at is not None


class EnrolmentInvitation(models.Model):
    """An admin's leave for a person to set up their second factor: a one-time enrolment code, stored
    only hashed, that the first-sign-in enrolment page asks for, so that a password alone never enrols
    an authenticator. It works once, until it expires; a new one replaces any still open."""

    person = models.ForeignKey(User, on_delete=models.CASCADE, related_name="enrolment_invitations")
    code_hash = models.CharField(max_length=64, unique=True)
    issued_by = models.ForeignKey(User, null=True, on_delete=models.PROTECT, related_name="+")
    issued_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-issued_at"]
        indexes = [models.Index(fields=["person", "-issued_at"], name="enrolment_invitation_person")]

    def __str__(self) -> str:
        return f"Enrolment code for {self.person_id}"


def role_group(role: Role) -> Group:
    return Group.objects.get(name=role.label)


from .audit_models import ArchivedAuditEntry, AuditAction, AuditEntry, AuditOutcome  # noqa: E402

__all__ = [
    "AccountLockout",
    "Agency",
    "ArchivedAuditEntry",
    "AuditAction",
    "AuditEntry",
    "AuditOutcome",
    "EnrolmentInvitation",
    "Jurisdiction",
    "Role",
    "User",
    "role_group",
]
