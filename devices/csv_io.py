"""CSV import and export of the inventory.

Columns: name,hwid,macs,owner_name,owner_email,notes. `macs` holds several
MACs separated by spaces, the first being the primary. An export imports back
unchanged. Import is two steps: `plan_import` validates every row against the
file and the database without writing; `apply_import` validates again, then
writes all rows (or only the valid ones) in short transactions of a few
thousand rows, each re-planned under the lock so it is written as planned.
"""

from __future__ import annotations

import csv
import io
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, connection, transaction
from django.db.models import QuerySet

from devices.inventory import DeviceRecord, in_chunks, save_devices, stored_records
from devices.models import Device, MacAddress
from devices.validators import normalize_hwid, normalize_mac_list, validate_one_line

COLUMNS = ("name", "hwid", "macs", "owner_name", "owner_email", "notes")
# What the cloud says of a device: exported to be read, ignored by the import (only a sync writes them).
CLOUD_COLUMNS = ("compliance", "exempt_mode", "last_seen", "in_cloud")
EXPORT_COLUMNS = COLUMNS + CLOUD_COLUMNS
# A quoted CSV field may hold a line break; a name may not.
ONE_LINE_COLUMNS = ("name", "owner_name")
MAX_LENGTHS = {name: Device._meta.get_field(name).max_length for name in ("name", "owner_name", "owner_email", "notes")}
# Cells starting with these are formulas to a spreadsheet: the export prefixes
# them with an apostrophe, and the import takes it off again.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# Rows per write transaction: each holds SQLite's one write lock for well under a second.
IMPORT_BATCH = 2000
# SQLite's busy handler looks again at most every 100 ms: a longer gap between
# batches lets every waiting writer (a click, the cluster) in.
BATCH_PAUSE = 0.15


class CsvFormatError(ValueError):
    """The file as a whole cannot be read as an inventory CSV."""


def escape_cell(value: str) -> str:
    if value.startswith(_FORMULA_STARTS) or (
        value.startswith("'") and value[1:2] and value[1:].startswith(_FORMULA_STARTS + ("'",))
    ):
        return "'" + value
    return value


def unescape_cell(value: str) -> str:
    if value.startswith("'") and value[1:2] and value[1:].startswith(_FORMULA_STARTS + ("'",)):
        return value[1:]
    return value


# ---------------------------------------------------------------- export


class Echo:
    """A file-like object whose write returns the line: csv.writer for streaming."""

    def write(self, value: str) -> str:
        return value


_EXPORT_CHUNK = 2000


def csv_lines(header: Sequence[str], rows: Iterable[Sequence]) -> Iterator[str]:
    """CSV lines, header first, every cell escaped so a spreadsheet runs no formula."""
    writer = csv.writer(Echo(), lineterminator="\r\n")
    yield writer.writerow(header)
    for values in rows:
        yield writer.writerow([escape_cell(str(value)) for value in values])


def iter_devices_csv(devices: QuerySet[Device]) -> Iterator[str]:
    """CSV lines for `devices`, in their order, header first."""
    return csv_lines(EXPORT_COLUMNS, device_rows(devices))


def device_rows(devices: QuerySet[Device]) -> Iterator[tuple[str, ...]]:
    """The export columns' values for `devices`, in their order.

    Reads plain tuples in chunks with one MAC query per chunk: model
    instances and prefetch_related cost ~5x more at 100,000 devices.
    """
    rows = devices.values_list("pk", "name", "hwid", "owner_name", "owner_email", "notes", "compliance", "exempt_mode",
                               "last_seen_at", "cloud_synced_at", "cloud_missing_since")
    chunk: list[tuple] = []
    for row in rows.iterator(chunk_size=_EXPORT_CHUNK):
        chunk.append(row)
        if len(chunk) == _EXPORT_CHUNK:
            yield from _chunk_rows(chunk)
            chunk = []
    yield from _chunk_rows(chunk)


def _chunk_rows(chunk: list[tuple]) -> Iterator[tuple[str, ...]]:
    macs: dict[int, list[str]] = defaultdict(list)
    found = (
        MacAddress.objects.filter(device_id__in=[row[0] for row in chunk])
        .order_by("device_id", "-is_primary", "id")  # primary first, as DeviceRecord.of
        .values_list("device_id", "address")
    )
    for device_id, address in found:
        macs[device_id].append(address)
    for pk, name, hwid, owner_name, owner_email, notes, compliance, exempt, seen, synced, missing in chunk:
        yield (name, hwid or "", " ".join(macs[pk]), owner_name, owner_email, notes, compliance, exempt or "",
               seen.isoformat() if seen else "", {True: "yes", False: "no"}.get(Device.presence(synced, missing), ""))


# ---------------------------------------------------------------- reading


