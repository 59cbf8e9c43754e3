"""A device's name (and its owner's) is one line wherever it is typed: the form, the Django admin, a CSV import."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from devices.csv_io import plan_import
from devices.models import Device

BROKEN = "ws-01\nBcc: victim@example.com"
REFUSED = "Use one line of text: remove the line break, tab or control character (U+000A)."


def test_the_device_form_refuses_a_name_with_a_line_break(admin_client_):
    response = admin_client_.post(reverse("devices:device-create"),
                                  {"name": BROKEN, "hwid": "FORM1", "owner_name": "Ada\nLovelace"})
    assert response.status_code == 200
    assert response.context["form"].errors["name"] == [REFUSED]
    assert response.context["form"].errors["owner_name"] == [REFUSED]
    assert not Device.objects.exists()


def test_the_django_admin_refuses_a_name_with_a_line_break(client, db):
    superuser = get_user_model().objects.create_superuser("root", "root@example.com", "pw-root-123456")
    client.force_login(superuser)
    response = client.post(reverse("admin:devices_device_add"), {
        "name": BROKEN, "hwid": "ADMIN1", "owner_name": "", "owner_email": "", "notes": "",
        "macs-TOTAL_FORMS": "0", "macs-INITIAL_FORMS": "0", "macs-MIN_NUM_FORMS": "0", "macs-MAX_NUM_FORMS": "1000",
    })
    assert response.status_code == 200
    assert REFUSED in response.content.decode()
    assert not Device.objects.exists()


def test_a_csv_import_refuses_a_quoted_name_with_a_line_break(db):
    plan = plan_import('name,hwid,owner_name\n"ws-01\nBcc: victim@example.com",CSV1,"Ada\nLovelace"\nws-02,CSV2,Ada\n')
    first, second = plan.rows
    assert f"name: {REFUSED}" in first.errors and f"owner_name: {REFUSED}" in first.errors
    assert not second.errors


@pytest.mark.parametrize("name", ["Zürich – poste 7", "東京-ws-01", "ws 01 (spare)"])
def test_names_with_spaces_and_in_any_script_are_accepted(admin_client_, name):
    admin_client_.post(reverse("devices:device-create"), {"name": name, "hwid": "OK1"})
    assert Device.objects.get().name == name


BIDI_CONTROLS = ["\u200e", "\u200f", "\u202a", "\u202b", "\u202c", "\u202d", "\u202e",
                 "\u2066", "\u2067", "\u2068", "\u2069"]


@pytest.mark.parametrize("control", BIDI_CONTROLS)
def test_a_typed_name_with_a_bidirectional_control_is_refused_naming_it(admin_client_, control):
    response = admin_client_.post(reverse("devices:device-create"), {"name": f"ws-01{control}fdp.exe", "hwid": "B1"})
    assert response.status_code == 200
    assert f"U+{ord(control):04X}" in response.context["form"].errors["name"][0]
    assert not Device.objects.exists()


@pytest.mark.parametrize("control", BIDI_CONTROLS)
def test_a_cloud_hostname_loses_its_bidirectional_controls_before_it_is_a_name(control):
    from devices.cloudsync.values import listed
    from devices.upstream.listing import CloudDevice
    from devices.validators import one_line

    cloud = CloudDevice(hwid="H1", hostname=f"invoice{control}fdp.exe", status=0, exempt=None,
                        remediation_link=None, last_seen=None, macs=())
    assert listed(cloud, []).name == "invoicefdp.exe"
    assert one_line(f"Action needed on ws{control}01") == "Action needed on ws01"
