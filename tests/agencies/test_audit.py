"""The audit trail: what it records of sign-ins and admin changes, that nothing can change or delete
an entry, archiving past retention, and the admins' search and CSV export."""

import csv
import datetime
import io

import pytest
from django.contrib.admin.models import LogEntry
from django.core.exceptions import ImproperlyConfigured
from django.db import DatabaseError, connection, transaction
from django.test import override_settings
from django.utils import timezone
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from agencies import services
from agencies.audit import ItemRef, archive_old_entries, record_audit
from agencies.models import ArchivedAuditEntry, AuditAction, AuditEntry, AuditOutcome, Role
from tests.second_factor import authenticator, current_code, enrolment_invitation

ADDRESS = "203.0.113.7"


def entries(**filters):
    return list(AuditEntry.objects.filter(**filters).order_by("pk"))


def only_entry(**filters) -> AuditEntry:
    found = entries(**filters)
    assert len(found) == 1, found
    return found[0]


# --- Recording -------------------------------------------------------------------------------------


def test_record_audit_is_one_insert_with_person_item_agency_address_and_user_agent(
    analyst, county_eoc, rf, django_assert_num_queries
):
    request = rf.get("/", REMOTE_ADDR=ADDRESS, HTTP_USER_AGENT="Firefox/140")
    request.user = analyst
    with django_assert_num_queries(1):
        entry = record_audit(action=AuditAction.VIEW, item=county_eoc, request=request, detail={"page": "x"})
    entry = AuditEntry.objects.get(pk=entry.pk)
    assert (entry.person, entry.username, entry.agency) == (analyst, "analyst", analyst.agency)
    assert (entry.item_type, entry.item_id, entry.item_label) == ("agencies.agency", county_eoc.pk, "CEOC")
    assert (entry.address, entry.user_agent, entry.outcome) == (ADDRESS, "Firefox/140", "success")
    assert entry.detail == {"page": "x"}


def test_an_entry_written_in_a_transaction_that_rolls_back_is_not_kept(analyst):
    def failing_work():
        with transaction.atomic():
            record_audit(action=AuditAction.PUBLISH, person=analyst)
            raise RuntimeError("the work failed")

    with pytest.raises(RuntimeError):
        failing_work()
    assert not AuditEntry.objects.filter(action=AuditAction.PUBLISH).exists()


def test_an_item_named_by_an_impossible_id_is_kept_as_typed(analyst):
    entry = record_audit(action=AuditAction.VIEW, person=analyst, item=ItemRef.of(AuditEntry, "9" * 30))
    assert (entry.item_id, entry.item_label) == (None, "9" * 30)


# --- Append-only --------------------------------------------------------------------------------------


@pytest.fixture
def entry(analyst):
    return record_audit(action=AuditAction.SIGN_IN, person=analyst)


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE agencies_auditentry SET action = 'view'",
        "DELETE FROM agencies_auditentry",
        "TRUNCATE agencies_auditentry",
        "UPDATE agencies_archivedauditentry SET action = 'view'",
        "DELETE FROM agencies_archivedauditentry",
    ],
)
def test_the_database_refuses_to_change_or_delete_entries(entry, statement):
    ArchivedAuditEntry.objects.create(id=entry.pk + 1000, action=AuditAction.VIEW, username="x")
    with transaction.atomic(), connection.cursor() as cursor:
        # The test database lets Django empty it between tests; here the rule holds as in production.
        cursor.execute("SET LOCAL fusionhub.audit_allow_truncate = 'off'")
        # The foreign keys' checks of this test's inserts run now, or TRUNCATE refuses for that reason.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
            cursor.execute(statement)
    assert AuditEntry.objects.get(pk=entry.pk).action == AuditAction.SIGN_IN


def test_the_orm_cannot_change_or_delete_an_entry_either(entry):
    entry.action = AuditAction.VIEW
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        entry.save()
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditEntry.objects.filter(pk=entry.pk).update(outcome=AuditOutcome.DENIED)
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditEntry.objects.filter(pk=entry.pk).delete()
    assert AuditEntry.objects.get(pk=entry.pk).action == AuditAction.SIGN_IN


# --- Archiving ---------------------------------------------------------------------------------------