def decode_upload(data: bytes) -> str:
    """UTF-8 text with or without a byte-order mark, or CsvFormatError."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise CsvFormatError(
            f"The file is not UTF-8 text (byte 0x{data[exc.start]:02x} at position {exc.start}). "
            "Save it as “CSV UTF-8” and upload it again."
        ) from None


def _sniff_delimiter(header_line: str) -> str:
    return ";" if header_line.count(";") > header_line.count(",") else ","


@dataclass
class RawRow:
    line: int
    values: dict[str, str]


def read_rows(text: str) -> tuple[list[str], list[RawRow]]:
    """The header's columns and every non-blank row, or CsvFormatError."""
    text = text.lstrip("\ufeff")
    if "\x00" in text:
        raise CsvFormatError("The file contains NUL bytes: it is not a CSV text file.")
    first_line = next((line for line in text.splitlines() if line.strip()), None)
    if first_line is None:
        raise CsvFormatError("The file is empty.")
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_sniff_delimiter(first_line))
    columns: list[str] | None = None
    rows: list[RawRow] = []
    try:
        for cells in reader:
            if not any(cell.strip() for cell in cells):
                continue
            if columns is None:
                columns = [cell.strip().lower() for cell in cells]
                _check_header(columns)
                continue
            if len(cells) != len(columns):
                rows.append(
                    RawRow(reader.line_num, {"__error__": f"has {len(cells)} fields; the header has {len(columns)}."})
                )
                continue
            rows.append(RawRow(reader.line_num, dict(zip(columns, cells))))
    except csv.Error as exc:
        raise CsvFormatError(f"Line {reader.line_num} cannot be read as CSV: {exc}.") from None
    assert columns is not None
    if not rows:
        raise CsvFormatError("The file has a header but no device rows.")
    return columns, rows


def _check_header(columns: list[str]) -> None:
    unknown = [c for c in columns if c not in EXPORT_COLUMNS]
    if unknown:
        raise CsvFormatError(f"Unknown column(s) in the header: {', '.join(repr(c) for c in unknown)}. "
                             f"The columns are: {','.join(COLUMNS)} (and, ignored, {','.join(CLOUD_COLUMNS)}).")
    repeated = sorted({c for c in columns if columns.count(c) > 1})
    if repeated:
        raise CsvFormatError("Column(s) appear twice in the header: " + ", ".join(repeated) + ".")
    if "hwid" not in columns and "macs" not in columns:
        raise CsvFormatError("The header needs a hwid or a macs column, to match rows to devices.")


# ---------------------------------------------------------------- planning


@dataclass(frozen=True)
class FieldChange:
    """One column an update changes, as the preview shows it: old → new."""

    column: str
    old: str
    new: str
    removed: tuple[str, ...] = ()  # identifiers the device loses: its HWID, MACs no longer listed


def record_changes(old: DeviceRecord, new: DeviceRecord) -> list[FieldChange]:
    """What writing `new` over `old` changes, column by column."""
    changes = []
    for column in COLUMNS:
        before, after = getattr(old, column), getattr(new, column)
        if before == after:
            continue
        if column == "macs":
            removed = tuple(mac for mac in before if mac not in after)
            before, after = " ".join(before), " ".join(after)
        else:
            removed = (before,) if column == "hwid" and before else ()
        changes.append(FieldChange(column, before or "", after or "", removed))
    return changes


@dataclass
class PlannedRow:
    line: int
    values: dict[str, str]
    errors: list[str] = field(default_factory=list)
    action: str = ""  # "create", "update" or "unchanged" when valid
    device_id: int | None = None
    device_name: str = ""
    record: DeviceRecord | None = None
    changes: list[FieldChange] = field(default_factory=list)  # of an update

    @property
    def removes_identifiers(self) -> bool:
        return any(change.removed for change in self.changes)

    @property
    def ok(self) -> bool:
        return not self.errors


@dataclass
class ImportPlan:
    columns: list[str]
    rows: list[PlannedRow]

    def count(self, action: str) -> int:
        return sum(1 for row in self.rows if row.ok and row.action == action)

    @property
    def error_rows(self) -> list[PlannedRow]:
        return [row for row in self.rows if not row.ok]

    @property
    def summary(self) -> dict[str, int]:
        return {
            "rows": len(self.rows),
            "create": self.count("create"),
            "update": self.count("update"),
            "unchanged": self.count("unchanged"),
            "errors": len(self.error_rows),
            "removing": sum(1 for row in self.rows if row.ok and row.removes_identifiers),
        }


def _messages(exc: ValidationError) -> list[str]:
    return list(exc.messages)


def plan_import(text: str) -> ImportPlan:
    """Validate every row against the file itself and the database; write nothing."""
    return plan_rows(*read_rows(text))


