"""The lock-out and the rate limits under 50 parallel wrong attempts, on the real PostgreSQL and Redis: each
attempt a request in a thread of its own, with its own database connection, all released at once. The
password step, the code step and the token endpoint: no more than the limit's attempts are ever
tested, none after it succeeds even with the right secret, and the failures recorded are exactly right."""

import threading
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.conf import settings
from django.core.cache import cache
from django.db import connections
from django.test import Client
from knox.models import AuthToken

from agencies import services
from agencies.api import AddressRateThrottle
from agencies.models import AccountLockout, AuditAction, AuditEntry
from tests.factories import PASSWORD
from tests.second_factor import authenticator, current_code

PARALLEL = 50
LIMIT = 5  # settings.SIGN_IN_FAILURE_LIMIT
LOCKED_WORDS = "This account is locked after too many failed sign-in attempts"
WRONG_PASSWORD_WORDS = "The username or password is not right"
WRONG_CODE_WORDS = "That code is not right"
THROTTLED_WORDS = "Too many failed sign-in attempts from this network address"


def in_parallel(attempt: Callable[[int], object], count: int = PARALLEL) -> list:
    """Run `attempt(0)` … `attempt(count - 1)` each in its own thread, released together by a barrier;
    each thread closes its own database connection when done."""
    barrier = threading.Barrier(count, timeout=60)

    def run(number: int):
        try:
            barrier.wait()
            return attempt(number)
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(run, range(count)))


def address(number: int) -> str:
    """A network address of its own for each attempt, as a botnet would spread them."""
    return f"10.1.{number // 250}.{number % 250 + 1}"


def failed_sign_ins(username: str) -> int:
    return AuditEntry.objects.filter(action=AuditAction.SIGN_IN_FAILED, username=username).count()


@pytest.fixture(autouse=True)
def _address_limit_above_the_attempts(settings):
    # The per-address limit has its own test below; the others spread their attempts over addresses
    # anyway, and this keeps it out of their way.
    settings.SIGN_IN_ADDRESS_FAILURE_LIMIT = 1000


# --- the password step --------------------------------------------------------------------------------


def test_fifty_parallel_wrong_passwords_test_five_and_lock(transactional_db, analyst):
    def attempt(number):
        response = Client(REMOTE_ADDR=address(number)).post(
            "/sign-in/", {"username": "analyst", "password": f"wrong-{number}"}
        )
        return response.content.decode()

    pages = in_parallel(attempt)

    lock = AccountLockout.objects.get(username="analyst")
    assert lock.locked_at is not None
    # Only five passwords were ever tested: the other 45 met a locked account.
    assert lock.failure_count == LIMIT
    # Each page says why: a wrong password, or (for most, and for a tested one answered once the lock
    # was on) the lock.
    assert all((WRONG_PASSWORD_WORDS in page) != (LOCKED_WORDS in page) for page in pages)
    assert sum(WRONG_PASSWORD_WORDS in page for page in pages) <= LIMIT - 1
    # Every attempt is a failed sign-in in the audit trail, none lost or doubled.
    assert failed_sign_ins("analyst") == PARALLEL
    # The right password gets nowhere now, until an admin unlocks the account.
    refused = Client(REMOTE_ADDR="10.9.9.9").post("/sign-in/", {"username": "analyst", "password": PASSWORD})
    assert refused.status_code == 200
    assert LOCKED_WORDS in refused.content.decode()


def test_the_right_password_among_fifty_parallel_wrong_ones_never_lets_a_sixth_guess_in(transactional_db, analyst):
    # Every tenth attempt carries the right password: those tested before the lock pass (they do not
    # end the run of failures, the second factor is still to come); no wrong password is tested after
    # the fifth.
    def attempt(number):
        password = PASSWORD if number % 10 == 0 else f"wrong-{number}"
        response = Client(REMOTE_ADDR=address(number)).post("/sign-in/", {"username": "analyst", "password": password})
        return number, response.status_code

    results = in_parallel(attempt)

    passed = [number for number, status in results if status == 302]
    assert all(number % 10 == 0 for number in passed)  # no wrong password ever passed
    lock = AccountLockout.objects.get(username="analyst")
    assert lock.locked_at is not None
    assert lock.failure_count == LIMIT
    accepted = AuditEntry.objects.filter(action=AuditAction.PASSWORD_ACCEPTED, username="analyst")
    assert accepted.count() == len(passed)
    assert failed_sign_ins("analyst") == PARALLEL - len(passed)
    refused = Client(REMOTE_ADDR="10.9.9.9").post("/sign-in/", {"username": "analyst", "password": PASSWORD})
    assert LOCKED_WORDS in refused.content.decode()


def test_fifty_parallel_wrong_attempts_from_one_address_test_only_its_limit(transactional_db, analyst, settings):
    settings.SIGN_IN_ADDRESS_FAILURE_LIMIT = 20

    def attempt(number):
        response = Client(REMOTE_ADDR="10.7.7.7").post("/sign-in/", {"username": f"guess{number}", "password": "x"})
        return response.content.decode()

    pages = in_parallel(attempt)

    # Each tested attempt left a failure under its own username: exactly the address's limit of them.
    assert AccountLockout.objects.count() == settings.SIGN_IN_ADDRESS_FAILURE_LIMIT
    assert sum(THROTTLED_WORDS in page for page in pages) >= PARALLEL - settings.SIGN_IN_ADDRESS_FAILURE_LIMIT
    assert all(THROTTLED_WORDS in page or WRONG_PASSWORD_WORDS in page for page in pages)
    refused = Client(REMOTE_ADDR="10.7.7.7").post("/sign-in/", {"username": "analyst", "password": PASSWORD})
    assert THROTTLED_WORDS in refused.content.decode()
    assert not AccountLockout.objects.filter(username="analyst").exists()


