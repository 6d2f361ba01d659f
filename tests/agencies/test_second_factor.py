"""The second factor (CJIS IA-2): the code step after the password, enrolment with a QR code, recovery
codes, the lock-out and idle limit holding on the second step, an admin's reset, and API tokens only
after both factors."""

import logging
import re
import time
from io import StringIO

import pytest
from django.core.exceptions import PermissionDenied
from django.core.management import CommandError, call_command
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice
from knox.models import AuthToken

from agencies import services
from agencies.api import AccountRateThrottle
from agencies.demo import authenticator_code
from agencies.middleware import LAST_SEEN_AT
from tests.factories import PASSWORD
from tests.second_factor import VerifiedClient, authenticator, current_code, enrolment_invitation

LOCKED_WORDS = "This account is locked after too many failed sign-in attempts"
WRONG_CODE_WORDS = "That code is not right"


def password_step(client, person, next_url: str = ""):
    data = {"username": person.username, "password": PASSWORD}
    if next_url:
        data["next"] = next_url
    return client.post("/sign-in/", data)


def enrolled_with_recovery_codes(person) -> list[str]:
    invitation, _code = enrolment_invitation(person)
    device = services.start_enrolment(person=person)
    return services.enrol_second_factor(person=person, device=device, invitation=invitation)


# --- the code step -----------------------------------------------------------------------------------


def test_after_the_password_only_the_code_step_opens(client, analyst):
    authenticator(analyst)

    response = password_step(client, analyst)

    assert response.status_code == 302
    assert response.url.startswith("/sign-in/verify/")
    page = client.get(response.url).content.decode()
    assert "enter the 6-digit code your authenticator app shows" in page
    assert 'data-testid="person"' not in page  # no navigation before the second factor
    for path in ("/", "/profile/", "/products/", "/admin/"):
        refused = client.get(path)
        assert refused.status_code == 302, path
        assert refused.url.startswith("/sign-in/verify/?next="), path
    api = client.get("/api/v1/me/")
    assert api.status_code == 403
    message = "Finish signing in with the code from your authenticator app first."
    assert api.json() == {"errors": {"non_field_errors": [message]}}


def test_the_right_code_signs_in_and_goes_where_the_person_was_going(client, analyst):
    device = authenticator(analyst)
    response = password_step(client, analyst, next_url="/profile/")
    assert response.url == "/sign-in/verify/?next=%2Fprofile%2F"

    response = client.post(response.url, {"code": current_code(device)})

    assert response.status_code == 302
    assert response.url == "/profile/"
    assert client.get("/profile/").status_code == 200


def test_next_leading_off_the_site_is_ignored(client, analyst):
    device = authenticator(analyst)
    password_step(client, analyst)

    response = client.post("/sign-in/verify/?next=https://evil.example.com/", {"code": current_code(device)})

    assert response.url == "/"


def test_a_wrong_code_is_refused_with_a_reason(client, analyst):
    authenticator(analyst)
    password_step(client, analyst)

    response = client.post("/sign-in/verify/", {"code": "000000"})

    assert response.status_code == 200
    assert WRONG_CODE_WORDS in response.content.decode()
    assert client.get("/").status_code == 302
    empty = client.post("/sign-in/verify/", {"code": " "})
    assert "Enter the 6-digit code from your authenticator app" in empty.content.decode()


def test_five_wrong_codes_lock_the_account_and_sign_out(client, analyst):
    device = authenticator(analyst)
    password_step(client, analyst)
    for _ in range(4):
        assert WRONG_CODE_WORDS in client.post("/sign-in/verify/", {"code": "000000"}).content.decode()

    response = client.post("/sign-in/verify/", {"code": "000000"}, follow=True)

    assert response.redirect_chain[-1][0] == "/sign-in/"
    assert LOCKED_WORDS in response.content.decode()
    assert services.is_account_locked(username="analyst")
    # Neither the password nor a right code gets in until an admin unlocks the account.
    again = password_step(client, analyst)
    assert again.status_code == 200
    assert LOCKED_WORDS in again.content.decode()
    assert client.post("/sign-in/verify/", {"code": current_code(device)}).url.startswith("/sign-in/")
    assert client.get("/").status_code == 302


