"""Signing in: lock-outs (per account and per address), attempts taken one at a time, the second
factor (its codes, recovery codes, enrolment), and API tokens."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.utils import timezone
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice
from knox.models import AuthToken
from redis.exceptions import RedisError

from ..audit import record_audit
from ..audit_models import AuditAction, AuditOutcome
from ..models import AccountLockout, EnrolmentInvitation, User

logger = logging.getLogger(__name__)
T = TypeVar("T")

LOCKED_MESSAGE = "This account is locked after too many failed sign-in attempts. Ask your agency admin to unlock it."
ADDRESS_THROTTLED_MESSAGE = "Too many failed sign-in attempts from this network address. Wait 15 minutes and try again."
WRONG_CODE_MESSAGE = (
    "That code is not right. Enter the 6-digit code your authenticator app shows now, or one of your "
    "recovery codes; after 5 failed attempts the account is locked."
)
RECOVERY_CODE_REFUSED_MESSAGE = (
    "Your agency accepts only the 6-digit code of your authenticator app: recovery codes do not sign in. "
    "If you lost your phone, ask your agency admin to reset your second factor."
)
MISSING_CODE_MESSAGE = "Enter the 6-digit code from your authenticator app, or one of your recovery codes."
API_NEEDS_SECOND_FACTOR_MESSAGE = (
    "API tokens are created only after a multi-factor sign-in: send the 6-digit code your authenticator "
    'app shows now (or a recovery code) as "code" with your username and password.'
)
INVITATION_SPENT_MESSAGE = (
    "Your enrolment code has been used or has expired. Ask your agency admin for a new one, then sign in again."
)
NOT_ENROLLED_MESSAGE = (
    "You have no second factor yet. Ask your agency admin for an enrolment code, sign in to FusionHub in a "
    "browser once to set up your authenticator app with it, then create API tokens."
)


def normalize_username(username: str) -> str:
    return (username or "").strip().lower()


def is_account_locked(*, username: str) -> bool:
    return AccountLockout.objects.filter(username=normalize_username(username), locked_at__isnull=False).exists()


def _address_key(address: str) -> str:
    return f"sign-in-failures:{address}"


def is_address_throttled(*, address: str | None) -> bool:
    """Whether an address has failed too often lately. The count lives in Redis; if Redis is out,
    the per-account lock-out (in PostgreSQL) still holds, so sign-in carries on without it."""
    if not address:
        return False
    try:
        return (cache.get(_address_key(address)) or 0) >= settings.SIGN_IN_ADDRESS_FAILURE_LIMIT
    except RedisError:
        logger.warning("Sign-in address throttle unavailable: Redis did not answer", exc_info=True)
        return False


def claim_address_attempt(*, address: str | None) -> bool:
    """Count an attempt from the address before its secret is tested; False when the address has
    reached its limit and must wait. Counting first, in one atomic INCR, keeps parallel attempts from
    all passing a check made before any of them was counted; an attempt that turns out right gives its
    count back (`release_address_attempt`), so the count is of failures."""
    if not address:
        return True
    key = _address_key(address)
    timeout = int(settings.SIGN_IN_ADDRESS_WINDOW.total_seconds())
    try:
        cache.add(key, 0, timeout=timeout)
        try:
            count = cache.incr(key)
        except ValueError:
            # The key expired (or was evicted) between add and incr: this attempt starts a new window.
            cache.set(key, 1, timeout=timeout)
            count = 1
    except RedisError:
        logger.warning("Sign-in address throttle unavailable: Redis did not answer", exc_info=True)
        return True
    return count <= settings.SIGN_IN_ADDRESS_FAILURE_LIMIT


def release_address_attempt(*, address: str | None) -> None:
    """An attempt counted by `claim_address_attempt` was right: it is no failure of the address."""
    if not address:
        return
    try:
        cache.decr(_address_key(address))
    except ValueError:
        pass  # the window ended meanwhile: nothing left to give back
    except RedisError:
        logger.warning("Sign-in address throttle unavailable: Redis did not answer", exc_info=True)


# The key space of the PostgreSQL advisory locks that hold one account's sign-in attempts in line.
ATTEMPT_LOCK_SPACE = 4_817


@contextmanager
def one_attempt_at_a_time(*, username: str) -> Iterator[None]:
    """A transaction holding the account's attempt lock: the sign-in attempts on one account (password,
    code, enrolment code; page, API or command, in any process) run one after another inside it.

    Checking the lock-out, testing the secret and counting a failure are three steps; without the
    lock, fifty parallel guesses would all pass the check before the first failure was counted, and
    all fifty would be tested. In line, the sixth finds the account locked and is never tested.
    """
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_advisory_xact_lock(%s, hashtext(%s))", [ATTEMPT_LOCK_SPACE, normalize_username(username)]
        )
        yield


def record_sign_in_failure(*, username: str, address: str | None) -> bool:
    """Count one failed sign-in for the username (noting the address); returns whether it is now locked.

    One statement does the count so that parallel wrong attempts cannot slip past the limit:
    the row is inserted or updated under PostgreSQL's row lock, a window older than the limit
    starts again at one, and the fifth failure in the window sets the lock. (The address's own
    count is kept by `claim_address_attempt`.)
    """
    name = normalize_username(username)
    now = timezone.now()
    window_start = now - settings.SIGN_IN_FAILURE_WINDOW
    if not name:
        return False
    table = AccountLockout._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO {table} AS l (username, failure_count, first_failure_at, last_failure_at,
                                      last_failure_address, locked_at)
            VALUES (%(name)s, 1, %(now)s, %(now)s, %(address)s, CASE WHEN %(limit)s <= 1 THEN %(now)s END)
            ON CONFLICT (username) DO UPDATE SET
                failure_count = CASE
                    WHEN l.locked_at IS NULL AND l.first_failure_at < %(window_start)s THEN 1
                    ELSE l.failure_count + 1 END,
                first_failure_at = CASE
                    WHEN l.locked_at IS NULL AND l.first_failure_at < %(window_start)s THEN %(now)s
                    ELSE l.first_failure_at END,
                last_failure_at = %(now)s,
                last_failure_address = %(address)s,
                locked_at = CASE
                    WHEN l.locked_at IS NOT NULL THEN l.locked_at
                    WHEN l.first_failure_at >= %(window_start)s AND l.failure_count + 1 >= %(limit)s
                        THEN %(now)s
                    END
            RETURNING locked_at IS NOT NULL
            """,  # nosec B608 # noqa: S608 - the table name is ours, every value is a parameter
            {
                "name": name,
                "now": now,
                "address": address,
                "limit": settings.SIGN_IN_FAILURE_LIMIT,
                "window_start": window_start,
            },
        )
        (locked,) = cursor.fetchone()
    return bool(locked)


