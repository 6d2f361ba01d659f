"""Enrolment invitations: a person sets up their authenticator app only with a one-time enrolment code an
admin issued (shown once to the admin, or emailed to the person), so a password alone never enrols a
phone; without one the enrolment page says whom to ask."""

import re
from datetime import timedelta
from io import StringIO

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import CommandError, call_command
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from agencies import services
from agencies.demo import authenticator_code
from agencies.models import AccountLockout, AuditAction, AuditEntry, EnrolmentInvitation
from agencies.services import enrolment
from tests.factories import PASSWORD
from tests.second_factor import authenticator, enrolment_invitation
from tests.worker import spare_port

LOCKED_WORDS = "This account is locked after too many failed sign-in attempts"
WRONG_ENROLMENT_CODE_WORDS = "That enrolment code is not right"
CODE_PATTERN = r"[A-HJ-NP-Z2-9]{4}-[A-HJ-NP-Z2-9]{4}-[A-HJ-NP-Z2-9]{4}"


def password_step(client, person):
    response = client.post("/sign-in/", {"username": person.username, "password": PASSWORD})
    assert response.url == "/sign-in/enrol/?next=%2F", response.url
    return response


def issue_in_admin(client, admin, *people):
    client.force_login(admin)
    return client.post(
        "/admin/agencies/user/",
        {"action": "issue_enrolment_codes", "_selected_action": [person.pk for person in people]},
    )


# --- without an enrolment code -----------------------------------------------------------------------


def test_without_an_enrolment_code_the_page_says_whom_to_ask_and_shows_no_qr_code(client, coordinator, agency_admin):
    password_step(client, coordinator)

    page = client.get("/sign-in/enrol/").content.decode()

    assert "Enter your enrolment code" in page
    assert "fh-qr-code" not in page
    asked = re.search(r'data-testid="whom-to-ask">(.*?)</p>', page, re.S)[1]
    assert "an agency admin of County EOC" in asked
    assert agency_admin.get_full_name() in asked
    assert "a FusionHub system admin" in asked
    assert "someone who has learned your password cannot set up their own phone" in page
    assert not TOTPDevice.objects.filter(user=coordinator).exists()


def test_a_password_alone_never_enrols_an_authenticator(client, coordinator):
    password_step(client, coordinator)

    # Posting a code straight to the enrolment page, as the old page took it, opens nothing.
    response = client.post("/sign-in/enrol/", {"code": "123456"})

    assert response.status_code == 200
    assert "Enter your enrolment code" in response.content.decode()
    assert not TOTPDevice.objects.filter(user=coordinator).exists()
    assert client.get("/").url.startswith("/sign-in/verify/")


def test_the_service_enrols_no_one_with_someone_elses_invitation(coordinator, analyst):
    invitation, _code = enrolment_invitation(analyst)
    device = services.start_enrolment(person=coordinator)

    with pytest.raises(ValidationError, match="has been used or has expired"):
        services.enrol_second_factor(person=coordinator, device=device, invitation=invitation)

    assert not TOTPDevice.objects.filter(user=coordinator, confirmed=True).exists()
    invitation.refresh_from_db()
    assert invitation.used_at is None


def test_the_page_names_only_a_system_admin_where_the_agency_has_no_admin(client, analyst):
    password_step(client, analyst)

    page = client.get("/sign-in/enrol/").content.decode()

    asked = re.search(r'data-testid="whom-to-ask">(.*?)</p>', page, re.S)[1]
    assert "agency admin" not in asked
    assert "Ask a FusionHub system admin to issue you one" in " ".join(asked.split())


# --- issued by an admin, shown once -------------------------------------------------------------------


def test_agency_admin_issues_a_code_shown_once_and_the_person_enrols_with_it(client, coordinator, agency_admin):
    response = issue_in_admin(client, agency_admin, coordinator)

    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    page = response.content.decode()
    assert "The codes are shown only on this page, this once" in page
    code = re.search(rf"<td>coordinator</td><td><code>({CODE_PATTERN})</code></td>", page)[1]
    invitation = EnrolmentInvitation.objects.get(person=coordinator)
    assert code.replace("-", "") not in invitation.code_hash  # kept only hashed
    assert invitation.issued_by == agency_admin
    entry = AuditEntry.objects.get(action=AuditAction.ENROLMENT_CODE_ISSUED)
    assert (entry.person, entry.item_id, entry.item_label, entry.agency_id) == (
        agency_admin,
        coordinator.pk,
        "coordinator",
        coordinator.agency_id,
    )
    assert entry.detail["delivered"] == "shown to the admin"

    client.post("/sign-out/")
    password_step(client, coordinator)
    opened = client.post("/sign-in/enrol/", {"enrolment_code": f" {code.lower()} "})
    assert opened.url == "/sign-in/enrol/?next=%2F"
    assert "Scan this code with the app" in client.get(opened.url).content.decode()
    device = TOTPDevice.objects.get(user=coordinator, confirmed=False)
    done = client.post("/sign-in/enrol/", {"code": authenticator_code(device)})

    assert done.url.startswith("/sign-in/recovery-codes/")
    assert client.get("/").status_code == 200
    invitation.refresh_from_db()
    assert invitation.used_at is not None


