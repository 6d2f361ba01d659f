"""An agency's sign-in rules: its admin may make sign-in stricter for its people (a shorter idle sign-out,
a new sign-in sooner, the authenticator's code only), never looser than the site; each change audited."""

import time

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken

from agencies import services
from agencies.middleware import LAST_SEEN_AT, SIGNED_IN_AT
from agencies.models import AccountLockout, Agency, AuditAction, AuditEntry
from tests.factories import PASSWORD
from tests.second_factor import authenticator, current_code

RULES_PAGE_WORDS = "An agency may be stricter for its people, never looser."


def rules_form(agency, **rules):
    """What the agency admin's change page posts: the fields they may edit."""
    data = {
        "email": agency.email,
        "phone": agency.phone,
        "idle_timeout_minutes": "",
        "session_max_hours": "",
        "accepts_recovery_codes": "on",
    }
    data.update({name: value for name, value in rules.items() if value is not None})
    if rules.get("accepts_recovery_codes") is False:
        data.pop("accepts_recovery_codes")
    return data


def save_rules(client, agency, **rules):
    return client.post(f"/admin/agencies/agency/{agency.pk}/change/", rules_form(agency, **rules))


def set_rules(agency, by, **rules):
    values = {"idle_timeout_minutes": None, "session_max_hours": None, "accepts_recovery_codes": True, **rules}
    return services.set_agency_sign_in_rules(agency=agency, by=by, **values)


# --- the admin's page ---------------------------------------------------------------------------------


def test_agency_admin_sets_a_shorter_idle_sign_out_and_the_change_is_audited(client, county_eoc, agency_admin):
    client.force_login(agency_admin)
    page = client.get(f"/admin/agencies/agency/{county_eoc.pk}/change/").content.decode()
    assert "Sign-in rules" in page
    assert RULES_PAGE_WORDS in page
    assert "30 minutes without activity" in page

    response = save_rules(client, county_eoc, idle_timeout_minutes="10", accepts_recovery_codes=False)

    assert response.status_code == 302
    county_eoc.refresh_from_db()
    assert county_eoc.idle_timeout_minutes == 10
    assert county_eoc.accepts_recovery_codes is False
    entry = AuditEntry.objects.get(action=AuditAction.AGENCY_SIGN_IN_RULES_CHANGED)
    assert (entry.person, entry.item_label, entry.agency_id) == (agency_admin, "CEOC", county_eoc.pk)
    assert entry.detail == {
        "fields": ["idle_timeout_minutes", "accepts_recovery_codes"],
        "from": {"idle_timeout_minutes": None, "accepts_recovery_codes": True},
        "to": {"idle_timeout_minutes": 10, "accepts_recovery_codes": False},
    }


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("idle_timeout_minutes", "45", "At most 30 minutes, the site&#x27;s own limit"),
        ("idle_timeout_minutes", "2", "Allow at least 5 minutes without activity."),
        ("session_max_hours", "24", "At most 12 hours, the site&#x27;s own limit"),
        ("session_max_hours", "0", "Allow at least 1 hour between sign-ins."),
    ],
)
def test_a_rule_looser_than_the_site_is_refused_on_its_field(client, county_eoc, agency_admin, field, value, message):
    client.force_login(agency_admin)

    response = save_rules(client, county_eoc, **{field: value})

    assert response.status_code == 200
    page = response.content.decode()
    assert message in page
    county_eoc.refresh_from_db()
    assert (county_eoc.idle_timeout_minutes, county_eoc.session_max_hours) == (None, None)
    assert not AuditEntry.objects.filter(action=AuditAction.AGENCY_SIGN_IN_RULES_CHANGED).exists()


def test_the_limit_follows_the_sites_own_setting(county_eoc, agency_admin, settings):
    settings.SESSION_IDLE_TIMEOUT = settings.SESSION_IDLE_TIMEOUT / 2  # a site stricter than CJIS asks

    with pytest.raises(ValidationError) as refused:
        set_rules(county_eoc, agency_admin, idle_timeout_minutes=20)

    assert refused.value.message_dict == {
        "idle_timeout_minutes": [
            "At most 15 minutes, the site's own limit: an agency can make sign-in stricter, never looser. "
            "Leave it empty to use the site's limit."
        ]
    }


def test_saving_the_same_rules_records_no_change(client, county_eoc, agency_admin):
    set_rules(county_eoc, agency_admin, idle_timeout_minutes=10)
    client.force_login(agency_admin)

    save_rules(client, county_eoc, idle_timeout_minutes="10")

    assert AuditEntry.objects.filter(action=AuditAction.AGENCY_SIGN_IN_RULES_CHANGED).count() == 1


def test_only_the_agencys_admin_or_a_system_admin_sets_its_rules(county_eoc, fusion_center, agency_admin, system_admin):
    with pytest.raises(PermissionDenied):
        set_rules(fusion_center, agency_admin, idle_timeout_minutes=10)

    set_rules(county_eoc, system_admin, session_max_hours=8)

    county_eoc.refresh_from_db()
    assert county_eoc.session_max_hours == 8
    fusion_center.refresh_from_db()
    assert fusion_center.idle_timeout_minutes is None


