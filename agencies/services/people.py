"""Admins' writes about agencies and people: resets of a second factor, unlocking, activation, sign-in
rules, roles, adding and changing people."""

from __future__ import annotations

import logging

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models, transaction
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice
from knox.models import AuthToken

from ..audit import record_audit
from ..audit_models import AuditAction
from ..models import AccountLockout, Agency, Role, User, role_group
from .sign_in import normalize_username

logger = logging.getLogger(__name__)


def reset_second_factor(*, person: User, by: User) -> None:
    """Remove the person's authenticator and recovery codes (a lost phone, say): they enrol a new one
    with an enrolment code an admin issues them, and a session of theirs open now must pass that step
    again."""
    check_may_manage(admin=by, person=person)
    with transaction.atomic():
        TOTPDevice.objects.filter(user=person).delete()
        StaticDevice.objects.filter(user=person).delete()
        record_audit(action=AuditAction.SECOND_FACTOR_RESET, person=by, item=person)
        logger.warning("Second factor of %s reset by %s", person.username, by.username)


def check_may_manage(*, admin: User, person: User) -> None:
    if admin.is_system_admin:
        return
    if admin.is_agency_admin and admin.agency_id == person.agency_id:
        return
    raise PermissionDenied("Only an admin of this person's agency can do that.")


def unlock_account(*, person: User, by: User) -> None:
    """Release a locked account and clear its failures."""
    check_may_manage(admin=by, person=person)
    with transaction.atomic():
        AccountLockout.objects.filter(username=normalize_username(person.username)).delete()
        record_audit(action=AuditAction.ACCOUNT_UNLOCKED, person=by, item=person)


def locked_people_for(*, admin: User) -> models.QuerySet[User]:
    """The locked accounts an admin may release, by username, each annotated with its `locked_at`."""
    locks = AccountLockout.objects.filter(locked_at__isnull=False)
    people = User.objects.select_related("agency").filter(username__in=locks.values("username"))
    if not admin.is_system_admin:
        people = people.filter(agency_id=admin.agency_id)
    locked_at = locks.filter(username=models.OuterRef("username")).order_by("-locked_at").values("locked_at")[:1]
    return people.annotate(locked_at=models.Subquery(locked_at)).order_by("username", "pk")


def set_agency_active(*, agency: Agency, is_active: bool, by: User) -> Agency:
    """Activate or deactivate an agency. Deactivation signs its people out and blocks sign-in;
    their records stay."""
    if not by.is_system_admin:
        raise PermissionDenied("Only a system admin can activate or deactivate an agency.")
    with transaction.atomic():
        Agency.objects.filter(pk=agency.pk).update(is_active=is_active)
        agency.is_active = is_active
        if not is_active:
            # Browser sessions end on their next request (SessionLimitsMiddleware checks the
            # agency); API tokens are revoked here.
            AuthToken.objects.filter(user__agency=agency).delete()
        action = AuditAction.AGENCY_ACTIVATED if is_active else AuditAction.AGENCY_DEACTIVATED
        record_audit(action=action, person=by, item=agency)
    return agency


SIGN_IN_RULE_FIELDS = ("idle_timeout_minutes", "session_max_hours", "accepts_recovery_codes")


def set_agency_sign_in_rules(
    *,
    agency: Agency,
    by: User,
    idle_timeout_minutes: int | None,
    session_max_hours: int | None,
    accepts_recovery_codes: bool,
) -> Agency:
    """Set the sign-in rules by which an agency is stricter than the site (a shorter idle sign-out, a
    new sign-in sooner, the authenticator's code only). Only its agency admin or a system admin sets
    them; a rule looser than the site's is refused field by field. A change is audited with before
    and after."""
    if not (by.is_system_admin or (by.is_agency_admin and by.agency_id == agency.pk)):
        raise PermissionDenied("Only an admin of this agency can change its sign-in rules.")
    rules = {
        "idle_timeout_minutes": idle_timeout_minutes,
        "session_max_hours": session_max_hours,
        "accepts_recovery_codes": accepts_recovery_codes,
    }
    with transaction.atomic():
        current = Agency.objects.select_for_update().get(pk=agency.pk)
        before = {name: getattr(current, name) for name in SIGN_IN_RULE_FIELDS}
        for name, value in rules.items():
            setattr(current, name, value)
            setattr(agency, name, value)
        # The fields' own validators and Agency.clean(): never looser than the site.
        current.full_clean(exclude=[f.name for f in Agency._meta.fields if f.name not in SIGN_IN_RULE_FIELDS])
        if before != rules:
            current.save(update_fields=list(SIGN_IN_RULE_FIELDS))
            changed = [name for name in SIGN_IN_RULE_FIELDS if before[name] != rules[name]]
            record_audit(
                action=AuditAction.AGENCY_SIGN_IN_RULES_CHANGED,
                person=by,
                item=agency,
                detail={
                    "fields": changed,
                    "from": {name: before[name] for name in changed},
                    "to": {name: rules[name] for name in changed},
                },
            )
    return agency