def _old_entries(person, *days_ago):
    now = timezone.now()
    return [
        AuditEntry.objects.create(
            at=now - datetime.timedelta(days=days),
            action=AuditAction.VIEW,
            person=person,
            username=person.username,
            agency_id=person.agency_id,
            detail={"days_ago": days},
        )
        for days in days_ago
    ]


def test_archiving_moves_entries_past_retention_and_loses_none(analyst):
    old = _old_entries(analyst, 400, 370, 366)
    recent = _old_entries(analyst, 364, 10, 0)
    moved = archive_old_entries(batch_size=2)
    assert moved == 3
    assert sorted(AuditEntry.objects.values_list("pk", flat=True)) == sorted(e.pk for e in recent)
    archived = {row.pk: row for row in ArchivedAuditEntry.objects.all()}
    assert sorted(archived) == sorted(e.pk for e in old)
    for original in old:
        copy = archived[original.pk]
        assert (copy.at, copy.action, copy.person_id, copy.detail) == (
            original.at,
            original.action,
            original.person_id,
            original.detail,
        )
    # Run again: nothing more to move, nothing doubled.
    assert archive_old_entries() == 0
    assert ArchivedAuditEntry.objects.count() == 3


def test_after_archiving_an_ordinary_delete_is_still_refused(analyst):
    _old_entries(analyst, 400)
    (recent,) = _old_entries(analyst, 1)
    archive_old_entries()
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditEntry.objects.filter(pk=recent.pk).delete()
    assert AuditEntry.objects.filter(pk=recent.pk).exists()


@override_settings(AUDIT_RETENTION_DAYS=730)
def test_retention_follows_the_setting(analyst):
    _old_entries(analyst, 400, 800)
    assert archive_old_entries() == 1


def test_the_archive_task_archives(analyst):
    from agencies.tasks import archive_audit_entries

    _old_entries(analyst, 500)
    assert archive_audit_entries() == 1


def test_a_retention_under_a_year_is_refused(monkeypatch):
    import importlib

    from fusionhub import settings as settings_module

    monkeypatch.setenv("AUDIT_RETENTION_DAYS", "90")
    with pytest.raises(ImproperlyConfigured, match="at least 365"):
        importlib.reload(settings_module)
    monkeypatch.delenv("AUDIT_RETENTION_DAYS")
    importlib.reload(settings_module)


def test_beat_archives_the_audit_trail_daily():
    from django.conf import settings

    assert settings.CELERY_BEAT_SCHEDULE["archive-audit-entries"]["task"] == "agencies.archive_audit_entries"


# --- Sign-in and sign-out --------------------------------------------------------------------------


def test_a_sign_in_is_recorded_once_the_code_is_accepted_and_a_sign_out_too(client, analyst, password):
    device = authenticator(analyst)
    response = client.post("/sign-in/", {"username": "Analyst", "password": password}, REMOTE_ADDR=ADDRESS)
    # The password alone is no sign-in: its own step, the code still to come.
    password_step = only_entry(action=AuditAction.PASSWORD_ACCEPTED)
    assert (password_step.person, password_step.address, password_step.detail) == (
        analyst,
        ADDRESS,
        {"step": "password"},
    )
    assert not AuditEntry.objects.filter(action=AuditAction.SIGN_IN).exists()
    client.post(response.url, {"code": current_code(device)}, REMOTE_ADDR=ADDRESS)
    signed_in = only_entry(action=AuditAction.SIGN_IN)
    assert (signed_in.person, signed_in.outcome, signed_in.address) == (analyst, "success", ADDRESS)
    assert signed_in.detail == {"second_factor": "authenticator"}
    client.post("/sign-out/", REMOTE_ADDR=ADDRESS)
    signed_out = only_entry(action=AuditAction.SIGN_OUT)
    assert (signed_out.person, signed_out.address) == (analyst, ADDRESS)


def test_a_failed_sign_in_is_recorded_for_the_person_and_their_agency(client, analyst):
    client.post("/sign-in/", {"username": "analyst", "password": "wrong-password"}, REMOTE_ADDR=ADDRESS)
    failed = only_entry(action=AuditAction.SIGN_IN_FAILED)
    assert (failed.person, failed.agency, failed.outcome, failed.address) == (
        analyst,
        analyst.agency,
        "failure",
        ADDRESS,
    )