# --- the code step ------------------------------------------------------------------------------------


def past_the_password(person, number: int) -> Client:
    client = Client(REMOTE_ADDR=address(number))
    response = client.post("/sign-in/", {"username": person.username, "password": PASSWORD})
    assert response.url.startswith("/sign-in/verify/"), response.url
    return client


def test_fifty_parallel_wrong_codes_test_five_and_lock(transactional_db, analyst):
    device = authenticator(analyst)
    clients = [past_the_password(analyst, number) for number in range(PARALLEL)]
    held_back = past_the_password(analyst, PARALLEL)

    def attempt(number):
        response = clients[number].post("/sign-in/verify/", {"code": "000000"})
        return response.status_code, response.get("Location", "")

    results = in_parallel(attempt)

    lock = AccountLockout.objects.get(username="analyst")
    assert lock.locked_at is not None
    assert lock.failure_count == LIMIT
    outcomes = Counter("wrong code" if status == 200 else location for status, location in results)
    # Four wrong codes were refused on the page; the fifth locked the account, and it and the 45
    # attempts that met the lock were signed out to the sign-in page.
    assert outcomes == {"wrong code": LIMIT - 1, "/sign-in/": PARALLEL - LIMIT + 1}
    assert failed_sign_ins("analyst") == PARALLEL
    # The right code gets nowhere now: a session still at the code step is signed out.
    response = held_back.post("/sign-in/verify/", {"code": current_code(device)}, follow=True)
    assert response.redirect_chain[-1][0] == "/sign-in/"
    assert LOCKED_WORDS in response.content.decode()
    assert held_back.get("/").status_code == 302
    assert not AuditEntry.objects.filter(action=AuditAction.SIGN_IN, username="analyst").exists()


def test_fifty_parallel_right_and_wrong_codes_after_the_lock_all_fail(transactional_db, analyst):
    device = authenticator(analyst)
    clients = [past_the_password(analyst, number) for number in range(PARALLEL)]
    for _ in range(LIMIT):
        services.record_sign_in_failure(username="analyst", address=None)
    right = current_code(device)

    def attempt(number):
        code = right if number % 2 else "000000"
        return clients[number].post("/sign-in/verify/", {"code": code}).get("Location", "")

    locations = in_parallel(attempt)

    assert locations == ["/sign-in/"] * PARALLEL
    assert AccountLockout.objects.get(username="analyst").failure_count == LIMIT
    assert not AuditEntry.objects.filter(action=AuditAction.SIGN_IN, username="analyst").exists()


# --- the token endpoint -------------------------------------------------------------------------------


def ask_for_token(number: int, code: str, *, remote_address: str) -> tuple[int, dict]:
    response = Client(REMOTE_ADDR=remote_address).post(
        "/api/v1/auth/token/",
        {"username": "coordinator", "password": PASSWORD, "code": code},
        content_type="application/json",
    )
    return response.status_code, response.json()


def test_fifty_parallel_token_requests_with_wrong_codes_meet_the_account_limit(
    transactional_db, coordinator, monkeypatch
):
    device = authenticator(coordinator)
    account_limit = 10  # API_SIGN_IN_ACCOUNT_RATE: 10/minute
    assert settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]["sign-in-account"] == f"{account_limit}/minute"
    # From one address; its own limit (tested below) is lifted, so that only the account's counts here.
    monkeypatch.setitem(AddressRateThrottle.THROTTLE_RATES, "sign-in", "1000/minute")

    results = in_parallel(lambda number: ask_for_token(number, "000000", remote_address="10.3.3.3"))

    statuses = Counter(status for status, _body in results)
    # The account's rate limit let exactly its ten through, however many arrived at once.
    assert statuses == {429: PARALLEL - account_limit, 401: account_limit}
    lock = AccountLockout.objects.get(username="coordinator")
    assert lock.locked_at is not None
    assert lock.failure_count == LIMIT
    assert not AuthToken.objects.exists()
    # The right code gets no token: refused by the rate limit now, and by the lock once it has passed.
    status, _body = ask_for_token(0, current_code(device), remote_address="10.3.3.4")
    assert status == 429
    cache.clear()
    status, body = ask_for_token(0, current_code(device), remote_address="10.3.3.4")
    assert status == 401
    assert LOCKED_WORDS in body["errors"]["non_field_errors"][0]
    assert not AuthToken.objects.exists()


def test_fifty_parallel_token_requests_from_fifty_addresses_meet_the_account_limit(transactional_db, coordinator):
    authenticator(coordinator)

    results = in_parallel(lambda number: ask_for_token(number, "000000", remote_address=address(number)))

    statuses = Counter(status for status, _body in results)
    assert statuses[429] == PARALLEL - 10
    assert AccountLockout.objects.get(username="coordinator").failure_count == LIMIT
    assert not AuthToken.objects.exists()


def test_fifty_parallel_token_requests_meet_the_address_limit(transactional_db, coordinator):
    address_limit = 20  # API_SIGN_IN_RATE
    assert settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]["sign-in"] == f"{address_limit}/minute"

    def attempt(number):
        response = Client(REMOTE_ADDR="10.4.4.4").post(
            "/api/v1/auth/token/", {"username": f"guess{number}", "password": "x"}, content_type="application/json"
        )
        return response.status_code

    statuses = Counter(in_parallel(attempt))

    assert statuses == {429: PARALLEL - address_limit, 401: address_limit}
