"""Constraints hold in the database itself, whatever code writes the rows."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.forms import modelform_factory
from django.utils import timezone

from devices.forms import DeviceForm
from devices.inventory import DeviceRecord, save_device
from devices.models import Action, Device, MacAddress, UpstreamId, UpstreamState


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


def insert_mac_row(device: Device, address: str) -> None:
    """Write past the ORM, whose field would normalise the address first."""
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO devices_macaddress (device_id, address, is_primary) VALUES (%s, %s, %s)",
            [device.pk, address, False],
        )


@pytest.mark.parametrize("address", ["00:0C:29:F2:7A:29", "00-0c-29-f2-7a-29", "000c29f27a29", "nonsense"])
def test_the_database_refuses_a_mac_that_is_not_canonical(make_device, address):
    device = make_device("a", hwid="A")
    with pytest.raises(IntegrityError), transaction.atomic():
        insert_mac_row(device, address)


def test_the_database_refuses_a_non_mac_the_orm_cannot_normalise(make_device):
    device = make_device("a", hwid="A")
    with pytest.raises(IntegrityError), transaction.atomic():
        MacAddress.objects.create(device=device, address="0C:29:F2")


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


NOTATIONS = [
    "00:0C:29:F2:7A:29",
    "00-0c-29-f2-7a-29",
    "000c.29f2.7a29",
    "000C29F27A29",
    " 00 : 0c : 29 : f2 : 7a : 29 ",
]


def stored_addresses() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT address FROM devices_macaddress")
        return [row[0] for row in cursor.fetchall()]


@pytest.mark.parametrize("typed", NOTATIONS)
def test_a_mac_saved_in_any_notation_is_stored_canonical(make_device, typed):
    MacAddress.objects.create(device=make_device("a", hwid="A"), address=typed)
    assert stored_addresses() == ["00:0c:29:f2:7a:29"]


@pytest.mark.parametrize("typed", NOTATIONS)
def test_a_mac_is_found_by_any_notation(make_device, typed):
    device = make_device("a", macs=["00:0c:29:f2:7a:29"])
    assert MacAddress.objects.get(address=typed).device == device
    assert list(Device.objects.filter(macs__address__in=[typed, "nonsense"])) == [device]


def test_a_lookup_by_something_that_is_no_mac_finds_nothing(make_device):
    make_device("a", macs=["00:0c:29:f2:7a:29"])
    assert not MacAddress.objects.filter(address="0C:29:F2").exists()


@pytest.mark.parametrize("typed", NOTATIONS)
def test_model_validation_normalises_a_mac_typed_in_any_notation(make_device, typed):
    mac = MacAddress(device=make_device("a", hwid="A"), address=typed)
    mac.full_clean()
    assert mac.address == "00:0c:29:f2:7a:29"


@pytest.mark.parametrize("typed", ["0C:29:F2", "00:0c:29:zz:7a:29", "12345", "00:0c:29:f2:7a"])
def test_model_validation_names_a_bad_mac_and_shows_the_expected_shape(make_device, typed):
    with pytest.raises(ValidationError) as caught:
        MacAddress(device=make_device("a", hwid="A"), address=typed).full_clean()
    (message,) = caught.value.message_dict["address"]
    assert message == f"{typed!r} is not a MAC address: give six pairs of hex digits, for example 00:0c:29:f2:7a:29."


@pytest.mark.parametrize("typed", ["ff:ff:ff:ff:ff:ff", "01-00-5E-00-00-01", "0000.0000.0000"])
def test_model_validation_and_the_mac_form_refuse_special_macs(make_device, typed):
    device = make_device("a", hwid="A")
    with pytest.raises(ValidationError) as caught:
        MacAddress(device=device, address=typed).full_clean()
    (message,) = caught.value.message_dict["address"]
    assert "give the device's own MAC address" in message
    form = modelform_factory(MacAddress, fields=["device", "address", "is_primary"])({"device": device.pk, "address": typed})
    assert form.errors["address"] == [message]


def test_the_device_form_refuses_a_multicast_mac_saying_why(db):
    form = DeviceForm(data={"name": "ws", "macs": "00:0c:29:f2:7a:29 01:00:5e:00:00:01"})
    assert not form.is_valid()
    assert "'01:00:5e:00:00:01' is a multicast address" in " ".join(form.errors["macs"])


def test_the_mac_admin_form_normalises_and_refuses(make_device):
    device = make_device("a", hwid="A")
    form_class = modelform_factory(MacAddress, fields=["device", "address", "is_primary"])
    form = form_class({"device": device.pk, "address": "000C.29F2.7A29"})
    assert form.is_valid(), form.errors
    assert form.save().address == "00:0c:29:f2:7a:29"
    form = form_class({"device": device.pk, "address": "0C:29:F2"})
    assert form.errors["address"] == ["'0C:29:F2' is not a MAC address: give six pairs of hex digits, for example 00:0c:29:f2:7a:29."]


def test_a_hwid_is_stored_stripped_and_found_with_stray_spaces(db):
    device = Device.objects.create(name="a", hwid="  6WXJURV8QAM0I7KC ")
    assert Device.objects.values_list("hwid", flat=True).get() == "6WXJURV8QAM0I7KC"
    assert Device.objects.get(hwid=" 6WXJURV8QAM0I7KC") == device


def test_a_blank_hwid_is_stored_as_null_so_devices_without_one_do_not_collide(db):
    Device.objects.create(name="a", hwid="")
    Device.objects.create(name="b", hwid="  ")
    assert Device.objects.filter(hwid__isnull=True).count() == 2


def test_model_validation_refuses_a_bad_hwid_with_a_clear_message(db):
    with pytest.raises(ValidationError) as caught:
        Device(name="a", hwid="has space").full_clean()
    assert "'has space' is not a HWID" in caught.value.message_dict["hwid"][0]


def test_the_cloud_is_called_with_the_hwid_when_there_is_one(make_device):
    assert make_device("a", hwid="H1", macs=["00:0c:29:00:00:01"]).upstream_identifier == UpstreamId("H1", 1)
    assert make_device("b", macs=["00:0c:29:00:00:02"]).upstream_identifier == UpstreamId("00:0c:29:00:00:02", 0)


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


# ------------------------------------------------------------------ the device form


def test_the_device_form_normalises_every_identifier_and_keeps_the_mac_order(db):
    form = DeviceForm({"name": " ws-1 ", "hwid": " H1 ", "macs": "000C.29F2.7A30\n00-0c-29-f2-7a-29", "notes": " n "})
    assert form.is_valid(), form.errors
    assert form.record() == DeviceRecord("ws-1", "H1", ["00:0c:29:f2:7a:30", "00:0c:29:f2:7a:29"], notes="n")


def test_the_device_form_takes_its_lengths_from_the_model(db):
    form = DeviceForm({"name": "x" * 254, "hwid": "H" * 65, "owner_name": "o" * 201, "notes": "n" * 10_001})
    assert not form.is_valid()
    assert form.errors["name"] == ["Ensure this value has at most 253 characters (it has 254)."]
    assert form.errors["owner_name"] == ["Ensure this value has at most 200 characters (it has 201)."]
    assert form.errors["notes"] == ["Ensure this value has at most 10000 characters (it has 10001)."]
    assert form.errors["hwid"] == [f"{'H' * 40 + '…'!r} is too long for a HWID: at most 64 characters."]


def test_a_taken_hwid_gets_one_error_naming_the_device(sample_device):
    form = DeviceForm({"name": "dup", "hwid": f" {sample_device.hwid} "})
    assert not form.is_valid()
    assert form.errors["hwid"] == [
        f'{sample_device.hwid} already belongs to <a href="{sample_device.get_absolute_url()}">ws-042</a>.'
    ]


def test_editing_starts_from_the_stored_macs_primary_first(sample_device):
    form = DeviceForm(instance=sample_device)
    assert form["macs"].value() == "00:0c:29:f2:7a:29\n00:0c:29:f2:7a:30"
    assert form["hwid"].value() == sample_device.hwid


def test_an_invalid_edit_leaves_the_callers_device_as_stored(sample_device):
    form = DeviceForm({"name": "renamed", "macs": "nonsense"}, instance=sample_device)
    assert not form.is_valid()
    assert sample_device.name == "ws-042"


def test_the_device_form_does_not_write(db):
    form = DeviceForm({"name": "a", "hwid": "H1"})
    assert form.is_valid()
    with pytest.raises(TypeError):
        form.save()
    assert not Device.objects.exists()


@pytest.mark.parametrize("name", ["ws-01\nBcc: victim@example.com", "ws-01\r", "ws\t01", "ws\x8501", "ws\u202801"])
def test_a_device_name_is_one_line_in_the_database_itself(db, name):
    with pytest.raises(IntegrityError), transaction.atomic():
        Device.objects.create(name=name, hwid="ONELINE1")
    with pytest.raises(IntegrityError), transaction.atomic():
        Device.objects.create(name="ws-01", owner_name=name, hwid="ONELINE2")


def test_a_name_with_a_line_break_is_refused_by_model_validation_naming_the_character(db):
    device = Device(name="ws-01\nBcc: victim@example.com", hwid="ONELINE3")
    with pytest.raises(ValidationError) as caught:
        device.full_clean()
    assert caught.value.message_dict["name"] == [
        "Use one line of text: remove the line break, tab or control character (U+000A)."]


def test_names_in_other_scripts_and_with_spaces_are_one_line(db):
    device = Device(name="poste de travail – Zürich 東京", owner_name="Zoë O'Brien", hwid="ONELINE4")
    device.full_clean()
    device.save()


@pytest.mark.skipif(connection.vendor != "postgresql",
                    reason="in the SQLite test database, unapplying to 0007 trips over the search triggers")
@pytest.mark.django_db(transaction=True)
def test_the_migration_puts_existing_names_on_one_line():
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connection)
    executor.migrate([("devices", "0007_macaddress_field")])
    old = executor.loader.project_state([("devices", "0007_macaddress_field")]).apps.get_model("devices", "Device")
    old.objects.create(name="ws-01\r\nBcc: x@example.com", owner_name="Ada\nLovelace", hwid="OLD1")
    old.objects.create(name="\n", hwid="OLD2")
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())
    assert dict(Device.objects.values_list("hwid", "name")) == {"OLD1": "ws-01 Bcc: x@example.com", "OLD2": "unnamed"}
    assert Device.objects.get(hwid="OLD1").owner_name == "Ada Lovelace"


# ------------------------------------------------------------------ the outbox's rules, on its models


def test_an_open_action_is_one_waiting_or_on_its_way():
    assert set(Action.OPEN) == {"queued", "retrying", "sending"}
    assert not set(Action.OPEN) & set(Action.TERMINAL)


def test_failing_an_action_ends_it_with_its_reason_cut_to_the_column(make_device):
    now = timezone.now()
    action = Action(device=make_device("a", hwid="H1"), kind="dhcprenew", not_before=now, coalesce_key="dhcprenew:1")
    action.fail(now, "x" * 1000)
    assert (action.status, action.finished_at, action.is_terminal) == ("failed", now, True)
    assert action.last_error == "x" * Action._meta.get_field("last_error").max_length


def test_lifting_a_pause_clears_its_end_kind_and_reason():
    state = UpstreamState(blocked_until=timezone.now(), pause_kind="failures", block_reason="3 failures in a row",
                          consecutive_failures=3)
    state.lift_pause()
    assert (state.blocked_until, state.pause_kind, state.block_reason) == (None, "", "")
    assert state.consecutive_failures == 3  # the breaker's count is the breaker's to reset


def test_an_upstream_id_says_what_it_is():
    assert str(UpstreamId("H1", 1)) == "HWID H1" and UpstreamId("H1", 1).is_hwid
    assert str(UpstreamId("00:0c:29:00:00:02", 0)) == "MAC address 00:0c:29:00:00:02"
