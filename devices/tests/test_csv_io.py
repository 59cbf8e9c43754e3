"""CSV import and export: every edge a real file has."""

from __future__ import annotations

import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from devices.csv_io import (
    CsvFormatError,
    FieldChange,
    ImportInterrupted,
    ImportRejected,
    apply_import,
    decode_upload,
    escape_cell,
    iter_devices_csv,
    plan_import,
    unescape_cell,
)
from devices.models import Device, MacAddress

HEADER = "name,hwid,macs,owner_name,owner_email,notes\n"


def export_text() -> str:
    return "".join(iter_devices_csv(Device.objects.order_by("name")))


def test_a_file_creates_devices_with_normalised_identifiers(db):
    result = apply_import(HEADER + "ws-1,H1,00-0C-29-F2-7A-29 000c.29f2.7a30,Ada,ada@example.com,hello\n")
    assert (result.created, result.updated) == (1, 0)
    device = Device.objects.get()
    assert device.hwid == "H1" and device.owner_email == "ada@example.com" and device.notes == "hello"
    assert [(m.address, m.is_primary) for m in device.ordered_macs] == [
        ("00:0c:29:f2:7a:29", True),
        ("00:0c:29:f2:7a:30", False),
    ]


def test_bom_semicolons_blank_lines_and_quoted_fields(db):
    text = "\ufeffname;hwid;macs;notes\r\n\r\n\"ws;1\";H1;00:0c:29:00:00:01;\"two\r\nlines; and \"\"quotes\"\"\"\r\n\r\n;;;\r\n"
    result = apply_import(decode_upload(text.encode("utf-8")))
    assert result.created == 1
    device = Device.objects.get()
    assert device.name == "ws;1" and device.notes == 'two\r\nlines; and "quotes"'


def test_a_row_matching_an_existing_device_updates_it(make_device):
    device = make_device("old-name", hwid="H1", macs=["00:0c:29:00:00:01"])
    result = apply_import(HEADER + "new-name,H1,00:0c:29:00:00:02,Ada,,\n")
    assert (result.created, result.updated) == (0, 1)
    device.refresh_from_db()
    assert device.name == "new-name" and device.primary_mac == "00:0c:29:00:00:02"
    # Matched by MAC alone, too.
    result = apply_import("name,macs,notes\nnewer,00-0c-29-00-00-02,by mac\n")
    device.refresh_from_db()
    assert (result.updated, device.name, device.notes, device.hwid) == (1, "newer", "by mac", "H1")


def test_columns_left_out_keep_their_values(make_device):
    device = make_device("ws", hwid="H1", macs=["00:0c:29:00:00:01"], owner_name="Ada", notes="keep me")
    apply_import("hwid,owner_email\nH1,ada@example.com\n")
    device.refresh_from_db()
    assert (device.owner_name, device.owner_email, device.notes, device.primary_mac) == (
        "Ada", "ada@example.com", "keep me", "00:0c:29:00:00:01")


def test_an_update_reorders_macs_so_the_first_in_the_cell_is_the_primary(make_device):
    device = make_device("ws", hwid="H1", macs=["00:0c:29:00:00:01", "00:0c:29:00:00:02"])
    apply_import(HEADER + "ws,H1,00:0c:29:00:00:02 00:0c:29:00:00:03,,,\n")
    assert [(m.address, m.is_primary) for m in device.macs.all()] == [
        ("00:0c:29:00:00:02", True),
        ("00:0c:29:00:00:03", False),
    ]


def test_an_update_that_keeps_the_macs_leaves_their_rows_alone(make_device):
    device = make_device("ws", hwid="H1", macs=["00:0c:29:00:00:01", "00:0c:29:00:00:02"])
    before = list(device.macs.values_list("id", "address", "is_primary"))
    updated_at = device.updated_at
    result = apply_import(HEADER + "ws,H1,00-0C-29-00-00-01 00-0C-29-00-00-02,New owner,,\n")
    device.refresh_from_db()
    assert (result.updated, device.owner_name) == (1, "New owner")
    assert device.updated_at > updated_at
    assert list(device.macs.values_list("id", "address", "is_primary")) == before


def test_cells_longer_than_the_model_allows_are_row_errors(db):
    notes = "n" * 10_001
    plan = plan_import(HEADER + f"{'x' * 254},H1,,{'o' * 201},,{notes}\n" + f"{'x' * 253},H2,,{'o' * 200},,ok\n")
    assert plan.rows[0].errors == [
        "name is longer than 253 characters.",
        "owner_name is longer than 200 characters.",
        "notes is longer than 10000 characters.",
    ]
    assert plan.rows[1].ok