def test_a_wrong_code_is_a_failed_sign_in_and_a_recovery_code_a_sign_in(client, analyst, password):
    authenticator(analyst)
    recovery = StaticDevice.objects.create(user=analyst, name="Recovery codes", confirmed=True)
    StaticToken.objects.create(device=recovery, token="abcd2345")
    response = client.post("/sign-in/", {"username": "analyst", "password": password})
    client.post(response.url, {"code": "000000"}, REMOTE_ADDR=ADDRESS)
    failed = only_entry(action=AuditAction.SIGN_IN_FAILED)
    assert (failed.person, failed.outcome, failed.address) == (analyst, "failure", ADDRESS)
    assert failed.detail == {"username": "analyst", "step": "code", "reason": "wrong_code"}
    assert not AuditEntry.objects.filter(action=AuditAction.SIGN_IN).exists()
    client.post(response.url, {"code": "abcd-2345"})
    assert only_entry(action=AuditAction.SIGN_IN).detail == {"second_factor": "recovery code"}


def test_a_first_sign_in_is_recorded_when_the_new_authenticator_is_confirmed(client, analyst, password):
    _invitation, enrolment_code = enrolment_invitation(analyst)
    response = client.post("/sign-in/", {"username": "analyst", "password": password})
    assert response.url.startswith("/sign-in/enrol/")
    client.post(response.url, {"enrolment_code": enrolment_code})
    client.get(response.url)
    device = TOTPDevice.objects.get(user=analyst, confirmed=False)
    client.post(response.url, {"code": current_code(device)})
    assert only_entry(action=AuditAction.SIGN_IN).detail == {"second_factor": "authenticator", "enrolled": True}


def test_a_failed_sign_in_under_an_unknown_name_keeps_the_name(client, db):
    client.post("/sign-in/", {"username": "Nobody", "password": "wrong-password"}, REMOTE_ADDR=ADDRESS)
    failed = only_entry(action=AuditAction.SIGN_IN_FAILED)
    assert (failed.person, failed.username, failed.agency) == (None, "nobody", None)


def test_a_sign_in_to_a_locked_account_is_recorded_as_such(client, analyst, password):
    for _ in range(5):
        client.post("/sign-in/", {"username": "analyst", "password": "wrong-password"})
    client.post("/sign-in/", {"username": "analyst", "password": password})
    failures = entries(action=AuditAction.SIGN_IN_FAILED)
    assert len(failures) == 6
    assert failures[-1].detail.get("reason") == "account locked"
    assert not AuditEntry.objects.filter(action=AuditAction.SIGN_IN).exists()


def test_api_token_sign_in_and_failures_are_recorded(client, analyst, password):
    device = authenticator(analyst)
    client.post("/api/v1/auth/token/", {"username": "analyst", "password": "nope"}, REMOTE_ADDR=ADDRESS)
    assert only_entry(action=AuditAction.SIGN_IN_FAILED).address == ADDRESS
    wrong = {"username": "analyst", "password": password, "code": "000000"}
    assert client.post("/api/v1/auth/token/", wrong, REMOTE_ADDR=ADDRESS).status_code == 401
    assert entries(action=AuditAction.SIGN_IN_FAILED)[-1].detail == {
        "username": "analyst",
        "step": "code",
        "reason": "wrong_code",
        "via": "api token",
    }
    assert not AuditEntry.objects.filter(action=AuditAction.SIGN_IN).exists()
    right = {"username": "analyst", "password": password, "code": current_code(device)}
    response = client.post("/api/v1/auth/token/", right, REMOTE_ADDR=ADDRESS)
    assert response.status_code == 200
    signed_in = only_entry(action=AuditAction.SIGN_IN)
    assert (signed_in.person, signed_in.detail, signed_in.address) == (analyst, {"via": "api token"}, ADDRESS)


# --- Admin changes -----------------------------------------------------------------------------------


