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


# ------------------------------------------------------------------ search


def names(queryset) -> set[str]:
    return set(queryset.values_list("name", flat=True))


@pytest.fixture
def searchable(make_device):
    make_device("ws-042", hwid="HW_ONE", macs=["00:0c:29:f2:7a:29", "00:0c:29:f2:7a:30"])
    make_device("Laptop-Ada", hwid="1dc0aaaa292ce801f5379042d68bb6cb")
    make_device("printer", macs=["aa:bb:cc:dd:ee:ff"])
    make_device("100% uptime", hwid="HWXONE")


@pytest.mark.parametrize(
    "typed, expected",
    [
        ("ws-0", {"ws-042"}),
        ("LAPTOP", {"Laptop-Ada"}),
        ("292ce8", {"Laptop-Ada"}),
        ("00-0C-29-F2-7A-30", {"ws-042"}),
        ("0c:29:f2", {"ws-042"}),
        ("c29f2", {"ws-042"}),  # digits starting mid-byte
        ("BBCCDDEE", {"printer"}),
        ("aabb.ccdd", {"printer"}),
        ("HW_ONE", {"ws-042"}),  # "_" is not a wildcard: HWXONE does not match
        ("100%", {"100% uptime"}),
        ("nothing-like-this", set()),
    ],
)
def test_search_matches_name_hwid_and_macs_in_any_notation(searchable, typed, expected):
    assert names(Device.objects.search(typed)) == expected


def test_search_follows_every_change_to_a_device_and_its_macs(make_device):
    device = make_device("before", hwid="H1", macs=["00:0c:29:00:00:01"])
    save_device(device, DeviceRecord("after", "H2", ["00:0c:29:00:00:02"]))
    assert names(Device.objects.search("before")) == set()
    assert names(Device.objects.search("after")) == {"after"}
    assert names(Device.objects.search("000c29000001")) == set()
    assert names(Device.objects.search("000c29000002")) == {"after"}
    MacAddress.objects.filter(device=device).update(address="00:0c:29:00:00:03")
    assert names(Device.objects.search("00:0c:29:00:00:03")) == {"after"}
    Device.objects.filter(pk=device.pk).delete()
    assert names(Device.objects.search("after")) == set()
