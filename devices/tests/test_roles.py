"""The three roles' groups hold exactly the permissions the code gives them."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group, Permission
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command

from devices import roles
from devices.roles import ADMIN, OPERATOR, ROLE_PERMISSIONS, VIEWER, ensure_roles


def group_permissions(role: str) -> set[str]:
    perms = Group.objects.get(name=role).permissions.select_related("content_type")
    return {f"{p.content_type.app_label}.{p.codename}" for p in perms}


def test_each_role_has_exactly_its_permissions(db):
    ensure_roles()
    for role in (VIEWER, OPERATOR, ADMIN):
        assert group_permissions(role) == set(ROLE_PERMISSIONS[role]), role


def test_a_permission_taken_out_of_a_role_leaves_its_group_on_the_next_migrate(db, monkeypatch):
    ensure_roles()
    assert "devices.trigger_actions" in group_permissions(OPERATOR)
    monkeypatch.setitem(roles.ROLE_PERMISSIONS, OPERATOR, ["devices.view_device", "devices.view_macaddress"])
    call_command("migrate", verbosity=0)
    assert group_permissions(OPERATOR) == {"devices.view_device", "devices.view_macaddress"}


def test_a_permission_added_to_a_group_by_hand_is_taken_back(db):
    ensure_roles()
    Group.objects.get(name=VIEWER).permissions.add(Permission.objects.get(codename="delete_device"))
    ensure_roles()
    assert group_permissions(VIEWER) == set(ROLE_PERMISSIONS[VIEWER])


def test_an_unknown_permission_name_fails_loudly_and_changes_no_group(db, monkeypatch):
    ensure_roles()
    monkeypatch.setitem(roles.ROLE_PERMISSIONS, VIEWER, ["devices.view_device", "devices.view_devise"])
    with pytest.raises(ImproperlyConfigured, match="devices.view_devise"):
        ensure_roles()
    assert group_permissions(VIEWER) == {"devices.view_device", "devices.view_macaddress"}


def test_an_admin_unlocks_a_locked_out_login_in_the_django_admin(client, admin_user):
    from axes.models import AccessAttempt

    admin_user.is_staff = True
    admin_user.save()
    attempt = AccessAttempt.objects.create(username="vera", ip_address="10.0.0.9", user_agent="x",
                                           failures_since_start=5, get_data="", post_data="")
    client.force_login(admin_user)
    listing = client.get("/admin/axes/accessattempt/")
    assert listing.status_code == 200 and "vera" in listing.content.decode()
    done = client.post(f"/admin/axes/accessattempt/{attempt.pk}/delete/", {"post": "yes"})
    assert done.status_code == 302 and not AccessAttempt.objects.exists()


def test_an_operator_cannot_unlock_logins(client, operator):
    operator.is_staff = True
    operator.save()
    client.force_login(operator)
    assert client.get("/admin/axes/accessattempt/").status_code == 403