def test_signing_in_again_with_the_password_does_not_clear_wrong_codes(client, analyst):
    authenticator(analyst)
    for _ in range(5):
        assert password_step(client, analyst).status_code == 302
        client.post("/sign-in/verify/", {"code": "000000"})

    assert services.is_account_locked(username="analyst")


def test_wrong_passwords_and_wrong_codes_add_up_to_one_lock(client, analyst):
    authenticator(analyst)
    for _ in range(3):
        client.post("/sign-in/", {"username": "analyst", "password": "wrong"})
    password_step(client, analyst)
    client.post("/sign-in/verify/", {"code": "000000"})
    assert not services.is_account_locked(username="analyst")

    client.post("/sign-in/verify/", {"code": "111111"})

    assert services.is_account_locked(username="analyst")


def test_a_code_signs_in_only_once(client, analyst):
    device = authenticator(analyst)
    code = current_code(device)
    password_step(client, analyst)
    assert client.post("/sign-in/verify/", {"code": code}).url == "/"
    client.post("/sign-out/")

    password_step(client, analyst)
    response = client.post("/sign-in/verify/", {"code": code})

    assert response.status_code == 200
    assert WRONG_CODE_WORDS in response.content.decode()


def test_idle_limit_holds_on_the_code_step(client, analyst):
    authenticator(analyst)
    password_step(client, analyst)
    client.get("/sign-in/verify/")
    session = client.session
    session[LAST_SEEN_AT] = time.time() - 31 * 60
    session.save()

    response = client.get("/sign-in/verify/")

    assert response.status_code == 302
    assert response.url.startswith("/sign-in/")
    assert not response.url.startswith("/sign-in/verify/")
    assert "30 minutes without activity" in client.get(response.url).content.decode()


# --- recovery codes ----------------------------------------------------------------------------------


def test_a_recovery_code_signs_in_once(client, analyst):
    codes = enrolled_with_recovery_codes(analyst)
    assert len(codes) == 10
    printed = f"{codes[3][:4]}-{codes[3][4:]}".upper()  # as shown, typed in capitals

    password_step(client, analyst)
    assert client.post("/sign-in/verify/", {"code": printed}).url == "/"
    client.post("/sign-out/")

    password_step(client, analyst)
    response = client.post("/sign-in/verify/", {"code": printed})
    assert WRONG_CODE_WORDS in response.content.decode()
    assert StaticToken.objects.filter(device__user=analyst).count() == 9
    assert client.post("/sign-in/verify/", {"code": codes[4]}).url == "/"


# --- enrolment ---------------------------------------------------------------------------------------


def test_a_person_without_a_second_factor_enrols_after_the_password(client, analyst):
    _invitation, enrolment_code = enrolment_invitation(analyst)
    response = password_step(client, analyst)
    assert response.url == "/sign-in/enrol/?next=%2F"
    assert client.get("/sign-in/verify/").url.startswith("/sign-in/enrol/")
    assert "Enter your enrolment code" in client.get(response.url).content.decode()

    opened = client.post(response.url, {"enrolment_code": enrolment_code.lower()})
    assert opened.url == "/sign-in/enrol/?next=%2F"
    page = client.get(response.url).content.decode()

    assert "Set up your authenticator app" in page
    qr = re.search(r'<img class="fh-qr-code" src="([^"]+)"', page)
    assert qr is not None
    assert qr[1].startswith("data:image/svg+xml")
    device = TOTPDevice.objects.get(user=analyst)
    assert not device.confirmed
    secret = re.search(r'data-testid="secret-key">([A-Z2-7 ]+)<', page)[1].replace(" ", "")
    assert len(secret) == 32
    # A reload shows the same secret: the app scanned a moment ago keeps working.
    assert secret in client.get(response.url).content.decode().replace(" ", "")
    assert TOTPDevice.objects.filter(user=analyst).count() == 1


