"""People as fixtures in plain words, as the users would name them, and shared helpers."""

import os
import sys

import pytest

from agencies.models import Agency, Jurisdiction, Role
from tests.factories import PASSWORD, AgencyFactory, JurisdictionFactory, UserFactory
from tests.second_factor import VerifiedAsyncClient, VerifiedClient, authenticator, current_code

# The `worker` fixture: a real Celery worker process.
pytest_plugins = ["tests.worker"]


@pytest.fixture(autouse=True, scope="session")
def _fast_password_hashing():
    """Tests sign in hundreds of times; the production hasher's cost is not what they test."""
    from django.conf import settings

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """The test database may be emptied between transactional tests (Django's flush truncates every
    table); the audit trail's trigger refuses TRUNCATE everywhere else (agencies migration 0004)."""
    from django.db import connection

    with django_db_blocker.unblock():
        name = connection.settings_dict["NAME"]
        with connection.cursor() as cursor:
            cursor.execute(f"ALTER DATABASE \"{name}\" SET fusionhub.audit_allow_truncate = 'on'")
        # The setting applies to sessions that start from now on.
        connection.close()


@pytest.fixture
def state(db):
    return JurisdictionFactory(name="North Carolina", kind=Jurisdiction.Kind.STATE, fips_code="37")


@pytest.fixture
def county(state):
    return JurisdictionFactory(name="Wake County", fips_code="37183", parent=state)


@pytest.fixture
def other_county(state):
    return JurisdictionFactory(name="Mecklenburg County", fips_code="37119", parent=state)


@pytest.fixture
def fusion_center(state):
    return AgencyFactory(
        name="State Fusion Center",
        acronym="SFC",
        level=Agency.Level.STATE,
        kind=Agency.Kind.FUSION_CENTER,
        discipline=Agency.Discipline.HOMELAND_SECURITY,
        jurisdiction=state,
    )


@pytest.fixture
def county_eoc(county):
    return AgencyFactory(
        name="County EOC",
        acronym="CEOC",
        kind=Agency.Kind.EOC,
        discipline=Agency.Discipline.EMERGENCY_MANAGEMENT,
        jurisdiction=county,
    )


@pytest.fixture
def outside_agency(other_county):
    return AgencyFactory(name="Outside Police", acronym="OPD", jurisdiction=other_county)


@pytest.fixture
def analyst(fusion_center):
    return UserFactory(username="analyst", agency=fusion_center, roles=[Role.ANALYST], is_law_enforcement=True)


@pytest.fixture
def supervisor(fusion_center):
    return UserFactory(
        username="supervisor", agency=fusion_center, roles=[Role.SUPERVISOR, Role.ANALYST], is_law_enforcement=True
    )


@pytest.fixture
def liaison_officer(fusion_center):
    return UserFactory(username="liaison", agency=fusion_center, roles=[Role.LIAISON_OFFICER], is_law_enforcement=True)


@pytest.fixture
def coordinator(county_eoc):
    return UserFactory(username="coordinator", agency=county_eoc, roles=[Role.EOC_COORDINATOR])


@pytest.fixture
def agency_admin(county_eoc):
    return UserFactory(username="eoc.admin", agency=county_eoc, roles=[Role.AGENCY_ADMIN])


@pytest.fixture
def outsider(outside_agency):
    return UserFactory(username="outsider", agency=outside_agency, roles=[Role.PARTNER], is_law_enforcement=True)


@pytest.fixture
def system_admin(fusion_center):
    return UserFactory(username="sysadmin", agency=fusion_center, roles=[Role.SYSTEM_ADMIN])


@pytest.fixture
def password():
    return PASSWORD


@pytest.fixture
def client():
    """The test client; its force_login signs in with both factors (tests.second_factor)."""
    return VerifiedClient()


@pytest.fixture
def async_client():
    return VerifiedAsyncClient()


@pytest.fixture
def sign_in(client):
    """Sign a person in through the real sign-in form and its second step (their authenticator's
    current code; enrolled first if they have none) and return the client."""

    def _sign_in(person, password=PASSWORD):
        device = authenticator(person)
        response = client.post("/sign-in/", {"username": person.username, "password": password})
        assert response.status_code == 302, response.content.decode()[:500]
        assert response.url.startswith("/sign-in/verify/"), response.url
        response = client.post(response.url, {"code": current_code(device)})
        assert response.status_code == 302, response.content.decode()[:500]
        return client

    return _sign_in


@pytest.fixture(autouse=True)
def _clear_cache():
    """Each test starts with an empty cache (sign-in throttles, sessions): the test Redis database."""
    from django.core.cache import cache

    cache.clear()
    return


def pytest_sessionfinish(session, exitstatus):
    session.config._fusionhub_exit_status = int(exitstatus)


def _show_threads_left():
    import threading
    import traceback

    frames = sys._current_frames()
    for thread in threading.enumerate():
        if thread is threading.main_thread():
            continue
        print(f"\n--- thread left: {thread.name} daemon={thread.daemon}", file=sys.stderr)
        frame = frames.get(thread.ident)
        if frame is not None:
            traceback.print_stack(frame, file=sys.stderr)


def pytest_unconfigure(config):
    """End the run once pytest is done, with its exit status: a thread left behind must not keep a CI
    job waiting after the last test. (The one found: a feed page on pytest-django's WSGI live server
    opened an event stream, which Django buffered for ten minutes in a thread that interpreter exit
    waited for; streams now answer 204 under WSGI.) PYTEST_SHOW_THREADS=1 lists the threads left."""
    status = getattr(config, "_fusionhub_exit_status", None)
    if os.environ.get("PYTEST_SHOW_THREADS") == "1":
        _show_threads_left()
    if status is not None and os.environ.get("PYTEST_KEEP_THREADS") != "1":
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(status)