def set_roles(*, person: User, roles: set[Role], by: User) -> User:
    """Give a person exactly these roles. Only a system admin grants system-admin rights."""
    check_may_manage(admin=by, person=person)
    current = set(person.roles)
    if (Role.SYSTEM_ADMIN in roles) != (Role.SYSTEM_ADMIN in current) and not by.is_system_admin:
        raise ValidationError({"roles": "Only a system admin can grant or remove system-admin rights."})
    with transaction.atomic():
        person.groups.set([role_group(role) for role in roles])
        is_staff = bool(roles & {Role.AGENCY_ADMIN, Role.SYSTEM_ADMIN})
        is_superuser = Role.SYSTEM_ADMIN in roles
        User.objects.filter(pk=person.pk).update(is_staff=is_staff, is_superuser=is_superuser)
        person.is_staff, person.is_superuser = is_staff, is_superuser
        person.__dict__.pop("roles", None)
        if roles != current:
            record_audit(
                action=AuditAction.ROLES_CHANGED,
                person=by,
                item=person,
                detail={"from": _role_labels(current), "to": _role_labels(roles)},
            )
    return person


def _role_labels(roles: set[Role]) -> list[str]:
    return [role.label for role in Role if role in roles]


PERSON_FIELDS = {"username", "first_name", "last_name", "email", "title", "phone", "is_law_enforcement", "is_active"}


def create_person(
    *, by: User, username: str, roles: set[Role], agency: Agency | None = None, password: str | None = None, **fields
) -> User:
    """Add a person to an agency. An agency admin adds people to their own agency only."""
    agency = agency or by.agency
    if not by.is_system_admin and not (by.is_agency_admin and agency.pk == by.agency_id):
        raise PermissionDenied("Only an admin of this agency can add people to it.")
    unknown = set(fields) - PERSON_FIELDS
    if unknown:
        raise ValidationError({field: "This field cannot be set here." for field in unknown})
    if User.objects.filter(username__iexact=username).exists():
        raise ValidationError({"username": "Someone already has this username."})
    with transaction.atomic():
        person = User(username=username, agency=agency, **fields)
        if password:
            person.set_password(password)
        else:
            person.set_unusable_password()
        person.save()
        record_audit(
            action=AuditAction.PERSON_ADDED,
            person=by,
            item=person,
            detail={"agency": agency.acronym, "fields": sorted(fields)},
        )
        set_roles(person=person, roles=roles, by=by)
    return person


def update_person(
    *, person: User, by: User, roles: set[Role] | None = None, password: str | None = None, **fields
) -> User:
    """Change a person's details, status or roles, within the admin's rights."""
    check_may_manage(admin=by, person=person)
    unknown = set(fields) - PERSON_FIELDS
    if unknown:
        raise ValidationError({field: "This field cannot be changed here." for field in unknown})
    if "username" in fields and User.objects.filter(username__iexact=fields["username"]).exclude(pk=person.pk).exists():
        raise ValidationError({"username": "Someone already has this username."})
    if person.pk == by.pk and fields.get("is_active") is False:
        raise ValidationError({"is_active": "You cannot deactivate your own account."})
    with transaction.atomic():
        changed = sorted(name for name, value in fields.items() if getattr(person, name) != value)
        for name, value in fields.items():
            setattr(person, name, value)
        if password:
            person.set_password(password)
        person.save()
        if changed or password:
            detail: dict = {"fields": changed}
            # Status changes are recorded with their new value; other values are the person's own.
            detail.update({name: fields[name] for name in ("is_active", "is_law_enforcement") if name in changed})
            if password:
                detail["password_changed"] = True
            record_audit(action=AuditAction.PERSON_CHANGED, person=by, item=person, detail=detail)
        if roles is not None:
            set_roles(person=person, roles=roles, by=by)
        if fields.get("is_active") is False:
            AuthToken.objects.filter(user=person).delete()
    return person
