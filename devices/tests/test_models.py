"""Constraints hold in the database itself, whatever code writes the rows."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from devices.inventory import DeviceRecord, save_device
from devices.models import Device, MacAddress


def test_a_mac_belongs_to_one_device_only(make_device):
    first = make_device("a", macs=["00:0c:29:f2:7a:29"])
    second = make_device("b", hwid="B1")
    with pytest.raises(IntegrityError), transaction.atomic():
        MacAddress.objects.create(device=second, address="00:0c:29:f2:7a:29")
    assert list(first.macs.values_list("address", flat=True)) == ["00:0c:29:f2:7a:29"]


def test_a_hwid_belongs_to_one_device_only(make_device):
    make_device("a", hwid="ABC")
    with pytest.raises(IntegrityError), transaction.atomic():
        Device.objects.create(name="b", hwid="ABC")


def test_devices_without_hwid_do_not_collide(make_device):
    make_device("a", macs=["00:0c:29:00:00:01"])
    make_device("b", macs=["00:0c:29:00:00:02"])
    assert Device.objects.filter(hwid__isnull=True).count() == 2


@pytest.mark.parametrize("address", ["00:0C:29:F2:7A:29", "00-0c-29-f2-7a-29", "000c29f27a29", "nonsense"])
def test_the_database_refuses_a_mac_that_is_not_canonical(make_device, address):
    device = make_device("a", hwid="A")
    with pytest.raises(IntegrityError), transaction.atomic():
        MacAddress.objects.create(device=device, address=address)


def test_the_database_refuses_a_bad_hwid(db):
    with pytest.raises(IntegrityError), transaction.atomic():
        Device.objects.create(name="a", hwid="has space")


def test_a_device_has_at_most_one_primary_mac(make_device):
    device = make_device("a", macs=["00:0c:29:00:00:01"])
    with pytest.raises(IntegrityError), transaction.atomic():
        MacAddress.objects.create(device=device, address="00:0c:29:00:00:02", is_primary=True)


def test_saving_new_macs_moves_the_primary_to_the_first(make_device):
    device = make_device("a", macs=["00:0c:29:00:00:01", "00:0c:29:00:00:02"])
    save_device(device, DeviceRecord("a", None, ["00:0c:29:00:00:02", "00:0c:29:00:00:03"]))
    device.refresh_from_db()
    assert [(m.address, m.is_primary) for m in device.ordered_macs] == [
        ("00:0c:29:00:00:02", True),
        ("00:0c:29:00:00:03", False),
    ]


def test_the_admin_form_normalises_a_mac_typed_in_another_notation(make_device):
    device = make_device("a", hwid="A")
    mac = MacAddress(device=device, address="00-0C-29-F2-7A-29")
    mac.full_clean()
    assert mac.address == "00:0c:29:f2:7a:29"
    with pytest.raises(ValidationError):
        MacAddress(device=device, address="nope").full_clean()


def test_the_cloud_is_called_with_the_hwid_when_there_is_one(make_device):
    assert make_device("a", hwid="H1", macs=["00:0c:29:00:00:01"]).upstream_identifier == ("H1", 1)
    assert make_device("b", macs=["00:0c:29:00:00:02"]).upstream_identifier == ("00:0c:29:00:00:02", 0)