def record_sign_in_success(*, username: str) -> None:
    """A complete sign-in (password and second factor) ends the run of consecutive failures (a locked
    account never gets here). A right password alone does not: a wrong code after it still counts."""
    AccountLockout.objects.filter(username=normalize_username(username), locked_at__isnull=True).delete()


def has_second_factor(*, person: User) -> bool:
    """Whether the person has enrolled an authenticator app."""
    return TOTPDevice.objects.filter(user=person, confirmed=True).exists()


def normalize_code(code: str) -> str:
    """A code as typed: spaces and hyphens (as recovery codes are printed) do not count, nor letter case."""
    return "".join(character for character in (code or "") if character not in " -\t").lower()


def start_enrolment(*, person: User) -> TOTPDevice:
    """The authenticator the person is enrolling: the one begun earlier (so the QR code stays the same
    across reloads) or a new one with a fresh secret. Refused once a second factor is enrolled: only an
    admin's reset makes room for a new one."""
    if has_second_factor(person=person):
        raise PermissionDenied("You already have a second factor. Ask your agency admin to reset it.")
    device = TOTPDevice.objects.filter(user=person, confirmed=False).order_by("pk").first()
    if device is None:
        device = TOTPDevice.objects.create(user=person, name="Authenticator app", confirmed=False)
    return device


def refused_attempt(*, person: User, request, step: str, via: str, message: str, reason: str) -> ValidationError:
    """A refused step of sign-in: recorded as a failed sign-in (with the request's address, and `via` in
    its detail), and the error to raise."""
    detail = {"username": person.username, "step": step, "reason": reason}
    if via:
        detail["via"] = via
    record_audit(
        action=AuditAction.SIGN_IN_FAILED, person=person, outcome=AuditOutcome.FAILURE, request=request, detail=detail
    )
    return ValidationError(message, code=reason)


def refuse_if_locked_out(*, person: User, address: str | None, request, step: str, via: str = "") -> None:
    """Refuse at once (and record it) an attempt from a throttled address or on a locked account."""
    if is_address_throttled(address=address):
        raise refused_attempt(
            person=person, request=request, step=step, via=via, message=ADDRESS_THROTTLED_MESSAGE, reason="throttled"
        )
    if is_account_locked(username=person.username):
        raise refused_attempt(
            person=person, request=request, step=step, via=via, message=LOCKED_MESSAGE, reason="locked"
        )


def checked_attempt(
    *,
    person: User,
    address: str | None,
    check: Callable[[], T | None],
    refusal: tuple[str, str],
    request=None,
    step: str,
    via: str = "",
    completes_sign_in: bool,
) -> T:
    """Test one secret of the person's sign-in with `check` (which returns what accepted it, or None)
    and return what accepted it.

    The attempt is counted against the address first, then runs in line with the account's other
    attempts (`one_attempt_at_a_time`): a locked account is refused without testing the secret, and a
    wrong one counts towards the lock-out. A refusal raises ValidationError (with `refusal`'s message
    and code, or code "locked" or "throttled") and is recorded as a failed sign-in. A right secret
    that `completes_sign_in` ends the run of failures.
    """
    if not claim_address_attempt(address=address):
        raise refused_attempt(
            person=person, request=request, step=step, via=via, message=ADDRESS_THROTTLED_MESSAGE, reason="throttled"
        )
    failure = None
    with one_attempt_at_a_time(username=person.username):
        if is_account_locked(username=person.username):
            failure = (LOCKED_MESSAGE, "locked")
        else:
            accepted = check()
            if accepted is None:
                locked = record_sign_in_failure(username=person.username, address=address)
                failure = (LOCKED_MESSAGE, "locked") if locked else refusal
            elif completes_sign_in:
                record_sign_in_success(username=person.username)
    # Recorded once the count is committed: the refusal's audit entry stays whatever the caller does.
    if failure is not None:
        message, reason = failure
        raise refused_attempt(person=person, request=request, step=step, via=via, message=message, reason=reason)
    release_address_attempt(address=address)
    return accepted