def test_people_roles_agencies_and_unlocks_changed_through_the_services_are_recorded(
    agency_admin, system_admin, county_eoc, coordinator
):
    person = services.create_person(by=agency_admin, username="new.person", roles={Role.PARTNER}, first_name="Ann")
    added = only_entry(action=AuditAction.PERSON_ADDED)
    assert (added.person, added.item_id, added.item_label, added.agency) == (
        agency_admin,
        person.pk,
        "new.person",
        county_eoc,
    )
    services.update_person(person=person, by=agency_admin, is_law_enforcement=True, title="Deputy")
    changed = only_entry(action=AuditAction.PERSON_CHANGED)
    assert changed.detail == {"fields": ["is_law_enforcement", "title"], "is_law_enforcement": True}
    services.set_roles(person=coordinator, roles={Role.EOC_COORDINATOR, Role.AGENCY_ADMIN}, by=system_admin)
    roles = entries(action=AuditAction.ROLES_CHANGED, item_id=coordinator.pk)[-1]
    assert roles.detail == {"from": ["EOC coordinator"], "to": ["EOC coordinator", "Agency admin"]}
    services.set_agency_active(agency=county_eoc, is_active=False, by=system_admin)
    assert only_entry(action=AuditAction.AGENCY_DEACTIVATED).item_label == "CEOC"
    services.unlock_account(person=coordinator, by=system_admin)
    assert only_entry(action=AuditAction.ACCOUNT_UNLOCKED).item_id == coordinator.pk


def test_an_admins_reset_of_a_second_factor_is_recorded(client, agency_admin, coordinator):
    authenticator(coordinator)
    services.reset_second_factor(person=coordinator, by=agency_admin)
    reset = only_entry(action=AuditAction.SECOND_FACTOR_RESET)
    assert (reset.person, reset.item_id, reset.item_label, reset.agency) == (
        agency_admin,
        coordinator.pk,
        "coordinator",
        agency_admin.agency,
    )


def test_a_reset_from_the_admin_list_is_recorded_with_the_admin(client, system_admin, coordinator):
    authenticator(coordinator)
    client.force_login(system_admin)
    response = client.post(
        "/admin/agencies/user/",
        {"action": "reset_second_factors", "_selected_action": [coordinator.pk]},
        REMOTE_ADDR=ADDRESS,
    )
    assert response.status_code == 302
    reset = only_entry(action=AuditAction.SECOND_FACTOR_RESET)
    assert (reset.person, reset.item_id) == (system_admin, coordinator.pk)
    assert not TOTPDevice.objects.filter(user=coordinator).exists()


def test_a_refused_reset_records_nothing(agency_admin, outsider):
    with pytest.raises(Exception, match="admin of this person"):
        services.reset_second_factor(person=outsider, by=agency_admin)
    assert not AuditEntry.objects.filter(action=AuditAction.SECOND_FACTOR_RESET).exists()


def test_a_refused_admin_change_records_nothing_as_done(agency_admin, outsider):
    with pytest.raises(Exception, match="admin of this person"):
        services.update_person(person=outsider, by=agency_admin, title="Chief")
    assert not AuditEntry.objects.filter(action=AuditAction.PERSON_CHANGED).exists()


