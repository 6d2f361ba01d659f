"""Who is who: jurisdictions, agencies, people and their roles, and sign-in lock-outs."""

from __future__ import annotations

from django.contrib.auth.models import AbstractUser, Group, UserManager
from django.core.validators import RegexValidator
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

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "agencies"

    def __str__(self) -> str:
        return f"{self.name} ({self.acronym})"

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
    "Jurisdiction",
    "Role",
    "User",
    "role_group",
]