def verify_second_factor(
    *,
    person: User,
    code: str,
    address: str | None,
    enrolling: TOTPDevice | None = None,
    request=None,
    via: str = "",
):
    """Check the code of the person's second step of sign-in and return the device that accepted it.

    The code is checked against the authenticator being enrolled, or else the person's authenticator
    (6 digits) or their recovery codes (each accepted once, unless their agency accepts the app's code
    only). A wrong code counts towards the same lock-out as a wrong password; a right one ends the run
    of failures. Raises ValidationError with code "locked", "throttled", "wrong_code",
    "recovery_code_refused" or "required".

    A refused code is a failed sign-in in the audit trail (with the request's address, and `via` in
    its detail); the sign-in itself is recorded by the caller once the session or token is made.
    """
    refuse_if_locked_out(person=person, address=address, request=request, step="code", via=via)
    code = normalize_code(code)
    if not code:
        raise ValidationError(MISSING_CODE_MESSAGE, code="required")
    refusal = (WRONG_CODE_MESSAGE, "wrong_code")
    if enrolling is not None:
        devices = TOTPDevice.objects.filter(pk=enrolling.pk, user=person, confirmed=False)
    elif code.isdigit():
        devices = TOTPDevice.objects.filter(user=person, confirmed=True)
    elif person.agency.accepts_recovery_codes:
        devices = StaticDevice.objects.filter(user=person, confirmed=True)
    else:
        # Refused untested, and counted: a code the agency does not accept is a failed attempt all the same.
        devices = StaticDevice.objects.none()
        refusal = (RECOVERY_CODE_REFUSED_MESSAGE, "recovery_code_refused")

    def check():
        # The row lock keeps two requests from both spending one code (a recovery code, a TOTP step).
        for device in devices.select_for_update().order_by("pk"):
            if device.verify_token(code):
                return device
        return None

    return checked_attempt(
        person=person,
        address=address,
        check=check,
        refusal=refusal,
        request=request,
        step="code",
        via=via,
        completes_sign_in=True,
    )


def enrol_second_factor(*, person: User, device: TOTPDevice, invitation: EnrolmentInvitation) -> list[str]:
    """Make the verified authenticator the person's second factor, spending the admin's enrolment
    invitation, and issue their recovery codes (shown once; each works once). Earlier recovery codes
    and unfinished enrolments are dropped. Refused (ValidationError, code "invitation_spent") when the
    invitation is not the person's, was used, or has expired: an authenticator is enrolled only with
    an admin's leave, never with a password alone."""
    with transaction.atomic():
        now = timezone.now()
        # One conditional UPDATE: of two enrolments racing with one invitation, only one spends it.
        spent = EnrolmentInvitation.objects.filter(
            pk=invitation.pk, person=person, used_at__isnull=True, expires_at__gt=now
        ).update(used_at=now)
        if not spent:
            raise ValidationError(INVITATION_SPENT_MESSAGE, code="invitation_spent")
        device.confirmed = True
        device.save(update_fields=["confirmed"])
        TOTPDevice.objects.filter(user=person, confirmed=False).delete()
        StaticDevice.objects.filter(user=person).delete()
        recovery = StaticDevice.objects.create(user=person, name="Recovery codes", confirmed=True)
        codes = [StaticToken.random_token() for _ in range(settings.RECOVERY_CODE_COUNT)]
        StaticToken.objects.bulk_create([StaticToken(device=recovery, token=code) for code in codes])
    logger.info("Second factor enrolled for %s", person.username)
    return codes


def create_api_token(*, person: User) -> tuple[AuthToken, str]:
    """A new API token for the person; the clear text is returned once and stored only hashed."""
    limit = settings.REST_KNOX["TOKEN_LIMIT_PER_USER"]
    live = AuthToken.objects.filter(user=person, expiry__gt=timezone.now()).count()
    if live >= limit:
        raise ValidationError({"token": f"You already have {limit} live tokens. Revoke one before creating another."})
    return AuthToken.objects.create(user=person, expiry=settings.REST_KNOX["TOKEN_TTL"])


def revoke_api_token(*, person: User, token_key: str) -> bool:
    """Delete the person's own token with this key; False when they have none by that key (another's stays)."""
    deleted, _ = AuthToken.objects.filter(user=person, token_key=token_key).delete()
    return bool(deleted)