def test_every_admin_save_is_recorded_with_the_admin_and_address(client, sign_in, system_admin, county, password):
    sign_in(system_admin)
    response = client.post(
        f"/admin/agencies/jurisdiction/{county.pk}/change/",
        {"name": "Wake County (NC)", "kind": "county", "fips_code": "37183", "parent": county.parent_id},
        REMOTE_ADDR=ADDRESS,
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    change = only_entry(action=AuditAction.ADMIN_CHANGE)
    assert (change.person, change.item_type, change.item_id, change.address) == (
        system_admin,
        "agencies.jurisdiction",
        county.pk,
        ADDRESS,
    )
    assert change.detail["change"] == "changed"
    assert "Name" in change.detail["message"]
    assert LogEntry.objects.count() == 1


def test_every_registered_admin_records_its_changes():
    from django.contrib import admin

    from agencies.admin_site import AuditedAdminMixin

    assert all(isinstance(model_admin, AuditedAdminMixin) for model_admin in admin.site._registry.values())


def test_the_audit_trail_in_the_admin_is_read_only_for_system_admins(client, sign_in, system_admin, password, entry):
    sign_in(system_admin)
    assert client.get("/admin/agencies/auditentry/").status_code == 200
    assert client.get(f"/admin/agencies/auditentry/{entry.pk}/change/").status_code == 200
    assert client.post(f"/admin/agencies/auditentry/{entry.pk}/change/", {"action": "view"}).status_code == 403
    assert client.get(f"/admin/agencies/auditentry/{entry.pk}/delete/").status_code == 403
    assert client.get("/admin/agencies/auditentry/add/").status_code == 403
    assert AuditEntry.objects.get(pk=entry.pk).action == AuditAction.SIGN_IN


# --- The audit trail page and its export ----------------------------------------------------------------


@pytest.fixture
def trail(analyst, coordinator, agency_admin, outsider):
    """Entries of people in three agencies, on two days."""
    yesterday = timezone.now() - datetime.timedelta(days=1)
    made = {
        "analyst_view": record_audit(action=AuditAction.VIEW, person=analyst, item=ItemRef("sharing.x", 7, "SFC-1")),
        "coordinator_view": record_audit(
            action=AuditAction.VIEW, person=coordinator, item=ItemRef("sharing.x", 7, "SFC-1")
        ),
        "coordinator_download": record_audit(
            action=AuditAction.DOWNLOAD, person=coordinator, item=ItemRef("sharing.x", 8, "SFC-2")
        ),
        "outsider_denied": record_audit(
            action=AuditAction.VIEW,
            person=outsider,
            item=ItemRef("sharing.x", 7, ""),
            outcome=AuditOutcome.DENIED,
        ),
    }
    made["coordinator_old"] = AuditEntry.objects.create(
        at=yesterday,
        action=AuditAction.SIGN_IN,
        person=coordinator,
        username="coordinator",
        agency_id=coordinator.agency_id,
    )
    return made


def rows_of(response) -> int:
    return response.content.decode().count('data-testid="audit-row"')


def shown_ids(response) -> set[int]:
    return {entry.pk for entry in response.context["entries"]}


def test_people_who_are_not_admins_cannot_read_the_audit_trail(client, sign_in, analyst, password):
    sign_in(analyst)
    assert client.get("/audit/").status_code == 403
    assert client.get("/audit/export.csv").status_code == 403


def test_a_system_admin_sees_every_agencys_entries_and_searches_them(client, sign_in, system_admin, password, trail):
    sign_in(system_admin)
    response = client.get("/audit/")
    assert {e.pk for e in trail.values()} <= shown_ids(response)
    assert "Audit trail" in response.content.decode()
    assert shown_ids(client.get("/audit/", {"person": "Coordinator"})) == {
        trail["coordinator_view"].pk,
        trail["coordinator_download"].pk,
        trail["coordinator_old"].pk,
    }
    assert shown_ids(client.get("/audit/", {"item": "sfc-1"})) == {
        trail["analyst_view"].pk,
        trail["coordinator_view"].pk,
    }
    assert shown_ids(client.get("/audit/", {"action": "download"})) == {trail["coordinator_download"].pk}
    assert shown_ids(client.get("/audit/", {"outcome": "denied"})) == {trail["outsider_denied"].pk}
    yesterday = timezone.localdate() - datetime.timedelta(days=1)
    assert shown_ids(client.get("/audit/", {"date_from": yesterday, "date_to": yesterday})) == {
        trail["coordinator_old"].pk
    }


def test_an_agency_admin_sees_only_their_own_agencys_people(client, sign_in, agency_admin, password, trail):
    sign_in(agency_admin)
    shown = shown_ids(client.get("/audit/"))
    assert trail["coordinator_view"].pk in shown
    assert trail["analyst_view"].pk not in shown
    assert trail["outsider_denied"].pk not in shown
    assert shown_ids(client.get("/audit/", {"person": "analyst"})) == set()


def test_bad_filters_are_explained_and_narrow_nothing(client, sign_in, system_admin, password, trail):
    sign_in(system_admin)
    today = timezone.localdate()
    response = client.get(
        "/audit/", {"date_from": today, "date_to": today - datetime.timedelta(days=3), "action": "bogus"}
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert "The end of the date range must not come before its start." in page
    assert "Select a valid choice" in page
    export = client.get("/audit/export.csv", {"date_from": "not-a-date"})
    assert export.status_code == 400
    assert "Enter a valid date" in export.content.decode()


def test_reading_the_audit_trail_is_itself_recorded(client, sign_in, system_admin, password):
    sign_in(system_admin)
    client.get("/audit/", {"person": "analyst"}, REMOTE_ADDR=ADDRESS)
    search = only_entry(action=AuditAction.AUDIT_SEARCH)
    assert (search.person, search.address, search.detail["person"]) == (system_admin, ADDRESS, "analyst")
    b"".join(client.get("/audit/export.csv", {"action": "view"}).streaming_content)
    assert only_entry(action=AuditAction.AUDIT_EXPORT).detail == {"action": "view"}


def test_the_page_is_keyset_paginated(client, sign_in, system_admin, password, analyst):
    made = [record_audit(action=AuditAction.VIEW, person=analyst) for _ in range(60)]
    sign_in(system_admin)
    first = client.get("/audit/", {"person": "analyst"})
    assert rows_of(first) == 50
    older = client.get("/audit/", {"person": "analyst", "before": first.context["next_before"]})
    assert rows_of(older) == 10
    assert shown_ids(first) | shown_ids(older) == {e.pk for e in made}


@pytest.mark.parametrize("count", [3, 60])
def test_the_page_costs_a_fixed_number_of_queries(
    count, client, sign_in, system_admin, password, analyst, coordinator, django_assert_max_num_queries
):
    for number in range(count):
        record_audit(
            action=AuditAction.VIEW,
            person=analyst if number % 2 else coordinator,
            item=ItemRef("sharing.x", number, f"SFC-{number}"),
        )
    sign_in(system_admin)
    client.get("/audit/")
    with django_assert_max_num_queries(5):
        response = client.get("/audit/")
    # The entries, the admin's sign-in (its password step and its code) and their first look at the
    # page (this look is recorded after it).
    assert rows_of(response) == min(count + 3, 50)


def test_the_csv_export_has_the_filtered_entries(client, sign_in, agency_admin, password, trail, coordinator):
    sign_in(agency_admin)
    response = client.get("/audit/export.csv", {"person": "coordinator"})
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="fusionhub-audit-')
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert [int(row["id"]) for row in rows] == [
        trail["coordinator_old"].pk,
        trail["coordinator_download"].pk,
        trail["coordinator_view"].pk,
    ]
    download = rows[1]
    assert download["action"] == "download"
    assert download["username"] == "coordinator"
    assert download["agency"] == "CEOC"
    assert (download["item type"], download["item id"], download["item"]) == ("sharing.x", "8", "SFC-2")
    assert download["outcome"] == "success"


def test_the_csv_export_never_hands_a_spreadsheet_a_formula(client, sign_in, system_admin, password, analyst):
    record_audit(action=AuditAction.SEARCH, person=analyst, detail={"q": "x"})
    record_audit(action=AuditAction.SIGN_IN_FAILED, detail={"username": "=cmd|calc"})
    sign_in(system_admin)
    text = b"".join(client.get("/audit/export.csv").streaming_content).decode()
    assert ",=cmd" not in text
    assert "'=cmd|calc" in text


def test_admins_find_the_audit_trail_in_the_navigation(client, sign_in, agency_admin, analyst, password):
    sign_in(agency_admin)
    assert 'href="/audit/"' in client.get("/").content.decode()
    client.post("/sign-out/")
    sign_in(analyst)
    assert 'href="/audit/"' not in client.get("/").content.decode()


def test_a_person_with_audit_entries_cannot_be_deleted(analyst, entry):
    from django.db.models import ProtectedError

    with pytest.raises(ProtectedError):
        analyst.delete()


def test_a_sign_in_refused_for_too_many_failures_from_the_address_is_recorded(client, analyst, password, settings):
    settings.SIGN_IN_ADDRESS_FAILURE_LIMIT = 1
    client.post("/sign-in/", {"username": "someone", "password": "wrong-password"}, REMOTE_ADDR=ADDRESS)
    client.post("/sign-in/", {"username": "analyst", "password": password}, REMOTE_ADDR=ADDRESS)
    refused = entries(action=AuditAction.SIGN_IN_FAILED, person=analyst)
    assert [entry.detail.get("reason") for entry in refused] == ["too many failures from this address"]
    assert not AuditEntry.objects.filter(action=AuditAction.SIGN_IN).exists()
