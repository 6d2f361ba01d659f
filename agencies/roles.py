"""The permissions each role's group carries. The groups are created by migration 0002 and kept
complete after every migrate or flush (a post_migrate receiver)."""

from __future__ import annotations

ROLE_PERMISSIONS: dict[str, list[tuple[str, str]]] = {
    "Analyst": [],
    "Supervisor": [],
    "EOC coordinator": [],
    "Liaison officer": [],
    "Agency admin": [
        ("agencies", "view_user"),
        ("agencies", "add_user"),
        ("agencies", "change_user"),
        ("agencies", "view_agency"),
        ("agencies", "change_agency"),
    ],
    "Partner": [],
    "System admin": [],
}


def ensure_role_groups(**kwargs) -> None:
    from django.contrib.auth.models import Group, Permission

    for name, codes in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=name)
        wanted = [
            permission
            for app_label, codename in codes
            for permission in Permission.objects.filter(content_type__app_label=app_label, codename=codename)
        ]
        group.permissions.add(*wanted)