def test_an_enrolment_code_works_once(client, coordinator, agency_admin):
    _invitation, code = enrolment_invitation(coordinator)
    password_step(client, coordinator)
    client.post("/sign-in/enrol/", {"enrolment_code": code})
    client.get("/sign-in/enrol/")
    client.post("/sign-in/enrol/", {"code": authenticator_code(TOTPDevice.objects.get(user=coordinator))})
    client.post("/sign-out/")
    services.reset_second_factor(person=coordinator, by=agency_admin)

    password_step(client, coordinator)
    response = client.post("/sign-in/enrol/", {"enrolment_code": code})

    assert response.status_code == 200
    assert WRONG_ENROLMENT_CODE_WORDS in response.content.decode()
    assert not TOTPDevice.objects.filter(user=coordinator).exists()


def test_an_expired_enrolment_code_is_refused(client, coordinator):
    invitation, code = enrolment_invitation(coordinator)
    EnrolmentInvitation.objects.filter(pk=invitation.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    password_step(client, coordinator)

    response = client.post("/sign-in/enrol/", {"enrolment_code": code})

    assert WRONG_ENROLMENT_CODE_WORDS in response.content.decode()
    assert "fh-qr-code" not in response.content.decode()


def test_a_code_that_expires_during_enrolment_enrols_nothing(client, coordinator):
    invitation, code = enrolment_invitation(coordinator)
    password_step(client, coordinator)
    client.post("/sign-in/enrol/", {"enrolment_code": code})
    client.get("/sign-in/enrol/")
    device = TOTPDevice.objects.get(user=coordinator, confirmed=False)
    EnrolmentInvitation.objects.filter(pk=invitation.pk).update(expires_at=timezone.now() - timedelta(seconds=1))

    response = client.post("/sign-in/enrol/", {"code": authenticator_code(device)}, follow=True)

    page = response.content.decode()
    assert "Your enrolment code has been used or has expired" in page
    assert "Enter your enrolment code" in page
    assert not TOTPDevice.objects.filter(user=coordinator, confirmed=True).exists()
    assert client.get("/").status_code == 302


def test_a_new_code_replaces_the_one_issued_before(client, coordinator, agency_admin):
    _first, old_code = enrolment.issue_enrolment_invitation(person=coordinator, by=agency_admin)
    _second, new_code = enrolment.issue_enrolment_invitation(person=coordinator, by=agency_admin)
    password_step(client, coordinator)

    refused = client.post("/sign-in/enrol/", {"enrolment_code": old_code})
    accepted = client.post("/sign-in/enrol/", {"enrolment_code": new_code})

    assert WRONG_ENROLMENT_CODE_WORDS in refused.content.decode()
    assert accepted.status_code == 302
    assert EnrolmentInvitation.objects.filter(person=coordinator).count() == 1


def test_wrong_enrolment_codes_count_towards_the_lock(client, coordinator):
    enrolment_invitation(coordinator)
    password_step(client, coordinator)
    for _ in range(4):
        response = client.post("/sign-in/enrol/", {"enrolment_code": "AAAA-BBBB-CCCC"})
        assert WRONG_ENROLMENT_CODE_WORDS in response.content.decode()

    response = client.post("/sign-in/enrol/", {"enrolment_code": "AAAA-BBBB-CCCC"}, follow=True)

    assert response.redirect_chain[-1][0] == "/sign-in/"
    assert LOCKED_WORDS in response.content.decode()
    assert AccountLockout.objects.get(username="coordinator").failure_count == 5
    failed = AuditEntry.objects.filter(action=AuditAction.SIGN_IN_FAILED).order_by("pk").first()
    assert failed.detail == {"username": "coordinator", "step": "enrolment code", "reason": "wrong_enrolment_code"}


def test_a_right_enrolment_code_does_not_clear_earlier_failures(client, coordinator):
    _invitation, code = enrolment_invitation(coordinator)
    for _ in range(4):
        client.post("/sign-in/", {"username": "coordinator", "password": "wrong"})
    password_step(client, coordinator)

    client.post("/sign-in/enrol/", {"enrolment_code": code})

    assert AccountLockout.objects.get(username="coordinator").failure_count == 4


# --- who may issue ------------------------------------------------------------------------------------


def test_agency_admin_cannot_issue_a_code_to_someone_of_another_agency(client, analyst, agency_admin):
    with pytest.raises(PermissionDenied):
        enrolment.issue_enrolment_invitation(person=analyst, by=agency_admin)

    issue_in_admin(client, agency_admin, analyst)  # not even listed for them: nothing is issued
    assert not EnrolmentInvitation.objects.exists()
    assert not AuditEntry.objects.filter(action=AuditAction.ENROLMENT_CODE_ISSUED).exists()


def test_no_one_issues_a_code_to_themselves(agency_admin):
    with pytest.raises(PermissionDenied, match="another admin"):
        enrolment.issue_enrolment_invitation(person=agency_admin, by=agency_admin)


def test_no_code_for_someone_who_has_a_second_factor(client, coordinator, agency_admin):
    authenticator(coordinator)

    with pytest.raises(ValidationError, match="already has a second factor"):
        enrolment.issue_enrolment_invitation(person=coordinator, by=agency_admin)
    response = issue_in_admin(client, agency_admin, coordinator)

    assert response.status_code == 302
    assert "already has a second factor" in client.get(response.url).content.decode()
    assert not EnrolmentInvitation.objects.exists()


def test_system_admin_issues_a_code_to_anyone(coordinator, system_admin):
    _invitation, code = enrolment.issue_enrolment_invitation(person=coordinator, by=system_admin)

    assert re.fullmatch(CODE_PATTERN, code)


# --- emailed to the person ----------------------------------------------------------------------------


def test_agency_admin_emails_a_code_the_person_enrols_with(client, coordinator, agency_admin, mail_server, settings):
    client.force_login(agency_admin)

    response = client.post(
        "/admin/agencies/user/", {"action": "email_enrolment_codes", "_selected_action": [coordinator.pk]}
    )

    assert response.status_code == 302
    assert "Enrolment code emailed to 1 people" in client.get(response.url).content.decode()
    (message,) = mail_server.to(coordinator.email)
    body = message.get_content()
    assert "your enrolment code" in message["Subject"]
    assert f"Sign in at {settings.SITE_URL}/sign-in/ with your username (coordinator)" in body
    assert "The code works once, until" in body
    code = re.search(CODE_PATTERN, body)[0]
    assert code not in client.get(response.url).content.decode()  # the admin never sees it
    entry = AuditEntry.objects.get(action=AuditAction.ENROLMENT_CODE_ISSUED)
    assert entry.detail["delivered"] == f"emailed to {coordinator.email}"

    client.post("/sign-out/")
    password_step(client, coordinator)
    assert client.post("/sign-in/enrol/", {"enrolment_code": code}).status_code == 302
    assert "Scan this code with the app" in client.get("/sign-in/enrol/").content.decode()


def test_an_email_the_mail_server_refuses_leaves_no_code(client, coordinator, agency_admin, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", spare_port(), 2
    client.force_login(agency_admin)

    response = client.post(
        "/admin/agencies/user/", {"action": "email_enrolment_codes", "_selected_action": [coordinator.pk]}
    )

    assert "the mail server did not take the email, so no code was issued" in client.get(response.url).content.decode()
    assert not EnrolmentInvitation.objects.exists()
    assert not AuditEntry.objects.filter(action=AuditAction.ENROLMENT_CODE_ISSUED).exists()


# --- the operator's command ---------------------------------------------------------------------------


def test_enrolment_code_command_lets_the_first_admin_enrol(client, system_admin):
    out = StringIO()

    call_command("enrolment_code", "SYSADMIN", stdout=out, stderr=StringIO())

    code = out.getvalue().strip()
    assert re.fullmatch(CODE_PATTERN, code)
    entry = AuditEntry.objects.get(action=AuditAction.ENROLMENT_CODE_ISSUED)
    assert (entry.person, entry.item_label, entry.detail["via"]) == (None, "sysadmin", "enrolment_code command")
    client.post("/sign-in/", {"username": "sysadmin", "password": PASSWORD})
    assert client.post("/sign-in/enrol/", {"enrolment_code": code}).status_code == 302


def test_enrolment_code_command_refuses_someone_enrolled(system_admin):
    authenticator(system_admin)

    with pytest.raises(CommandError, match="already has a second factor"):
        call_command("enrolment_code", "sysadmin", stdout=StringIO(), stderr=StringIO())
