"""Sign-in, lock-out (CJIS AC-7), unlock by the agency admin, session limits, deactivated agencies.
The lock-out under parallel attempts: test_parallel_attempts."""

import time

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone

from agencies import services
from agencies.middleware import LAST_SEEN_AT, SIGNED_IN_AT
from agencies.models import AccountLockout
from tests.factories import PASSWORD
from tests.second_factor import authenticator, current_code

LOCKED_WORDS = "This account is locked after too many failed sign-in attempts"


def post_sign_in(client, username, password):
    return client.post("/sign-in/", {"username": username, "password": password})


def test_person_signs_in_and_sees_their_dashboard(client, analyst):
    code = current_code(authenticator(analyst))
    response = post_sign_in(client, "analyst", PASSWORD)
    assert response.status_code == 302
    assert response.url == "/sign-in/verify/?next=%2F"
    response = client.post(response.url, {"code": code})
    assert response.status_code == 302
    assert response.url == "/"
    page = client.get("/").content.decode()
    assert analyst.get_full_name() in page
    assert "State Fusion Center" in page
    assert "Analyst" in page


def test_username_is_case_insensitive(client, analyst):
    assert post_sign_in(client, "ANALYST", PASSWORD).status_code == 302


def test_wrong_password_redisplays_the_form_with_a_reason(client, analyst):
    response = post_sign_in(client, "analyst", "wrong")
    assert response.status_code == 200
    assert "The username or password is not right" in response.content.decode()


def test_five_failures_lock_the_account_even_with_the_right_password(client, analyst):
    for _ in range(5):
        post_sign_in(client, "analyst", "wrong")
    response = post_sign_in(client, "analyst", PASSWORD)
    assert response.status_code == 200
    assert LOCKED_WORDS in response.content.decode()
    assert "agency admin" in response.content.decode()


def test_failures_in_other_letter_case_count_towards_one_lock(client, analyst):
    for name in ["analyst", "Analyst", "ANALYST", "aNaLyst", "analysT"]:
        post_sign_in(client, name, "wrong")
    assert services.is_account_locked(username="analyst")


def test_locked_message_is_the_same_whether_or_not_the_username_exists(client, analyst):
    for _ in range(5):
        post_sign_in(client, "analyst", "wrong")
        post_sign_in(client, "nobody-by-this-name", "wrong")
    real = post_sign_in(client, "analyst", "wrong").content.decode()
    ghost = post_sign_in(client, "nobody-by-this-name", "wrong").content.decode()
    assert LOCKED_WORDS in real
    assert LOCKED_WORDS in ghost
    strip = lambda page: page.replace("analyst", "X").replace("nobody-by-this-name", "X")  # noqa: E731
    csrf = 'name="csrfmiddlewaretoken" value="'
    assert strip(real).split(csrf)[0] == strip(ghost).split(csrf)[0]


def test_failures_spread_over_more_than_fifteen_minutes_do_not_lock(client, analyst):
    for _ in range(4):
        post_sign_in(client, "analyst", "wrong")
    AccountLockout.objects.filter(username="analyst").update(
        first_failure_at=timezone.now() - settings.SIGN_IN_FAILURE_WINDOW
    )
    post_sign_in(client, "analyst", "wrong")
    assert not services.is_account_locked(username="analyst")
    assert post_sign_in(client, "analyst", PASSWORD).status_code == 302


def test_a_success_ends_the_run_of_failures(client, sign_in, analyst):
    for _ in range(4):
        post_sign_in(client, "analyst", "wrong")
    sign_in(analyst)
    client.post("/sign-out/")
    for _ in range(4):
        post_sign_in(client, "analyst", "wrong")
    assert not services.is_account_locked(username="analyst")


def test_api_token_endpoint_counts_towards_the_same_lock(client, analyst):
    for name in ["analyst", "ANALYST", "Analyst"]:
        response = client.post(
            "/api/v1/auth/token/", {"username": name, "password": "wrong"}, content_type="application/json"
        )
        assert response.status_code == 401
    for _ in range(2):
        post_sign_in(client, "Analyst", "wrong")
    response = client.post(
        "/api/v1/auth/token/", {"username": "analyst", "password": PASSWORD}, content_type="application/json"
    )
    assert response.status_code == 401
    assert LOCKED_WORDS in response.json()["errors"]["non_field_errors"][0]