def test_the_database_refuses_an_idle_sign_out_under_five_minutes(county_eoc):
    from django.db import IntegrityError, transaction

    with pytest.raises(IntegrityError), transaction.atomic():
        Agency.objects.filter(pk=county_eoc.pk).update(idle_timeout_minutes=1)


# --- enforced -----------------------------------------------------------------------------------------


def idle_for(client, minutes: float) -> None:
    session = client.session
    session[LAST_SEEN_AT] = time.time() - minutes * 60
    session.save()


def test_a_shorter_idle_sign_out_signs_the_agencys_people_out_sooner(
    client, sign_in, county_eoc, coordinator, analyst, agency_admin
):
    set_rules(county_eoc, agency_admin, idle_timeout_minutes=10)
    sign_in(coordinator)
    idle_for(client, 11)

    response = client.get("/")

    assert response.status_code == 302
    assert "signed out after 10 minutes without activity" in client.get(response.url).content.decode()
    # Someone of another agency keeps the site's 30 minutes.
    sign_in(analyst)
    idle_for(client, 11)
    assert client.get("/").status_code == 200


def test_the_shorter_idle_sign_out_holds_on_the_code_step(client, county_eoc, coordinator, agency_admin):
    set_rules(county_eoc, agency_admin, idle_timeout_minutes=5)
    authenticator(coordinator)
    client.post("/sign-in/", {"username": "coordinator", "password": PASSWORD})
    client.get("/sign-in/verify/")
    idle_for(client, 6)

    response = client.get("/sign-in/verify/")

    assert response.url.startswith("/sign-in/")
    assert not response.url.startswith("/sign-in/verify/")
    assert "signed out after 5 minutes without activity" in client.get(response.url).content.decode()


def test_a_stored_value_looser_than_the_site_is_never_applied(client, sign_in, county_eoc, coordinator):
    # Whatever the row holds (an older site setting, a hand edit), the site's limit still holds.
    Agency.objects.filter(pk=county_eoc.pk).update(idle_timeout_minutes=90, session_max_hours=48)
    sign_in(coordinator)
    idle_for(client, 31)

    response = client.get("/")

    assert response.status_code == 302
    assert "signed out after 30 minutes without activity" in client.get(response.url).content.decode()


def test_a_new_sign_in_is_needed_sooner(client, sign_in, county_eoc, coordinator, agency_admin):
    set_rules(county_eoc, agency_admin, session_max_hours=4)
    sign_in(coordinator)
    session = client.session
    session[SIGNED_IN_AT] = time.time() - 4 * 3600 - 60
    session.save()

    response = client.get("/")

    assert response.status_code == 302
    assert "Your session reached its 4-hour limit" in client.get(response.url).content.decode()


def recovery_code_for(person) -> str:
    authenticator(person)
    device = StaticDevice.objects.create(user=person, name="Recovery codes", confirmed=True)
    StaticToken.objects.create(device=device, token="abcd2345")
    return "abcd-2345"


def test_an_agency_that_refuses_recovery_codes_signs_in_with_the_app_only(
    client, county_eoc, coordinator, agency_admin
):
    code = recovery_code_for(coordinator)
    set_rules(county_eoc, agency_admin, accepts_recovery_codes=False)
    client.post("/sign-in/", {"username": "coordinator", "password": PASSWORD})
    page = client.get("/sign-in/verify/").content.decode()
    assert "Your agency accepts only the code of your authenticator app" in page

    response = client.post("/sign-in/verify/", {"code": code})

    assert response.status_code == 200
    assert "recovery codes do not sign in" in response.content.decode()
    assert client.get("/").status_code == 302
    assert StaticToken.objects.filter(device__user=coordinator).count() == 1  # not spent
    # A refused recovery code is a failed attempt: it counts towards the lock-out and is audited.
    assert AccountLockout.objects.get(username="coordinator").failure_count == 1
    failed = AuditEntry.objects.get(action=AuditAction.SIGN_IN_FAILED)
    assert failed.detail["reason"] == "recovery_code_refused"
    # The authenticator's code still signs in.
    assert client.post("/sign-in/verify/", {"code": current_code(authenticator(coordinator))}).url == "/"


def test_recovery_codes_refused_by_the_agency_get_no_api_token(client, county_eoc, coordinator, agency_admin):
    code = recovery_code_for(coordinator)
    set_rules(county_eoc, agency_admin, accepts_recovery_codes=False)

    response = client.post(
        "/api/v1/auth/token/",
        {"username": "coordinator", "password": PASSWORD, "code": code},
        content_type="application/json",
    )

    assert response.status_code == 401
    assert "recovery codes do not sign in" in response.json()["errors"]["code"][0]


def test_recovery_codes_sign_in_where_the_agency_accepts_them(client, county_eoc, coordinator):
    code = recovery_code_for(coordinator)
    client.post("/sign-in/", {"username": "coordinator", "password": PASSWORD})

    assert client.post("/sign-in/verify/", {"code": code}).url == "/"
