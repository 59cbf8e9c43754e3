"""A large import is read and written in parts: the parts must plan and write exactly as the whole file would."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, connection
from django.utils import timezone

from devices import audit
from devices.csv_io import ImportRejected, apply_import, plan_import
from devices.csv_io.applying import BATCH_LIMITS, BATCH_SECONDS, next_batch_size
from devices.csv_io.planning import PLAN_CHUNK
from devices.inventory import DeviceRecord, save_devices
from devices.models import AuditEntry, Device, DeviceImport, MacAddress

HEADER = "name,hwid,macs,owner_name,owner_email,notes\n"


def mac(n: int) -> str:
    return (0x0A0000000000 + n).to_bytes(6, "big").hex(":")


def rows(count: int, start: int = 0) -> list[str]:
    return [f"host-{n},H{n},{mac(n)},,,\n" for n in range(start, start + count)]


def test_an_identifier_repeated_across_the_planning_chunks_is_refused_naming_its_first_line(db):
    lines = rows(PLAN_CHUNK + 100)
    lines[PLAN_CHUNK + 50] = f"late,,{mac(3).upper().replace(':', '-')},,,\n"  # line 4's MAC, in the second chunk
    lines.append("later,H7,,,,\n")  # line 9's HWID, last line
    plan = plan_import(HEADER + "".join(lines))
    assert {row.line: row.errors for row in plan.error_rows} == {
        PLAN_CHUNK + 52: [f"{mac(3)} is also on line 5."],
        PLAN_CHUNK + 102: ["H7 is also on line 9."],
    }
    assert plan.summary["create"] == PLAN_CHUNK + 100 - 1
    with pytest.raises(ImportRejected):
        apply_import(HEADER + "".join(lines), batch_size=1000)
    assert not Device.objects.exists()


def test_two_rows_updating_one_device_across_the_chunks_are_refused(make_device):
    device = make_device("old", hwid="HX", macs=[mac(999_999)])
    lines = rows(PLAN_CHUNK + 10)
    lines[1] = "by-hwid,HX,,,,\n"
    lines[PLAN_CHUNK + 5] = f"by-mac,,{mac(999_999)},,,\n"
    plan = plan_import(HEADER + "".join(lines))
    assert [(row.line, row.errors) for row in plan.error_rows] == [
        (PLAN_CHUNK + 7, ["updates the same device as line 3."])
    ]
    assert plan.rows[1].device_id == device.pk and plan.rows[1].action == "update"


def test_valid_rows_only_writes_every_valid_row_of_every_batch_and_no_other(db):
    lines = rows(2500)
    for n in (0, 999, 1000, 1001, 2499):  # bad rows at and around the batch boundaries
        lines[n] = f"bad-{n},,not-a-mac,,,\n"
    result = apply_import(HEADER + "".join(lines), valid_rows_only=True, batch_size=1000, pause=0)
    assert (result.created, result.skipped) == (2495, 5)
    names = set(Device.objects.values_list("name", flat=True))
    assert len(names) == 2495 and not any(name.startswith("bad-") for name in names)
    assert MacAddress.objects.count() == 2495


def test_a_plan_counts_every_row_but_keeps_only_what_a_preview_shows(db):
    lines = rows(3000)
    lines[2900] = "bad,,not-a-mac,,,\n"
    plan = plan_import(HEADER + "".join(lines), keep=100)
    assert plan.summary == {"rows": 3000, "create": 2999, "update": 0, "unchanged": 0, "errors": 1, "removing": 0}
    assert [row.line for row in plan.rows] == [*range(2, 102), 2902]


def test_imported_devices_are_found_by_the_search_at_once(db):
    apply_import(HEADER + "".join(rows(3000)), batch_size=1000, pause=0)
    assert list(Device.objects.search("host-2999").values_list("name", flat=True)) == ["host-2999"]
    assert list(Device.objects.search(mac(1234)[-8:]).values_list("name", flat=True)) == ["host-1234"]
    assert list(Device.objects.search("H2345").values_list("name", flat=True)) == ["host-2345"]


def test_new_devices_never_reuse_the_id_of_a_deleted_one(make_device):
    gone = make_device("gone", hwid="GONE")
    gone_pk = gone.pk
    gone.delete()
    apply_import(HEADER + "".join(rows(3)))
    assert min(Device.objects.values_list("pk", flat=True)) > gone_pk


def test_a_bulk_insert_clashing_with_a_stored_identifier_is_an_integrity_error(make_device):
    make_device("first", macs=[mac(1)])
    with pytest.raises(IntegrityError):
        save_devices([DeviceRecord("second", None, [mac(1)])], {})
    assert list(Device.objects.values_list("name", flat=True)) == ["first"]


def test_a_bulk_insert_writes_every_column_as_the_form_would(make_device):
    made = make_device("by-form", hwid="HF", macs=[mac(1), mac(2)], owner_name="Ada", owner_email="a@example.com")
    [pk] = save_devices([DeviceRecord("by-import", "HI", [mac(3), mac(4)], "Ada", "a@example.com", "n")], {})
    form, imported = Device.objects.get(pk=made.pk), Device.objects.get(pk=pk)
    skip = {"id", "name", "hwid", "notes", "created_at", "updated_at"}
    assert {f: getattr(imported, f) for f in vars(form) if f not in skip and not f.startswith("_")} == {
        f: getattr(form, f) for f in vars(form) if f not in skip and not f.startswith("_")
    }
    assert imported.created_at == imported.updated_at and imported.created_at >= form.created_at
    assert [(m.address, m.is_primary) for m in imported.ordered_macs] == [(mac(3), True), (mac(4), False)]


def test_batches_are_sized_to_hold_the_lock_about_as_long_as_allowed():
    low, high = BATCH_LIMITS
    assert next_batch_size(2000, BATCH_SECONDS * 2) == 1000  # twice too slow: half the rows
    assert next_batch_size(2000, BATCH_SECONDS / 2) == 4000
    assert next_batch_size(2000, 0.0) == high and next_batch_size(2000, 1000.0) == low



def test_every_device_a_batched_import_writes_gets_one_entry_naming_the_user_and_what_changed(make_device, admin_user):
    kept = make_device("kept", hwid="K1", owner_name="Old")
    pending = DeviceImport.objects.create(uploaded_by=admin_user, filename="inv.csv", content="")
    started = timezone.now()
    apply_import(HEADER + "kept,K1,,New,,\n" + "".join(rows(25)), batch_size=10, pause=0,
                 on_written=audit.import_recorder(admin_user, pending))
    entries = AuditEntry.objects.filter(verb=AuditEntry.Verb.IMPORTED)
    by_device = {entry.device_id: entry for entry in entries}
    assert len(entries) == len(by_device) == Device.objects.count() == 26
    assert {(e.user_id, e.username, e.device_name) for e in entries} == {
        (admin_user.pk, admin_user.username, name) for name in Device.objects.values_list("name", flat=True)
    }
    assert all(e.at >= started and e.kind == "" and e.action_id is None for e in entries)
    assert by_device[kept.pk].changes == [["owner_name", "Old", "New"]]
    assert by_device[kept.pk].detail == f"Updated from inv.csv (import {str(pending.pk)[:8]})"
    assert all(e.changes == [] and e.detail.startswith("Created from inv.csv") for e in entries if e.device_id != kept.pk)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the import tunes only PostgreSQL's batches")
@pytest.mark.django_db(transaction=True)  # each batch its own transaction, as in the web import
def test_the_settings_an_import_gives_its_batches_end_with_them():
    with connection.cursor() as cursor:
        cursor.execute("SHOW synchronous_commit")
        before = cursor.fetchone()[0]
        apply_import(HEADER + "".join(rows(30)), batch_size=10, pause=0)
        cursor.execute("SHOW synchronous_commit")
        assert cursor.fetchone()[0] == before == "on"
