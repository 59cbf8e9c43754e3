"""The three roles, as Django groups: viewer reads, operator acts, admin edits.

Kept in step with the permissions on every `migrate` (see apps.py), so a new
permission reaches the groups without a hand-written data migration.
"""

from __future__ import annotations

VIEWER, OPERATOR, ADMIN = "viewer", "operator", "admin"

_VIEW = [
    "devices.view_device",
    "devices.view_macaddress",
]
ROLE_PERMISSIONS: dict[str, list[str]] = {
    VIEWER: _VIEW,
    OPERATOR: _VIEW + ["devices.trigger_actions"],
    ADMIN: _VIEW
    + [
        "devices.trigger_actions",
        "devices.add_device",
        "devices.change_device",
        "devices.delete_device",
        "devices.add_macaddress",
        "devices.change_macaddress",
        "devices.delete_macaddress",
        "devices.import_devices",
        "devices.view_deviceimport",
    ],
}


def ensure_roles(**kwargs) -> None:
    from django.contrib.auth.models import Group, Permission

    for role, names in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=role)
        perms = []
        for name in names:
            app_label, codename = name.split(".")
            perms += list(
                Permission.objects.filter(content_type__app_label=app_label, codename=codename)
            )
        group.permissions.add(*perms)