def plan_rows(columns: list[str], raw_rows: list[RawRow]) -> ImportPlan:
    """Validate these rows against each other and the database; write nothing."""
    rows: list[PlannedRow] = []
    for raw in raw_rows:
        row = PlannedRow(raw.line, {k: unescape_cell(v) for k, v in raw.values.items()})
        if "__error__" in raw.values:
            row.errors.append(raw.values["__error__"])
            row.values = {}
        rows.append(row)

    # Field-level checks, and the normalised identifiers of each row.
    parsed: dict[int, tuple[str | None, list[str]]] = {}
    bad_identifiers: set[int] = set()
    for index, row in enumerate(rows):
        if row.errors:
            continue
        hwid, macs = None, []
        identifier_errors = len(row.errors)
        if "hwid" in columns:
            try:
                hwid = normalize_hwid(row.values["hwid"])
            except ValidationError as exc:
                row.errors += _messages(exc)
        if "macs" in columns:
            try:
                macs = normalize_mac_list(row.values["macs"])
            except ValidationError as exc:
                row.errors += _messages(exc)
        if len(row.errors) > identifier_errors:
            bad_identifiers.add(index)
        for name, limit in MAX_LENGTHS.items():
            value = row.values.get(name, "").strip()
            if len(value) > limit:
                row.errors.append(f"{name} is longer than {limit} characters.")
        for name in ONE_LINE_COLUMNS:
            try:
                validate_one_line(row.values.get(name, "").strip())
            except ValidationError as exc:
                row.errors += [f"{name}: {message}" for message in _messages(exc)]
        email = row.values.get("owner_email", "").strip()
        if email:
            try:
                validate_email(email)
            except ValidationError:
                row.errors.append(f"owner_email {email[:60]!r} is not an email address.")
        parsed[index] = (hwid, macs)

    # Identifiers repeated inside the file.
    first_seen: dict[str, int] = {}
    for index, row in enumerate(rows):
        if index not in parsed:
            continue
        hwid, macs = parsed[index]
        for key in ([hwid] if hwid else []) + macs:
            if key in first_seen:
                row.errors.append(f"{key} is also on line {rows[first_seen[key]].line}.")
            else:
                first_seen[key] = index

    # Which existing device each row matches.
    all_hwids = [p[0] for p in parsed.values() if p[0]]
    all_macs = [m for p in parsed.values() for m in p[1]]
    hwid_owner: dict[str, int] = {}
    for chunk in in_chunks(all_hwids):
        hwid_owner.update(Device.objects.filter(hwid__in=chunk).values_list("hwid", "id"))
    mac_owner: dict[str, int] = {}
    for chunk in in_chunks(all_macs):
        mac_owner.update(MacAddress.objects.filter(address__in=chunk).values_list("address", "device_id"))
    targets: dict[int, int] = {}
    for index, (hwid, macs) in parsed.items():
        owners = {hwid_owner[hwid]} if hwid in hwid_owner else set()
        owners |= {mac_owner[m] for m in macs if m in mac_owner}
        if len(owners) > 1:
            rows[index].errors.append(
                "its identifiers belong to different devices: "
                + ", ".join(f"#{pk}" for pk in sorted(owners))
                + "."
            )
        elif owners:
            targets[index] = owners.pop()

    existing = stored_records(sorted(set(targets.values())))
    target_lines: dict[int, int] = {}
    for index, row in enumerate(rows):
        if index not in parsed:
            continue
        hwid, macs = parsed[index]
        device_id = targets.get(index)
        stored = existing.get(device_id) if device_id is not None else None
        if stored is not None:
            row.device_id, row.device_name = device_id, stored.name
            if device_id in target_lines:
                row.errors.append(f"updates the same device as line {target_lines[device_id]}.")
            target_lines.setdefault(device_id, row.line)
            current = stored
        else:
            current = DeviceRecord(name="", hwid=None)
        record = DeviceRecord(
            name=row.values["name"].strip() if "name" in columns else current.name,
            hwid=hwid if "hwid" in columns else current.hwid,
            macs=macs if "macs" in columns else current.macs,
            owner_name=row.values["owner_name"].strip() if "owner_name" in columns else current.owner_name,
            owner_email=row.values["owner_email"].strip() if "owner_email" in columns else current.owner_email,
            notes=row.values["notes"].strip() if "notes" in columns else current.notes,
        )
        if not record.name:
            row.errors.append("name is empty.")
        if not record.hwid and not record.macs and index not in bad_identifiers:
            row.errors.append(
                "needs a hwid or at least one MAC."
                if stored is None
                else "would leave the device with neither a hwid nor a MAC."
            )
        row.record = record
        if stored is None:
            row.action = "create"
        elif record == current:
            row.action = "unchanged"
        else:
            row.action = "update"
            row.changes = record_changes(current, record)
    return ImportPlan(columns, rows)


