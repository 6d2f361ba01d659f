"""The Django admin is scoped: an agency admin manages only their own agency's people and cannot escalate."""

from agencies.models import Role, User
from tests.factories import UserFactory


def test_agency_admin_lists_only_their_own_agency(client, agency_admin, coordinator, analyst):
    client.force_login(agency_admin)
    page = client.get("/admin/agencies/user/").content.decode()
    assert coordinator.username in page
    assert analyst.username not in page


def test_agency_admin_cannot_open_a_person_of_another_agency(client, agency_admin, analyst):
    client.force_login(agency_admin)
    response = client.get(f"/admin/agencies/user/{analyst.pk}/change/")
    assert response.status_code in (302, 403, 404)
    assert analyst.email not in response.content.decode()


def test_agency_admin_cannot_grant_system_admin(client, agency_admin, coordinator):
    client.force_login(agency_admin)
    page = client.get(f"/admin/agencies/user/{coordinator.pk}/change/").content.decode()
    assert "System admin" not in page
    response = client.post(
        f"/admin/agencies/user/{coordinator.pk}/change/",
        {
            "username": coordinator.username,
            "first_name": coordinator.first_name,
            "last_name": coordinator.last_name,
            "email": coordinator.email,
            "agency": coordinator.agency_id,
            "roles": [Role.EOC_COORDINATOR, Role.SYSTEM_ADMIN],
            "is_active": "on",
            "is_superuser": "on",
            "is_staff": "on",
        },
    )
    coordinator.refresh_from_db()
    assert response.status_code == 200  # redisplayed: "System admin" is not a valid choice
    assert not coordinator.is_superuser
    assert not coordinator.is_system_admin


def test_agency_admin_cannot_escalate_themselves(client, agency_admin):
    client.force_login(agency_admin)
    client.post(
        f"/admin/agencies/user/{agency_admin.pk}/change/",
        {
            "username": agency_admin.username,
            "email": agency_admin.email,
            "agency": agency_admin.agency_id,
            "roles": [Role.AGENCY_ADMIN, Role.SYSTEM_ADMIN],
            "is_active": "on",
            "is_superuser": "on",
        },
    )
    agency_admin.refresh_from_db()
    assert not agency_admin.is_superuser
    assert Role.SYSTEM_ADMIN not in User.objects.get(pk=agency_admin.pk).roles


def test_agency_admin_cannot_move_a_person_into_another_agency(client, agency_admin, coordinator, fusion_center):
    client.force_login(agency_admin)
    client.post(
        f"/admin/agencies/user/{coordinator.pk}/change/",
        {
            "username": coordinator.username,
            "email": coordinator.email,
            "agency": fusion_center.pk,
            "roles": [Role.EOC_COORDINATOR],
            "is_active": "on",
        },
    )
    coordinator.refresh_from_db()
    assert coordinator.agency_id == agency_admin.agency_id


def test_agency_admin_sets_roles_and_law_enforcement_status_of_their_people(client, agency_admin, coordinator):
    client.force_login(agency_admin)
    response = client.post(
        f"/admin/agencies/user/{coordinator.pk}/change/",
        {
            "username": coordinator.username,
            "first_name": coordinator.first_name,
            "last_name": coordinator.last_name,
            "email": coordinator.email,
            "agency": coordinator.agency_id,
            "roles": [Role.EOC_COORDINATOR, Role.LIAISON_OFFICER],
            "is_law_enforcement": "on",
            "is_active": "on",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    person = User.objects.get(pk=coordinator.pk)
    assert person.is_law_enforcement
    assert person.roles == {Role.EOC_COORDINATOR, Role.LIAISON_OFFICER}


def test_agency_admin_sees_only_their_own_agency_in_the_agency_list(client, agency_admin, fusion_center):
    client.force_login(agency_admin)
    page = client.get("/admin/agencies/agency/").content.decode()
    assert agency_admin.agency.name in page
    assert fusion_center.name not in page


def test_system_admin_sees_every_agency_and_person(client, system_admin, coordinator, outsider):
    client.force_login(system_admin)
    people = client.get("/admin/agencies/user/").content.decode()
    assert coordinator.username in people
    assert outsider.username in people


def test_system_admin_deactivates_an_agency_from_the_admin(client, system_admin, coordinator):
    client.force_login(system_admin)
    response = client.post(
        "/admin/agencies/agency/",
        {"action": "deactivate", "_selected_action": [coordinator.agency_id]},
    )
    assert response.status_code == 302
    coordinator.agency.refresh_from_db()
    assert not coordinator.agency.is_active
    assert User.objects.filter(pk=coordinator.pk).exists()


def test_partner_cannot_enter_the_admin(client, outsider):
    client.force_login(outsider)
    response = client.get("/admin/")
    assert response.status_code == 302
    assert "/admin/login/" in response.url


def test_agency_admin_adds_a_person_to_their_agency(client, agency_admin):
    client.force_login(agency_admin)
    response = client.post(
        "/admin/agencies/user/add/",
        {
            "username": "New.Person",
            "usable_password": "true",
            "password1": "a-long-enough-passphrase-42",
            "password2": "a-long-enough-passphrase-42",
            "agency": agency_admin.agency_id,
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    person = User.objects.get(username="new.person")
    assert person.agency_id == agency_admin.agency_id


def test_usernames_are_unique_whatever_their_case(db, analyst):
    import pytest
    from django.db import IntegrityError

    with pytest.raises(IntegrityError):
        UserFactory(username="ANALYST", agency=analyst.agency)