def test_a_row_with_a_broadcast_or_multicast_mac_is_an_error_saying_why(db):
    plan = plan_import(HEADER + "ws-1,,ff:ff:ff:ff:ff:ff,,,\nws-2,,01-00-5E-00-00-01,,,\nws-3,,00:0c:29:00:00:01,,,\n")
    errors = {row.line: " ".join(row.errors) for row in plan.error_rows}
    assert sorted(errors) == [2, 3]
    assert "'ff:ff:ff:ff:ff:ff' is the broadcast address" in errors[2]
    assert "'01:00:5e:00:00:01' is a multicast address" in errors[3]


def test_duplicates_inside_the_file_are_errors_that_name_the_first_line(db):
    plan = plan_import(HEADER + "a,H1,00:0c:29:00:00:01,,,\nb,H1,,,,\nc,,00-0C-29-00-00-01,,,\n")
    errors = {row.line: row.errors for row in plan.error_rows}
    assert errors == {3: ["H1 is also on line 2."], 4: ["00:0c:29:00:00:01 is also on line 2."]}


def test_identifiers_of_two_different_devices_in_one_row_are_refused(make_device):
    a = make_device("a", hwid="HA")
    b = make_device("b", macs=["00:0c:29:00:00:0b"])
    plan = plan_import(HEADER + "x,HA,00:0c:29:00:00:0b,,,\n")
    assert plan.error_rows[0].errors == [f"its identifiers belong to different devices: #{a.pk}, #{b.pk}."]


def test_bad_rows_are_reported_with_what_was_typed(db):
    plan = plan_import(
        HEADER
        + "ok,H1,,,,\n"
        + "badmac,,00:0c:zz:00:00:01,,,\n"
        + "badhwid,has space,,,,\n"
        + ",H2,,,,\n"
        + "noid,,,,,\n"
        + "bademail,H3,,,not-an-email,\n"
        + "short,H4\n"
    )
    errors = {row.line: " ".join(row.errors) for row in plan.error_rows}
    assert "'00:0c:zz:00:00:01' is not a MAC address" in errors[3]
    assert "'has space' is not a HWID" in errors[4]
    assert errors[5] == "name is empty."
    assert errors[6] == "needs a hwid or at least one MAC."
    assert "'not-an-email' is not an email address" in errors[7]
    assert errors[8] == "has 2 fields; the header has 6."
    assert plan.summary == {"rows": 7, "create": 1, "update": 0, "unchanged": 0, "errors": 6, "removing": 0}


def test_all_or_nothing_writes_nothing_when_a_row_is_bad(db):
    with pytest.raises(ImportRejected):
        apply_import(HEADER + "good,H1,,,,\nbad,,nope,,,\n")
    assert not Device.objects.exists()


def test_valid_rows_only_skips_the_bad_ones(db):
    result = apply_import(HEADER + "good,H1,,,,\nbad,,nope,,,\n", valid_rows_only=True)
    assert (result.created, result.skipped) == (1, 1)
    assert list(Device.objects.values_list("name", flat=True)) == ["good"]


def test_a_row_clashing_with_the_database_names_the_device(make_device):
    make_device("a", hwid="H1", macs=["00:0c:29:00:00:01"])
    make_device("b", hwid="H2")
    plan = plan_import(HEADER + "x,H2,00:0c:29:00:00:01,,,\n")
    assert "belong to different devices" in plan.error_rows[0].errors[0]


@pytest.mark.parametrize(
    "content, message",
    [
        (b"", "The file is empty."),
        (b"name,hwid\n", "header but no device rows"),
        (b"name,hwid,colour\nx,H1,red\n", "Unknown column(s) in the header: 'colour'"),
        (b"name,hwid,hwid\nx,H1,H1\n", "appear twice"),
        (b"name,notes\nx,y\n", "needs a hwid or a macs column"),
        (b"name,hwid\nx,H1\x00\n", "NUL"),
    ],
)
def test_a_file_that_is_not_an_inventory_is_refused_whole(db, content, message):
    with pytest.raises(CsvFormatError) as caught:
        plan_import(decode_upload(content))
    assert message in str(caught.value)


def test_a_file_in_another_encoding_is_refused_with_a_hint(db):
    with pytest.raises(CsvFormatError) as caught:
        decode_upload("name,hwid\nMünchen,H1\n".encode("latin-1"))
    assert "not UTF-8" in str(caught.value) and "0xfc" in str(caught.value)


