"""The demo region: North Carolina's fusion center, its EOCs and partner agencies, with real FIPS codes.

`manage.py seed_demo` calls `seed_region()`; running it again changes nothing. Every demo person has
an authenticator enrolled, whose current code `manage.py demo_code USERNAME` prints.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from django.db import transaction
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from .models import Agency, Jurisdiction, Role, User, role_group

DEMO_PASSWORD = "demo-password-2026"  # noqa: S105 - documented demo sign-in, refused with DEBUG off
DEMO_DEVICE_NAME = "Demo authenticator"

JURISDICTIONS = [
    # (key, name, kind, FIPS, parent key)
    ("nc", "North Carolina", Jurisdiction.Kind.STATE, "37", None),
    ("wake", "Wake County", Jurisdiction.Kind.COUNTY, "37183", "nc"),
    ("mecklenburg", "Mecklenburg County", Jurisdiction.Kind.COUNTY, "37119", "nc"),
    ("durham", "Durham County", Jurisdiction.Kind.COUNTY, "37063", "nc"),
    ("raleigh", "City of Raleigh", Jurisdiction.Kind.CITY, "3755000", "wake"),
    ("charlotte", "City of Charlotte", Jurisdiction.Kind.CITY, "3712000", "mecklenburg"),
]

A = Agency
AGENCIES = [
    # (acronym, name, level, kind, discipline, jurisdiction key, email)
    (
        "NCISAAC",
        "North Carolina Information Sharing and Analysis Center",
        A.Level.STATE,
        A.Kind.FUSION_CENTER,
        A.Discipline.HOMELAND_SECURITY,
        "nc",
        "watch@ncisaac.example.gov",
    ),
    (
        "NCEM-SEOC",
        "North Carolina State Emergency Operations Center",
        A.Level.STATE,
        A.Kind.EOC,
        A.Discipline.EMERGENCY_MANAGEMENT,
        "nc",
        "seoc@ncem.example.gov",
    ),
    (
        "WAKE-EOC",
        "Wake County Emergency Operations Center",
        A.Level.LOCAL,
        A.Kind.EOC,
        A.Discipline.EMERGENCY_MANAGEMENT,
        "wake",
        "eoc@wake.example.gov",
    ),
    (
        "MECK-EOC",
        "Mecklenburg County Emergency Operations Center",
        A.Level.LOCAL,
        A.Kind.EOC,
        A.Discipline.EMERGENCY_MANAGEMENT,
        "mecklenburg",
        "eoc@mecklenburg.example.gov",
    ),
    (
        "RPD",
        "Raleigh Police Department",
        A.Level.LOCAL,
        A.Kind.LAW_ENFORCEMENT,
        A.Discipline.LAW_ENFORCEMENT,
        "raleigh",
        "watch@rpd.example.gov",
    ),
    (
        "WCSO",
        "Wake County Sheriff's Office",
        A.Level.LOCAL,
        A.Kind.LAW_ENFORCEMENT,
        A.Discipline.LAW_ENFORCEMENT,
        "wake",
        "dispatch@wcso.example.gov",
    ),
    (
        "RFD",
        "Raleigh Fire Department",
        A.Level.LOCAL,
        A.Kind.FIRE,
        A.Discipline.FIRE,
        "raleigh",
        "battalion@rfd.example.gov",
    ),
    (
        "WAKE-EMS",
        "Wake County Emergency Medical Services",
        A.Level.LOCAL,
        A.Kind.EMS,
        A.Discipline.EMS,
        "wake",
        "ems@wake.example.gov",
    ),
    (
        "WAKE-PH",
        "Wake County Public Health",
        A.Level.LOCAL,
        A.Kind.PUBLIC_HEALTH,
        A.Discipline.PUBLIC_HEALTH,
        "wake",
        "epi@wake.example.gov",
    ),
    (
        "DEC",
        "Duke Energy Carolinas",
        A.Level.PRIVATE_SECTOR,
        A.Kind.CRITICAL_INFRASTRUCTURE,
        A.Discipline.CRITICAL_INFRASTRUCTURE,
        "nc",
        "security@duke-energy.example.com",
    ),
    (
        "CMPD",
        "Charlotte-Mecklenburg Police Department",
        A.Level.LOCAL,
        A.Kind.LAW_ENFORCEMENT,
        A.Discipline.LAW_ENFORCEMENT,
        "charlotte",
        "watch@cmpd.example.gov",
    ),
]

R = Role
PEOPLE = [
    # (username, first, last, agency, roles, law enforcement, title)
    ("analyst", "Dana", "Whitfield", "NCISAAC", [R.ANALYST], True, "Intelligence analyst"),
    ("analyst2", "Marcus", "Bell", "NCISAAC", [R.ANALYST], True, "Critical infrastructure analyst"),
    ("supervisor", "Priya", "Raman", "NCISAAC", [R.SUPERVISOR, R.ANALYST], True, "Watch supervisor"),
    ("liaison", "Tom", "Okafor", "NCISAAC", [R.LIAISON_OFFICER], True, "Fusion liaison officer"),
    ("ncisaac.admin", "Grace", "Lin", "NCISAAC", [R.AGENCY_ADMIN], True, "Systems administrator"),
    ("coordinator", "Alex", "Moreno", "WAKE-EOC", [R.EOC_COORDINATOR], False, "EOC coordinator"),
    ("coordinator.le", "Jordan", "Hayes", "WAKE-EOC", [R.EOC_COORDINATOR], True, "Law enforcement liaison, ESF 13"),
    ("wake.admin", "Sam", "Patel", "WAKE-EOC", [R.AGENCY_ADMIN], False, "EOC systems manager"),
    ("state.coordinator", "Renee", "Carter", "NCEM-SEOC", [R.EOC_COORDINATOR], False, "State watch officer"),
    ("meck.coordinator", "Luis", "Ortega", "MECK-EOC", [R.EOC_COORDINATOR], False, "EOC coordinator"),
    ("rpd.partner", "Kim", "Nguyen", "RPD", [R.PARTNER], True, "Crime analyst"),
    ("sheriff.partner", "Ray", "Dawson", "WCSO", [R.PARTNER], True, "Lieutenant"),
    ("fire.partner", "Erin", "Walsh", "RFD", [R.PARTNER], False, "Battalion chief"),
    ("ems.partner", "Nia", "Brooks", "WAKE-EMS", [R.PARTNER], False, "Operations supervisor"),
    ("health.partner", "Omar", "Shah", "WAKE-PH", [R.PARTNER], False, "Preparedness coordinator"),
    ("utility.partner", "Beth", "Ward", "DEC", [R.PARTNER], False, "Corporate security manager"),
    ("cmpd.partner", "Victor", "Reyes", "CMPD", [R.PARTNER], True, "Detective"),
    ("sysadmin", "Chris", "Adams", "NCISAAC", [R.SYSTEM_ADMIN], False, "FusionHub system administrator"),
]


@dataclass
class DemoRegion:
    jurisdictions: dict[str, Jurisdiction]
    agencies: dict[str, Agency]
    people: dict[str, User]


def seed_region() -> DemoRegion:
    """Create or complete the demo region; existing rows are left as they are."""
    with transaction.atomic():
        jurisdictions: dict[str, Jurisdiction] = {}
        for key, name, kind, fips, parent in JURISDICTIONS:
            jurisdictions[key], _ = Jurisdiction.objects.get_or_create(
                fips_code=fips, defaults={"name": name, "kind": kind, "parent": jurisdictions.get(parent)}
            )
        agencies: dict[str, Agency] = {}
        for acronym, name, level, kind, discipline, jurisdiction, email in AGENCIES:
            agencies[acronym], _ = Agency.objects.get_or_create(
                acronym=acronym,
                defaults={
                    "name": name,
                    "level": level,
                    "kind": kind,
                    "discipline": discipline,
                    "jurisdiction": jurisdictions[jurisdiction],
                    "email": email,
                },
            )
        people: dict[str, User] = {}
        for username, first, last, agency, roles, is_law_enforcement, title in PEOPLE:
            person = User.objects.filter(username=username).first()
            if person is None:
                person = User(
                    username=username,
                    first_name=first,
                    last_name=last,
                    email=f"{username}@{agencies[agency].email.split('@')[1]}",
                    agency=agencies[agency],
                    is_law_enforcement=is_law_enforcement,
                    title=title,
                    is_staff=bool({R.AGENCY_ADMIN, R.SYSTEM_ADMIN} & set(roles)),
                    is_superuser=R.SYSTEM_ADMIN in roles,
                )
                person.set_password(DEMO_PASSWORD)
                person.save()
                person.groups.set([role_group(role) for role in roles])
            if not TOTPDevice.objects.filter(user=person, confirmed=True).exists():
                TOTPDevice.objects.create(user=person, name=DEMO_DEVICE_NAME, confirmed=True)
            people[username] = person
    return DemoRegion(jurisdictions=jurisdictions, agencies=agencies, people=people)


def authenticator_code(device: TOTPDevice) -> str:
    """The code an authenticator app with this device's secret shows now; if that code was already
    used to sign in, the next one (which the site accepts a step early), so that a second sign-in
    within the same 30 seconds works too."""
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = time.time()
    if totp.t() <= device.last_t:
        totp.time += device.step * (device.last_t + 1 - totp.t())
    return f"{totp.token():0{device.digits}d}"