def test_enrolment_is_confirmed_with_the_first_code_and_shows_recovery_codes_once(client, analyst):
    invitation, enrolment_code = enrolment_invitation(analyst)
    password_step(client, analyst, next_url="/profile/")
    client.post("/sign-in/enrol/?next=/profile/", {"enrolment_code": enrolment_code})
    client.get("/sign-in/enrol/")
    device = TOTPDevice.objects.get(user=analyst)

    wrong = client.post("/sign-in/enrol/?next=/profile/", {"code": "000000"})
    assert WRONG_CODE_WORDS in wrong.content.decode()
    assert not TOTPDevice.objects.get(pk=device.pk).confirmed
    response = client.post("/sign-in/enrol/?next=/profile/", {"code": authenticator_code(device)})

    assert response.status_code == 302
    assert response.url == "/sign-in/recovery-codes/?next=%2Fprofile%2F"
    page = client.get(response.url).content.decode()
    shown = re.findall(r"<li><code>([a-z2-7]{4}-[a-z2-7]{4})</code></li>", page)
    assert len(shown) == 10
    assert 'href="/profile/"' in page
    assert client.get(response.url).url == "/profile/"  # shown only once
    assert TOTPDevice.objects.get(pk=device.pk).confirmed
    assert set(StaticToken.objects.filter(device__user=analyst).values_list("token", flat=True)) == {
        code.replace("-", "") for code in shown
    }
    assert client.get("/profile/").status_code == 200
    invitation.refresh_from_db()
    assert invitation.used_at is not None  # the enrolment code is spent


def test_an_enrolled_person_cannot_enrol_another_authenticator(client, analyst):
    device = authenticator(analyst)
    password_step(client, analyst)

    response = client.get("/sign-in/enrol/")

    assert response.url.startswith("/sign-in/verify/")
    assert list(TOTPDevice.objects.filter(user=analyst)) == [device]
    with pytest.raises(PermissionDenied):
        services.start_enrolment(person=analyst)


# --- an admin's reset --------------------------------------------------------------------------------


def test_agency_admin_resets_a_persons_second_factor(client, coordinator, agency_admin, caplog):
    enrolled_with_recovery_codes(coordinator)
    person = VerifiedClient()
    person.force_login(coordinator)
    assert person.get("/").status_code == 200
    client.force_login(agency_admin)

    with caplog.at_level(logging.WARNING, logger="agencies.services"):
        response = client.post(
            "/admin/agencies/user/", {"action": "reset_second_factors", "_selected_action": [coordinator.pk]}
        )

    assert response.status_code == 302
    assert not TOTPDevice.objects.filter(user=coordinator).exists()
    assert not StaticDevice.objects.filter(user=coordinator).exists()
    assert "Second factor of coordinator reset by eoc.admin" in caplog.text
    # The open session must pass the second step again, which now means enrolling anew.
    assert person.get("/").url.startswith("/sign-in/verify/")
    assert person.get("/sign-in/verify/").url.startswith("/sign-in/enrol/")


def test_agency_admin_cannot_reset_someone_of_another_agency(analyst, agency_admin):
    authenticator(analyst)

    with pytest.raises(PermissionDenied):
        services.reset_second_factor(person=analyst, by=agency_admin)

    assert TOTPDevice.objects.filter(user=analyst).exists()


def test_device_secrets_are_not_in_the_admin(client, system_admin):
    client.force_login(system_admin)

    assert client.get("/admin/otp_totp/totpdevice/").status_code == 404
    assert client.get("/admin/otp_static/staticdevice/").status_code == 404


# --- API tokens --------------------------------------------------------------------------------------


def ask_for_token(client, person, **extra):
    data = {"username": person.username, "password": PASSWORD, **extra}
    return client.post("/api/v1/auth/token/", data, content_type="application/json")


def test_token_without_a_code_is_refused_with_the_reason(client, coordinator):
    authenticator(coordinator)

    response = ask_for_token(client, coordinator)

    assert response.status_code == 403
    message = response.json()["errors"]["code"][0]
    assert "only after a multi-factor sign-in" in message
    assert not AuthToken.objects.exists()


@pytest.mark.parametrize(
    "extra",
    [{}, {"code": ""}, {"code": "   "}, {"code": None}, {"code": "-"}, {"code": []}],
    ids=["no code", "empty", "blank", "null", "separators only", "a list"],
)
def test_a_token_is_never_had_with_the_password_alone(client, coordinator, extra):
    authenticator(coordinator)

    response = ask_for_token(client, coordinator, **extra)

    assert response.status_code == 403
    assert "only after a multi-factor sign-in" in response.json()["errors"]["code"][0]
    assert not AuthToken.objects.exists()