def test_an_export_imports_back_unchanged(make_device):
    make_device("a", hwid="H1", macs=["00:0c:29:00:00:01", "00:0c:29:00:00:02"], owner_name="Ada", owner_email="a@example.com", notes="=SUM(A1)\nline two")
    make_device("b", macs=["00:0c:29:00:00:03"], notes="-starts with a dash, 'quoted'")
    make_device("c", hwid="6WXJURV8QAM0I7KC", owner_name="Zoë Ünicode")
    before = export_text()
    updated_at = dict(Device.objects.values_list("pk", "updated_at"))
    result = apply_import(before)
    assert (result.created, result.updated, result.unchanged) == (0, 0, 3)
    assert export_text() == before
    assert dict(Device.objects.values_list("pk", "updated_at")) == updated_at


def test_an_export_recreates_the_inventory_in_an_empty_database(make_device):
    make_device("a", hwid="H1", macs=["00:0c:29:00:00:01", "00:0c:29:00:00:02"], owner_name="Ada", notes="@mention")
    make_device("b", macs=["00:0c:29:00:00:03"])
    before = export_text()
    Device.objects.all().delete()
    assert apply_import(before).created == 2
    assert export_text() == before


def test_formula_cells_are_neutralised_in_the_export(make_device):
    make_device("=HYPERLINK(\"http://evil\")", hwid="H1")
    assert "'=HYPERLINK" in export_text()


@given(st.text(max_size=20))
def test_cell_escaping_round_trips_any_text(text):
    assert unescape_cell(escape_cell(text)) == text
    assert not escape_cell(text).startswith(("=", "+", "-", "@"))


def test_a_10000_row_file_imports_all_or_nothing(db):
    rows = [
        f"host-{n:05d},{n:032x},{(0x020000000000 + n).to_bytes(6, 'big').hex('-')},Owner {n},o{n}@example.com,note {n}\n"
        for n in range(10_000)
    ]
    text = HEADER + "".join(rows)
    started = time.perf_counter()
    result = apply_import(text)
    elapsed = time.perf_counter() - started
    assert result.created == 10_000
    assert Device.objects.count() == 10_000 and MacAddress.objects.count() == 10_000
    # A bad last row stops the whole second import.
    with pytest.raises(ImportRejected) as caught:
        apply_import(text.replace("host-00001", "renamed") + "bad,,xx,,,\n")
    assert [row.line for row in caught.value.plan.error_rows] == [10_002]
    assert not Device.objects.filter(name="renamed").exists()
    print(f"10,000-row import: {elapsed:.2f} s")


# ---------------------------------------------------------------- writing in short transactions

SIX_NEW = HEADER + "".join(f"n{i},H{i},00:0c:29:00:01:0{i},,,\n" for i in range(1, 7))


def test_an_import_commits_batch_by_batch_after_validating_the_whole_file(db):
    seen = []
    with pytest.raises(ImportRejected):
        apply_import(SIX_NEW + "bad,,nope,,,\n", batch_size=2, progress=lambda *p: seen.append(p))
    assert not Device.objects.exists() and not seen  # a bad last row: nothing written, even in batches
    counts = []
    result = apply_import(SIX_NEW, batch_size=2, progress=lambda done, total: counts.append(
        (done, total, Device.objects.count())))
    assert counts == [(2, 6, 2), (4, 6, 4), (6, 6, 6)]
    assert result.created == 6


def test_an_identifier_taken_between_batches_stops_the_import_there_and_importing_again_finishes(make_device):
    def rival_takes_a_mac(done, total):
        if done == 2:  # another user saves a device with line 5's MAC
            make_device("rival", macs=["00:0c:29:00:01:04"])

    with pytest.raises(ImportInterrupted) as stopped:
        apply_import(SIX_NEW, batch_size=2, progress=rival_takes_a_mac)
    rival = Device.objects.get(name="rival")
    assert stopped.value.line == 5
    assert f"its identifiers now belong to device #{rival.pk} (rival), saved since the preview" in str(stopped.value)
    assert "Lines before it were imported (2 created, 0 updated); nothing from line 5 on was written" in str(stopped.value)
    # The whole batch holding line 5 is left out, line 4 included.
    assert sorted(Device.objects.values_list("name", flat=True)) == ["n1", "n2", "rival"]
    again = apply_import(SIX_NEW)  # what was written plans as unchanged; the rest goes in as planned now
    assert (again.created, again.updated, again.unchanged) == (3, 1, 2)
    assert sorted(Device.objects.values_list("name", flat=True)) == [f"n{i}" for i in range(1, 7)]


