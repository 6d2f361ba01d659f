"""`manage.py seed_demo`: a real state's region, people of every role, idempotent, refused with DEBUG off."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django_otp.plugins.otp_totp.models import TOTPDevice

from agencies.models import Agency, Jurisdiction, Role, User
from dissemination.models import DomainEvent
from eoc.models import ActivationChange, EocStatus, FeedEntry, Incident
from liaison.models import DutyContact, LiaisonAssignment, RoutingRule
from sharing.models import ThreatProduct


def seed(settings) -> str:
    settings.DEBUG = True
    out = StringIO()
    call_command("seed_demo", stdout=out)
    return out.getvalue()


def snapshot():
    return (
        sorted(Jurisdiction.objects.values_list("fips_code", "name", "parent__fips_code", "path")),
        sorted(Agency.objects.values_list("acronym", "name", "kind", "jurisdiction__fips_code", "is_active")),
        sorted(
            User.objects.values_list("username", "agency__acronym", "is_law_enforcement", "password", "is_superuser")
        ),
        sorted(User.groups.through.objects.values_list("user__username", "group__name")),
        sorted(ThreatProduct.objects.values_list("title", "state", "number")),
        sorted(Incident.objects.values_list("number", "name", "status", "is_exercise")),
        FeedEntry.objects.count(),
        ActivationChange.objects.count(),
        DomainEvent.objects.count(),
        sorted(RoutingRule.objects.values_list("name", "mode", "when")),
        LiaisonAssignment.objects.count(),
        DutyContact.objects.count(),
    )


def test_seed_demo_builds_the_region_with_people_of_every_role(db, settings):
    output = seed(settings)
    assert "analyst" in output
    assert "demo-password-2026" in output
    wake = Jurisdiction.objects.get(fips_code="37183")
    assert wake.name == "Wake County"
    assert wake.parent.fips_code == "37"
    assert wake.same_code == "037183"
    kinds = set(Agency.objects.values_list("kind", flat=True))
    assert {Agency.Kind.FUSION_CENTER, Agency.Kind.EOC, Agency.Kind.LAW_ENFORCEMENT, Agency.Kind.FIRE} <= kinds
    assert Agency.objects.filter(kind=Agency.Kind.EOC, jurisdiction__kind=Jurisdiction.Kind.COUNTY).count() == 2
    assert Agency.objects.filter(level=Agency.Level.PRIVATE_SECTOR).exists()
    roles = set().union(*(person.roles for person in User.objects.prefetch_related("groups")))
    assert roles == set(Role)
    assert ThreatProduct.objects.filter(state=ThreatProduct.State.PUBLISHED).count() >= 3
    assert ThreatProduct.objects.filter(state=ThreatProduct.State.IN_REVIEW).exists()
    flood = Incident.objects.get(name="Neuse River flooding")
    assert flood.entries.filter(priority="flash").exists()
    assert EocStatus.objects.get(eoc__acronym="WAKE-EOC").level == 2
    assert Incident.objects.filter(is_exercise=True).exists()


def test_seed_demo_twice_changes_nothing(db, settings):
    seed(settings)
    before = snapshot()
    seed(settings)
    assert snapshot() == before


def test_seed_demo_refuses_to_run_with_debug_off(db, settings):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="DEBUG"):
        call_command("seed_demo", stdout=StringIO())
    assert not User.objects.exists()


def test_demo_people_can_sign_in_with_the_printed_password_and_demo_code(db, client, settings):
    output = seed(settings)
    assert "manage.py demo_code USERNAME" in output
    response = client.post("/sign-in/", {"username": "coordinator", "password": "demo-password-2026"})
    assert response.status_code == 302
    assert response.url.startswith("/sign-in/verify/")  # every demo person is enrolled
    code = StringIO()
    call_command("demo_code", "coordinator", stdout=code)
    assert client.post(response.url, {"code": code.getvalue().strip()}).url == "/"


def test_seed_demo_enrols_every_demo_person_once(db, settings):
    seed(settings)
    seed(settings)
    assert set(TOTPDevice.objects.filter(confirmed=True).values_list("user__username", flat=True)) == set(
        User.objects.values_list("username", flat=True)
    )
    assert TOTPDevice.objects.count() == User.objects.count()


def test_jurisdiction_path_lists_its_ancestors(db, settings):
    seed(settings)
    raleigh = Jurisdiction.objects.get(fips_code="3755000")
    chain = [Jurisdiction.objects.get(pk=pk).fips_code for pk in raleigh.ancestor_ids]
    assert chain == ["37", "37183", "3755000"]


def test_the_demo_region_routes_between_the_fusion_center_and_wake_county_eoc(db, settings):
    """Once a worker has handled the demo's events, the liaison officer has relays to approve and the
    fusion center has the flood's warnings in its situational-awareness queue."""
    from dissemination.services import handle_event
    from liaison.models import AwarenessItem, LiaisonAssignment, Relay, RoutingRule

    seed(settings)
    for _ in range(5):
        for event_id in DomainEvent.objects.filter(handled_at__isnull=True).order_by("pk").values_list("pk", flat=True):
            handle_event(event_id=event_id)
    assignment = LiaisonAssignment.objects.current().get(eoc__acronym="WAKE-EOC")
    assert assignment.officer.username == "liaison"
    assert RoutingRule.objects.filter(is_active=True).count() == 3
    proposed = Relay.objects.filter(state=Relay.State.PROPOSED, eoc__acronym="WAKE-EOC")
    assert proposed.exists()
    assert {relay.incident.name for relay in proposed} == {"Neuse River flooding"}
    assert AwarenessItem.objects.filter(kind=AwarenessItem.Kind.WARNING).exists()