def test_a_session_past_the_password_alone_gets_no_token(client, coordinator):
    authenticator(coordinator)
    password_step(client, coordinator)

    from_profile = client.post("/profile/tokens/")
    from_api = client.post("/api/v1/auth/token/", {"username": "coordinator"}, content_type="application/json")

    assert from_profile.url.startswith("/sign-in/verify/")
    assert from_api.status_code == 403
    assert not AuthToken.objects.exists()


def test_token_with_a_wrong_code_counts_towards_the_lock(client, coordinator):
    authenticator(coordinator)
    for _ in range(4):
        response = ask_for_token(client, coordinator, code="000000")
        assert response.status_code == 401
        assert WRONG_CODE_WORDS in response.json()["errors"]["code"][0]

    response = ask_for_token(client, coordinator, code="000000")

    assert LOCKED_WORDS in response.json()["errors"]["code"][0]
    assert services.is_account_locked(username="coordinator")
    assert not AuthToken.objects.exists()


def test_token_with_the_right_code_is_issued(client, coordinator):
    device = authenticator(coordinator)

    response = ask_for_token(client, coordinator, code=current_code(device))

    assert response.status_code == 200
    token = response.json()["token"]
    assert VerifiedClient().get("/api/v1/me/", HTTP_AUTHORIZATION=f"Token {token}").status_code == 200


def test_token_for_someone_not_enrolled_is_refused(client, coordinator):
    response = ask_for_token(client, coordinator, code="123456")

    assert response.status_code == 403
    assert "no second factor yet" in response.json()["errors"]["code"][0]


def test_token_requests_are_limited_per_account_from_any_address(client, coordinator, monkeypatch):
    monkeypatch.setattr(AccountRateThrottle, "THROTTLE_RATES", {"sign-in-account": "3/minute"})
    for number in range(3):
        response = client.post(
            "/api/v1/auth/token/",
            {"username": "Coordinator", "password": "wrong"},
            content_type="application/json",
            REMOTE_ADDR=f"10.0.0.{number}",
        )
        assert response.status_code == 401

    response = client.post(
        "/api/v1/auth/token/",
        {"username": "coordinator", "password": PASSWORD},
        content_type="application/json",
        REMOTE_ADDR="10.0.0.9",
    )

    assert response.status_code == 429
    other = client.post(
        "/api/v1/auth/token/", {"username": "someone.else", "password": "x"}, content_type="application/json"
    )
    assert other.status_code == 401


def test_profile_creates_a_token_after_both_factors(client, sign_in, coordinator):
    sign_in(coordinator)

    response = client.post("/profile/tokens/")

    assert response.status_code == 302
    assert AuthToken.objects.filter(user=coordinator).count() == 1


# --- the demo ----------------------------------------------------------------------------------------


def test_demo_code_signs_a_demo_person_in(db, client, settings):
    settings.DEBUG = True
    call_command("seed_demo", stdout=StringIO())
    out = StringIO()

    call_command("demo_code", "Coordinator", stdout=out)

    code = out.getvalue().strip()
    assert re.fullmatch(r"\d{6}", code)
    response = client.post("/sign-in/", {"username": "coordinator", "password": "demo-password-2026"})
    assert response.url.startswith("/sign-in/verify/")
    assert client.post(response.url, {"code": code}).url == "/"
    # Printed again within the same 30 seconds, the code is the next one, which signs in too.
    again = StringIO()
    call_command("demo_code", "coordinator", stdout=again)
    assert again.getvalue().strip() != code


def test_demo_code_refuses_to_run_with_debug_off(db, settings):
    settings.DEBUG = True
    call_command("seed_demo", stdout=StringIO())
    settings.DEBUG = False
    out = StringIO()

    with pytest.raises(CommandError, match="DEBUG"):
        call_command("demo_code", "analyst", stdout=out)

    assert out.getvalue() == ""


def test_demo_code_is_only_for_demo_people(db, settings):
    settings.DEBUG = True
    with pytest.raises(CommandError, match="not a person of the demo region"):
        call_command("demo_code", "someone.real", stdout=StringIO())