def test_a_device_deleted_between_batches_stops_the_import_at_its_line(make_device):
    for i in range(1, 5):
        make_device(f"n{i}", hwid=f"H{i}")
    text = HEADER + "".join(f"renamed{i},H{i},,,,\n" for i in range(1, 5))
    doomed = Device.objects.get(hwid="H4")
    doomed_pk = doomed.pk

    def delete_it(done, total):
        if done == 2:
            doomed.delete()

    with pytest.raises(ImportInterrupted) as stopped:
        apply_import(text, batch_size=2, progress=delete_it)
    assert stopped.value.line == 5 and f"device #{doomed_pk} was deleted since the preview" in str(stopped.value)
    assert sorted(Device.objects.values_list("name", flat=True)) == ["n3", "renamed1", "renamed2"]


def test_an_update_lists_each_changed_column_and_the_identifiers_it_removes(make_device):
    make_device("eng-lt-002", hwid="H2", macs=["00:0c:29:00:00:01", "00:0c:29:00:00:02"], owner_name="Ada")
    make_device("eng-lt-003", hwid="H3", macs=["00:0c:29:00:00:03"], owner_name="Bob")
    plan = plan_import(HEADER + "ENG-LT-002,,00:0c:29:00:00:01,Ada,,\neng-lt-003,H3,00:0c:29:00:00:03 00:0c:29:00:00:04,Bo,,\n")
    cleared, renamed = plan.rows
    assert cleared.changes == [
        FieldChange("name", "eng-lt-002", "ENG-LT-002"),
        FieldChange("hwid", "H2", "", ("H2",)),
        FieldChange("macs", "00:0c:29:00:00:01 00:0c:29:00:00:02", "00:0c:29:00:00:01", ("00:0c:29:00:00:02",)),
    ]
    assert cleared.removes_identifiers
    assert renamed.changes == [
        FieldChange("macs", "00:0c:29:00:00:03", "00:0c:29:00:00:03 00:0c:29:00:00:04"),
        FieldChange("owner_name", "Bob", "Bo"),
    ]
    assert not renamed.removes_identifiers
    assert plan.summary["removing"] == 1


def test_a_header_of_more_columns_than_the_cap_is_refused_saying_how_many(db):
    from devices.csv_io.reading import MAX_COLUMNS

    header = "macs," + ",".join(["name"] * 100_000)
    with pytest.raises(CsvFormatError) as caught:
        plan_import(header + "\n" + "x," * 100_000 + "x\n")
    message = str(caught.value)
    assert "100,001 columns" in message and f"at most {MAX_COLUMNS}" in message
    assert len(message) < 500


def test_repeated_columns_within_the_cap_are_each_named_once(db):
    with pytest.raises(CsvFormatError) as caught:
        plan_import("macs," + ",".join(["name"] * 50 + ["notes"] * 40) + "\n" + "x," * 90 + "x\n")
    assert str(caught.value) == "Column(s) appear twice in the header: name, notes."


def test_many_unknown_columns_are_listed_by_a_few_names_and_a_count(db):
    header = ",".join(f"col{n}" for n in range(90)) + ",hwid"
    with pytest.raises(CsvFormatError) as caught:
        plan_import(header + "\n" + "x," * 90 + "H1\n")
    message = str(caught.value)
    assert "'col0', 'col1', 'col2', 'col3', 'col4' and 85 more" in message
    assert "col5" not in message


def test_a_very_long_unknown_column_name_is_shown_shortened(db):
    with pytest.raises(CsvFormatError) as caught:
        plan_import("hwid," + "c" * 5_000 + "\nH1,x\n")
    assert len(str(caught.value)) < 500 and "ccc…" in str(caught.value)


def test_the_import_command_refuses_a_header_past_the_cap(db, tmp_path):
    from django.core.management import CommandError, call_command

    path = tmp_path / "wide.csv"
    path.write_text("macs," + ",".join(["name"] * 20_000) + "\nx\n")
    with pytest.raises(CommandError, match="at most 100"):
        call_command("import_devices", str(path))


@pytest.mark.parametrize("opened_on", [2, 5])
def test_an_unterminated_quote_is_reported_on_the_line_it_opened(db, opened_on):
    lines = ["name,hwid"] + [f"d{n},H{n}" for n in range(2, opened_on)] + ['"never closed,H0']
    text = "\n".join(lines + [f"e{n},J{n}" for n in range(40_000)]) + "\n"
    with pytest.raises(CsvFormatError) as caught:
        plan_import(text)
    assert str(caught.value).startswith(f"Line {opened_on} ")
    assert "quote" in str(caught.value)


def test_a_header_line_too_long_to_be_an_inventory_is_refused_before_it_is_parsed(db):
    from devices.csv_io.reading import MAX_HEADER_CHARS

    with pytest.raises(CsvFormatError) as caught:
        plan_import('"hwid",' + ",".join(["x"] * MAX_HEADER_CHARS) + "\nH1\n")
    assert f"at most {MAX_HEADER_CHARS:,}" in str(caught.value) and len(str(caught.value)) < 500
