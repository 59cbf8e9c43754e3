"""The Django admin has every model, and never shows the access token."""

from __future__ import annotations

import pytest
from django.apps import apps
from django.contrib.auth import get_user_model
from django.urls import reverse

from devices.models import AuditEntry, Device, ExemptMode, RemediationState, UpstreamToken


@pytest.fixture
def superuser_client(client, db):
    client.force_login(get_user_model().objects.create_superuser("root", "root@example.com", "pw"))
    return client


def test_every_model_of_the_app_has_a_working_admin(superuser_client, sample_device):
    for model in apps.get_app_config("devices").get_models():
        url = reverse(f"admin:devices_{model._meta.model_name}_changelist")
        assert superuser_client.get(url).status_code == 200, model.__name__


def test_the_token_admin_shows_its_version_not_the_token(superuser_client):
    token = UpstreamToken.objects.create(access_token="ab3aec71-fa6a-4752-8804-00c37f934059", version=3)
    changelist = superuser_client.get(reverse("admin:devices_upstreamtoken_changelist")).content.decode()
    change = superuser_client.get(reverse("admin:devices_upstreamtoken_change", args=[token.pk])).content.decode()
    assert "ab3aec71" not in changelist and "ab3aec71" not in change
    assert '<td class="field-version">3</td>' in changelist
    assert '<div class="readonly">3</div>' in change


def device_change_data(device, **values) -> dict:
    """The admin change form of `device` as a browser posts it, MACs included."""
    macs = list(device.macs.order_by("id"))
    data = {
        "name": device.name,
        "hwid": device.hwid or "",
        "owner_name": device.owner_name,
        "owner_email": device.owner_email,
        "notes": device.notes,
        "macs-TOTAL_FORMS": str(len(macs)),
        "macs-INITIAL_FORMS": str(len(macs)),
        "macs-MIN_NUM_FORMS": "0",
        "macs-MAX_NUM_FORMS": "1000",
    }
    for i, mac in enumerate(macs):
        data |= {f"macs-{i}-id": str(mac.pk), f"macs-{i}-device": str(device.pk), f"macs-{i}-address": mac.address}
        if mac.is_primary:
            data[f"macs-{i}-is_primary"] = "on"
    return data | values


def test_the_device_admin_stores_identifiers_typed_in_any_notation_canonical(superuser_client, sample_device):
    url = reverse("admin:devices_device_change", args=[sample_device.pk])
    data = device_change_data(sample_device, hwid=" 6WXJURV8QAM0I7KC ", **{"macs-1-address": "00-0C-29-F2-7A-31"})
    assert superuser_client.post(url, data).status_code == 302
    sample_device.refresh_from_db()
    assert sample_device.hwid == "6WXJURV8QAM0I7KC"
    assert [m.address for m in sample_device.ordered_macs] == ["00:0c:29:f2:7a:29", "00:0c:29:f2:7a:31"]


def test_the_device_admin_refuses_a_bad_mac_with_a_clear_message(superuser_client, sample_device):
    url = reverse("admin:devices_device_change", args=[sample_device.pk])
    body = superuser_client.post(url, device_change_data(sample_device, **{"macs-1-address": "0C:29:F2"})).content.decode()
    assert "&#x27;0C:29:F2&#x27; is not a MAC address" in body
    assert sample_device.macs.filter(address="00:0c:29:f2:7a:30").exists()


def test_the_device_admin_shows_the_clouds_values_but_does_not_change_them(superuser_client, sample_device):
    Device.objects.filter(pk=sample_device.pk).update(exempt_mode=ExemptMode.ALL)
    url = reverse("admin:devices_device_change", args=[sample_device.pk])
    assert '<div class="readonly">All issues exempt</div>' in superuser_client.get(url).content.decode()
    superuser_client.post(url, device_change_data(sample_device, exempt_mode="none", remediation_state="error"))
    sample_device.refresh_from_db()
    assert (sample_device.exempt_mode, sample_device.remediation_state) == (ExemptMode.ALL, RemediationState.UNKNOWN)


@pytest.mark.parametrize("typed", ["00-0C-29-F2-7A-30", "000c.29f2.7a30", "000C29F27A30", "0C-29-F2-7A", "F2-7A-30"])
@pytest.mark.parametrize("admin_list", ["admin:devices_device_changelist", "admin:devices_macaddress_changelist"])
def test_the_admin_search_finds_a_mac_typed_in_any_notation(superuser_client, sample_device, make_device, typed, admin_list):
    make_device("decoy-77", hwid="DECOY", macs=["00:50:56:12:34:56"])
    body = superuser_client.get(reverse(admin_list), {"q": typed}).content.decode()
    assert "ws-042" in body and "decoy-77" not in body


def test_an_admin_edit_and_delete_reach_the_devices_timeline(superuser_client, sample_device):
    url = reverse("admin:devices_device_change", args=[sample_device.pk])
    superuser_client.post(url, device_change_data(sample_device, owner_name="Ada", **{"macs-1-address": "00-0C-29-F2-7A-31"}))
    edited = AuditEntry.objects.get(verb="edited")
    assert edited.username == "root"
    assert edited.changes == [["macs", "00:0c:29:f2:7a:29 00:0c:29:f2:7a:30", "00:0c:29:f2:7a:29 00:0c:29:f2:7a:31"],
                              ["owner_name", "Grace Hopper", "Ada"]]
    superuser_client.post(reverse("admin:devices_device_delete", args=[sample_device.pk]), {"post": "yes"})
    assert not Device.objects.exists()
    assert AuditEntry.objects.get(verb="deleted").device_name == "ws-042"


def test_a_viewer_opening_the_admin_is_told_they_are_logged_in_but_not_allowed(viewer_client):
    response = viewer_client.get("/admin/", follow=True)
    body = response.content.decode()
    assert response.status_code == 403
    assert "Not allowed" in body and "You are logged in as <strong>vera</strong>" in body
    assert 'name="password"' not in body  # no login form, as if they were logged out
    assert 'href="/"' in body  # a way back


def test_the_admin_login_form_still_opens_to_someone_not_logged_in_and_lets_a_superuser_in(client, db):
    response = client.get("/admin/login/?next=/admin/")
    assert response.status_code == 200 and 'name="password"' in response.content.decode()
    get_user_model().objects.create_superuser("root", password="pw-root-admin")
    response = client.post("/admin/login/?next=/admin/", {"username": "root", "password": "pw-root-admin",
                                                          "next": "/admin/"}, REMOTE_ADDR="203.0.113.9")
    assert response.status_code == 302 and response["Location"] == "/admin/"
