"""The liaison admin: routing rules saved through the services, with their messages on the fields;
relays read only; nothing of the fusion center's for an EOC's admin."""

import pytest

from agencies.models import Role
from liaison.models import RoutingRule
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def center_admin(fusion_center):
    return UserFactory(username="center.admin", agency=fusion_center, roles=[Role.AGENCY_ADMIN], is_staff=True)


def rule_form(fusion_center, **overrides):
    data = {
        "name": "Bulletins to the county",
        "fusion_center": fusion_center.pk,
        "direction": "to_eoc",
        "product_kinds": "",
        "tags": "flood,power",
        "minimum_priority": "routine",
        "mode": "proposed",
        "when": "always",
        "is_active": "on",
    }
    data.update(overrides)
    return data


def test_a_rule_without_a_target_is_refused_in_the_admin_with_the_services_message(client, center_admin, fusion_center):
    client.force_login(center_admin)
    response = client.post("/admin/liaison/routingrule/add/", rule_form(fusion_center))
    assert response.status_code == 200
    assert "Choose the target EOC, or a jurisdiction whose EOCs the rule covers." in response.content.decode()
    assert not RoutingRule.objects.exists()


def test_the_centers_admin_adds_and_changes_a_rule_through_the_services(
    client, center_admin, fusion_center, county_eoc
):
    client.force_login(center_admin)
    response = client.post("/admin/liaison/routingrule/add/", rule_form(fusion_center, target_eoc=county_eoc.pk))
    assert response.status_code == 302
    rule = RoutingRule.objects.get()
    assert rule.created_by == center_admin
    assert rule.tags == ["flood", "power"]
    response = client.post(
        f"/admin/liaison/routingrule/{rule.pk}/change/", rule_form(fusion_center, target_eoc=county_eoc.pk, name="New")
    )
    assert response.status_code == 302
    rule.refresh_from_db()
    assert rule.name == "New"


def test_an_eoc_admin_finds_no_liaison_rows(client, agency_admin, rule):
    agency_admin.is_staff = True
    agency_admin.save()
    kept = rule()
    client.force_login(agency_admin)
    assert client.get("/admin/liaison/routingrule/").status_code == 403
    assert client.get(f"/admin/liaison/routingrule/{kept.pk}/change/").status_code == 403