# ---------------------------------------------------------------- applying


class ImportRejected(Exception):
    """The import would have written rows with errors; nothing was written."""

    def __init__(self, plan: ImportPlan):
        super().__init__(f"{len(plan.error_rows)} row(s) have errors; nothing was imported.")
        self.plan = plan


@dataclass
class ImportResult:
    created: int
    updated: int
    unchanged: int
    skipped: int
    plan: ImportPlan


class ImportInterrupted(Exception):
    """A batch could not be written because the inventory changed since the plan.

    The batches before it stay written (`done` counts them); nothing from
    `line` on was written. Importing the same file again finishes the job:
    rows already written plan as unchanged.
    """

    def __init__(self, done: ImportResult, line: int, reason: str):
        super().__init__(
            f"Stopped at line {line}: {reason} Lines before it were imported ({done.created} created, "
            f"{done.updated} updated); nothing from line {line} on was written. Import the file again to finish."
        )
        self.done, self.line, self.reason = done, line, reason


def apply_import(text: str, *, valid_rows_only: bool = False, batch_size: int | None = None,
                 pause: float | None = None, progress: Callable[[int, int], None] | None = None,
                 on_written: Callable[[list[Device], list[PlannedRow]], None] | None = None) -> ImportResult:
    """Validate the whole file, then write it in short transactions of `batch_size` rows.

    Raises ImportRejected, having written nothing, when rows have errors and
    `valid_rows_only` is False. Each batch is planned again inside its own
    transaction, so it is written only as the preview showed it; when the
    inventory moved underneath (another user took an identifier, a target
    device was deleted), ImportInterrupted says how far the import got.
    Between batches other writers get the database (`pause`: seconds, SQLite
    only); `progress(rows written, rows to write)` after each commit, `on_written(created, updates)` before it.
    """
    columns, raw_rows = read_rows(text)
    plan = plan_rows(columns, raw_rows)
    if plan.error_rows and not valid_rows_only:
        raise ImportRejected(plan)
    raw_of = {raw.line: raw for raw in raw_rows}
    valid = [row for row in plan.rows if row.ok]
    batch_size = batch_size or IMPORT_BATCH
    if pause is None:
        pause = BATCH_PAUSE if connection.vendor == "sqlite" else 0.0
    done = ImportResult(created=0, updated=0, unchanged=0, skipped=len(plan.error_rows), plan=plan)
    for start in range(0, len(valid), batch_size):
        if start and pause:
            time.sleep(pause)
        batch = valid[start:start + batch_size]
        try:
            created, updated, unchanged = _write_batch(columns, [raw_of[row.line] for row in batch], batch, on_written)
        except _BatchMoved as moved:
            raise ImportInterrupted(done, moved.line, moved.reason) from None
        except IntegrityError:
            raise ImportInterrupted(done, batch[0].line, "the inventory changed while this part was written.") from None
        done.created += created
        done.updated += updated
        done.unchanged += unchanged
        if progress is not None:
            progress(start + len(batch), len(valid))
    return done


class _BatchMoved(Exception):
    def __init__(self, line: int, reason: str):
        super().__init__(reason)
        self.line, self.reason = line, reason


@transaction.atomic
def _write_batch(columns: list[str], raw_batch: list[RawRow], planned: list[PlannedRow],
                 on_written: Callable[[list[Device], list[PlannedRow]], None] | None = None) -> tuple[int, int, int]:
    """Plan these rows again under the write lock and write them if they still match the plan."""
    targets = sorted({row.device_id for row in planned if row.device_id is not None})
    for chunk in in_chunks(targets):
        # PostgreSQL: nobody edits or deletes the batch's devices until it commits.
        list(Device.objects.select_for_update().filter(pk__in=chunk).values_list("pk", flat=True))
    fresh = plan_rows(columns, raw_batch).rows
    for before, now in zip(planned, fresh):
        if now.errors:
            raise _BatchMoved(now.line, f"{now.errors[0]} The inventory changed since the preview.")
        if now.device_id != before.device_id:
            moved = (f"device #{before.device_id} was deleted since the preview." if now.device_id is None
                     else f"its identifiers now belong to device #{now.device_id} ({now.device_name}), saved since the preview.")
            raise _BatchMoved(now.line, moved)
    creates = [row.record for row in fresh if row.action == "create"]
    updates = {row.device_id: row.record for row in fresh if row.action == "update"}
    created = save_devices(creates, updates)
    if on_written is not None:
        on_written(created, [row for row in fresh if row.action == "update"])
    return len(creates), len(updates), sum(1 for row in fresh if row.action == "unchanged")
