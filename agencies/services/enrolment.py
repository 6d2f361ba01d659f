"""Enrolment invitations: the one-time enrolment code an admin issues so that a person can set up their
authenticator app. Without one the enrolment page opens nothing, so whoever learns a person's password
before they enrol cannot enrol a phone of their own."""

from __future__ import annotations

import hashlib
import secrets

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import EmailMessage
from django.db import models, transaction
from django.template.loader import render_to_string
from django.utils import timezone

from ..audit import record_audit
from ..audit_models import AuditAction
from ..models import EnrolmentInvitation, Role, User
from .people import check_may_manage
from .sign_in import checked_attempt, has_second_factor, refuse_if_locked_out

# No 0/O or 1/I: the code may be read out over the phone.
CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 12  # 60 bits; and five wrong codes lock the account

WRONG_ENROLMENT_CODE_MESSAGE = (
    "That enrolment code is not right, or it has expired or been replaced. Check it with the admin who gave it "
    "to you; after 5 failed attempts the account is locked."
)
MISSING_ENROLMENT_CODE_MESSAGE = "Enter the enrolment code your admin gave you."


def normalize_enrolment_code(code: str) -> str:
    """A code as typed: spaces and hyphens do not count, nor letter case."""
    return "".join(character for character in (code or "") if character not in " -\t").upper()


def _hash(code: str) -> str:
    # A random 60-bit code, not a password: one SHA-256 is enough to keep it unreadable at rest.
    return hashlib.sha256(normalize_enrolment_code(code).encode()).hexdigest()


def _new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def _shown(code: str) -> str:
    return "-".join(code[start : start + 4] for start in range(0, len(code), 4))


def issue_enrolment_invitation(
    *, person: User, by: User | None, request=None, delivered: str = "shown to the admin"
) -> tuple[EnrolmentInvitation, str]:
    """A new enrolment code for a person who has no second factor, and the code itself (returned once,
    stored only hashed). It replaces any code of theirs still open, works once, and expires after
    ENROLMENT_CODE_VALID_HOURS. Issued by an admin of the person's agency or a system admin (never
    for themselves), or with `by=None` by the operator's `manage.py enrolment_code`. Audited."""
    if by is not None:
        check_may_manage(admin=by, person=person)
        if by.pk == person.pk:
            raise PermissionDenied("You cannot issue an enrolment code to yourself: ask another admin.")
    if not person.is_active or not person.agency.is_active:
        raise ValidationError(f"{person.username} cannot sign in (the person or their agency is inactive).")
    if has_second_factor(person=person):
        raise ValidationError(
            f"{person.username} already has a second factor. Reset it first if they need to set up a new one."
        )
    code = _new_code()
    now = timezone.now()
    with transaction.atomic():
        EnrolmentInvitation.objects.filter(person=person, used_at__isnull=True).delete()
        invitation = EnrolmentInvitation.objects.create(
            person=person,
            code_hash=_hash(code),
            issued_by=by,
            issued_at=now,
            expires_at=now + settings.ENROLMENT_CODE_TTL,
        )
        detail = {"delivered": delivered, "expires_at": invitation.expires_at.isoformat()}
        if by is None:
            detail["via"] = "enrolment_code command"
        record_audit(
            action=AuditAction.ENROLMENT_CODE_ISSUED,
            person=by,
            agency=person.agency_id,
            item=person,
            request=request,
            detail=detail,
        )
    return invitation, _shown(code)


def email_enrolment_invitation(*, person: User, by: User, request=None) -> EnrolmentInvitation:
    """Issue a person an enrolment code and email it to them (the admin never sees it)."""
    if not person.email:
        raise ValidationError(f"{person.username} has no email address: issue a code to give them yourself.")
    with transaction.atomic():
        invitation, code = issue_enrolment_invitation(
            person=person, by=by, request=request, delivered=f"emailed to {person.email}"
        )
        # Sent before the commit on purpose: if the mail server refuses the message, neither the code
        # nor an audit entry saying it was issued remains.
        enrolment_email(person=person, code=code, invitation=invitation).send()
    return invitation


def enrolment_email(*, person: User, code: str, invitation: EnrolmentInvitation) -> EmailMessage:
    region = settings.FUSIONHUB_REGION_NAME
    context = {
        "person": person,
        "code": code,
        "expires_at": timezone.localtime(invitation.expires_at),
        "issued_by": invitation.issued_by,
        "region": region,
        "sign_in_url": f"{settings.SITE_URL.rstrip('/')}/sign-in/",
    }
    return EmailMessage(
        subject=f"{region}: your enrolment code for signing in",
        body=render_to_string("agencies/email/enrolment_code.txt", context),
        to=[person.email],
        headers={"Auto-Submitted": "auto-generated"},
    )


def accept_enrolment_code(*, person: User, code: str, address: str | None, request=None) -> EnrolmentInvitation:
    """The person's open invitation that this code opens. A wrong code is a failed sign-in that counts
    towards the lock-out, as a wrong password does; a right one does not end the run of failures (the
    sign-in is complete only once the new authenticator's code is confirmed). Raises ValidationError
    with code "wrong_enrolment_code", "locked", "throttled" or "required"."""
    refuse_if_locked_out(person=person, address=address, request=request, step="enrolment code")
    if not normalize_enrolment_code(code):
        raise ValidationError(MISSING_ENROLMENT_CODE_MESSAGE, code="required")

    def check() -> EnrolmentInvitation | None:
        return open_invitations(person=person).filter(code_hash=_hash(code)).first()

    return checked_attempt(
        person=person,
        address=address,
        check=check,
        refusal=(WRONG_ENROLMENT_CODE_MESSAGE, "wrong_enrolment_code"),
        request=request,
        step="enrolment code",
        completes_sign_in=False,
    )


def open_invitations(*, person: User) -> models.QuerySet[EnrolmentInvitation]:
    """The person's invitations that still work: unused and unexpired."""
    return EnrolmentInvitation.objects.filter(person=person, used_at__isnull=True, expires_at__gt=timezone.now())


def admins_to_ask(*, person: User) -> list[User]:
    """The active agency admins of the person's agency (not the person), whom the enrolment page names."""
    return list(
        User.objects.filter(agency_id=person.agency_id, is_active=True, groups__name=Role.AGENCY_ADMIN.label)
        .exclude(pk=person.pk)
        .order_by("last_name", "first_name", "username")
        .distinct()[:5]
    )
