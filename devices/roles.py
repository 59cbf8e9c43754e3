"""The three roles, as Django groups: viewer reads, operator acts, admin edits.

Set exactly on every `migrate` (see apps.py): a permission added to a role
reaches its group, and one taken out of a role is taken from the group,
without a hand-written data migration.
"""

from __future__ import annotations

from django.contrib.auth.models import Group, Permission
from django.core.exceptions import ImproperlyConfigured

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
        "devices.check_cloud",
        # Unlocking a login locked out by django-axes is deleting its access attempt
        # in the Django admin; the failure log is read to see who was refused.
        "axes.view_accessattempt",
        "axes.delete_accessattempt",
        "axes.view_accessfailurelog",
    ],
}


def ensure_roles(**kwargs) -> None:
    """Give each role's group exactly the permissions ROLE_PERMISSIONS lists.

    A name that matches no permission (a typo, a model gone) raises before
    any group changes: a role silently short of a permission is worse.
    """
    wanted = {name for names in ROLE_PERMISSIONS.values() for name in names}
    found = {
        f"{perm.content_type.app_label}.{perm.codename}": perm
        for perm in Permission.objects.filter(
            content_type__app_label__in={name.split(".")[0] for name in wanted}
        ).select_related("content_type")
    }
    unknown = sorted(wanted - found.keys())
    if unknown:
        raise ImproperlyConfigured("Roles name permissions that do not exist: " + ", ".join(unknown))
    for role, names in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=role)
        group.permissions.set([found[name] for name in names])
