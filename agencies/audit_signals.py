"""Passwords accepted, failed sign-ins and sign-outs into the audit trail, from Django's own auth
signals, so every way in (the sign-in page, the admin's, the API token endpoint) is recorded the same.
The sign-in itself needs the second factor too: it is recorded where the code is accepted."""

from __future__ import annotations

from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver

from . import services
from .audit import record_audit
from .audit_models import AuditAction, AuditOutcome
from .backends import client_address
from .models import User


@receiver(user_logged_in, dispatch_uid="audit-sign-in")
def audit_password_accepted(sender, request, user, **kwargs):
    # Django's login() is the password step only: the sign-in is recorded once the second factor is
    # verified (agencies.views.verify_second_factor and enrol_second_factor, the API token endpoint).
    record_audit(action=AuditAction.PASSWORD_ACCEPTED, person=user, request=request, detail={"step": "password"})


@receiver(user_logged_out, dispatch_uid="audit-sign-out")
def audit_sign_out(sender, request, user, **kwargs):
    if user is not None:
        record_audit(action=AuditAction.SIGN_OUT, person=user, request=request)


@receiver(user_login_failed, dispatch_uid="audit-sign-in-failed")
def audit_sign_in_failed(sender, credentials, request=None, **kwargs):
    username = services.normalize_username(str(credentials.get("username") or ""))[:150]
    # The person the name belongs to, if any, so that their agency's admin sees the attempt.
    person = User.objects.filter(username=username).only("pk", "username", "agency_id").first() if username else None
    detail = {"username": username}
    if username and services.is_account_locked(username=username):
        detail["reason"] = "account locked"
    elif request is not None and services.is_address_throttled(address=client_address(request)):
        detail["reason"] = "too many failures from this address"
    record_audit(
        action=AuditAction.SIGN_IN_FAILED, person=person, outcome=AuditOutcome.FAILURE, request=request, detail=detail
    )