def test_admin_sign_in_counts_towards_the_same_lock(client, system_admin):
    for _ in range(5):
        client.post("/admin/login/", {"username": "SYSADMIN", "password": "wrong"})
    assert services.is_account_locked(username="sysadmin")


def test_agency_admin_sees_and_unlocks_their_locked_person(client, sign_in, coordinator, agency_admin):
    for _ in range(5):
        post_sign_in(Client(), "coordinator", "wrong")
    sign_in(agency_admin)
    page = client.get("/people/locked/").content.decode()
    assert "coordinator" in page
    response = client.post(f"/people/{coordinator.pk}/unlock/")
    assert response.status_code == 302
    assert not services.is_account_locked(username="coordinator")
    assert post_sign_in(Client(), "coordinator", PASSWORD).status_code == 302


def test_agency_admin_cannot_unlock_someone_of_another_agency(client, sign_in, analyst, agency_admin):
    for _ in range(5):
        post_sign_in(Client(), "analyst", "wrong")
    sign_in(agency_admin)
    assert "analyst" not in client.get("/people/locked/").content.decode()
    assert client.post(f"/people/{analyst.pk}/unlock/").status_code == 404
    assert services.is_account_locked(username="analyst")


def test_partner_cannot_open_the_locked_accounts_page(client, sign_in, outsider):
    sign_in(outsider)
    assert client.get("/people/locked/").status_code == 403


def test_one_address_is_throttled_after_many_failures_across_usernames(client, settings, analyst):
    settings.SIGN_IN_ADDRESS_FAILURE_LIMIT = 6
    for number in range(6):
        post_sign_in(client, f"guess{number}", "wrong")
    response = post_sign_in(client, "analyst", PASSWORD)
    assert "Too many failed sign-in attempts from this network address" in response.content.decode()
    assert not services.is_account_locked(username="analyst")


def test_idle_session_ends_after_thirty_minutes(client, sign_in, analyst):
    sign_in(analyst)
    session = client.session
    session[LAST_SEEN_AT] = time.time() - 31 * 60
    session.save()
    response = client.get("/")
    assert response.status_code == 302
    assert response.url.startswith("/sign-in/")
    assert "30 minutes without activity" in client.get(response.url).content.decode()


def test_session_needs_a_new_sign_in_after_twelve_hours(client, sign_in, analyst):
    sign_in(analyst)
    session = client.session
    session[SIGNED_IN_AT] = time.time() - 12 * 3600 - 60
    session.save()
    response = client.get("/")
    assert response.status_code == 302
    assert "12-hour limit" in client.get(response.url).content.decode()


def test_active_session_is_kept(client, sign_in, analyst):
    sign_in(analyst)
    session = client.session
    session[LAST_SEEN_AT] = time.time() - 29 * 60
    session.save()
    assert client.get("/").status_code == 200


def test_deactivating_an_agency_signs_its_people_out_and_blocks_sign_in(client, sign_in, coordinator, system_admin):
    sign_in(coordinator)
    token_client = Client()
    _instance, token = services.create_api_token(person=coordinator)
    assert token_client.get("/api/v1/me/", HTTP_AUTHORIZATION=f"Token {token}").status_code == 200

    services.set_agency_active(agency=coordinator.agency, is_active=False, by=system_admin)

    response = client.get("/")
    assert response.status_code == 302
    assert token_client.get("/api/v1/me/", HTTP_AUTHORIZATION=f"Token {token}").status_code == 401
    page = post_sign_in(Client(), "coordinator", PASSWORD)
    assert page.status_code == 200
    coordinator.refresh_from_db()
    assert coordinator.is_active  # records are kept


def test_sign_out_needs_a_post(client, sign_in, analyst):
    sign_in(analyst)
    assert client.get("/sign-out/").status_code == 405
    assert client.post("/sign-out/").status_code == 302
    assert client.get("/").status_code == 302


@pytest.mark.parametrize("method", ["put", "patch", "delete"])
def test_other_methods_on_the_sign_in_form_do_not_sign_in(client, analyst, method):
    response = getattr(client, method)("/sign-in/", {"username": "analyst", "password": PASSWORD})
    assert response.status_code == 405
    assert client.get("/").status_code == 302
