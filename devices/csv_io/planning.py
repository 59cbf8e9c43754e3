"""Planning an import: every row validated against the file and the database, nothing written.

Rows are planned in chunks as the file is read. What a row's checks need of
the rows before it (the identifiers already used, the devices already
updated) is all a Planner remembers, so a plan of a 100,000-row file holds
counts and the rows worth showing, not the file.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from itertools import islice

from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from devices.csv_io.cells import COLUMNS, MAX_LENGTHS, ONE_LINE_COLUMNS
from devices.csv_io.reading import ROW_ERROR, RawRow, iter_rows
from devices.inventory import DeviceRecord, identifier_owners, stored_records
from devices.validators import normalize_hwid, normalize_mac_list, validate_one_line

# Rows per round of database lookups while planning.
PLAN_CHUNK = 5000
# Valid rows a plan keeps to show (every row with errors is kept).
KEEP_ROWS = 500


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
    """What importing a file would do.

    The counts cover every row. `rows` keeps, in file order, every row with
    errors, the first `keep` valid rows and the first `keep` rows that remove
    identifiers: what a preview shows. `targets` maps the line of each valid
    row that matches a device to that device's id.
    """

    columns: list[str]
    keep: int = KEEP_ROWS
    rows: list[PlannedRow] = field(default_factory=list)
    targets: dict[int, int] = field(default_factory=dict)
    counts: Counter = field(default_factory=Counter)

    def add(self, row: PlannedRow) -> None:
        counts = self.counts
        counts["rows"] += 1
        if not row.ok:
            counts["errors"] += 1
            self.rows.append(row)
            return
        counts[row.action] += 1
        if row.device_id is not None:
            self.targets[row.line] = row.device_id
        removing = row.removes_identifiers
        if removing:
            counts["removing"] += 1
        if counts["create"] + counts["update"] + counts["unchanged"] <= self.keep or (
            removing and counts["removing"] <= self.keep
        ):
            self.rows.append(row)

    def count(self, action: str) -> int:
        return self.counts[action]

    @property
    def error_rows(self) -> list[PlannedRow]:
        return [row for row in self.rows if not row.ok]

    @property
    def valid_count(self) -> int:
        return self.counts["create"] + self.counts["update"] + self.counts["unchanged"]

    @property
    def summary(self) -> dict[str, int]:
        return {name: self.counts[name] for name in ("rows", "create", "update", "unchanged", "errors", "removing")}


def chunked(rows: Iterable[RawRow], size: int) -> Iterator[list[RawRow]]:
    rows = iter(rows)
    while chunk := list(islice(rows, size)):
        yield chunk


def plan_import(text: str, *, keep: int = KEEP_ROWS) -> ImportPlan:
    """Validate every row against the file itself and the database; write nothing."""
    columns, raw_rows = iter_rows(text)
    plan = ImportPlan(columns, keep)
    planner = Planner(columns)
    for chunk in chunked(raw_rows, PLAN_CHUNK):
        for row in planner.plan(chunk):
            plan.add(row)
    return plan


def _messages(exc: ValidationError) -> list[str]:
    return list(exc.messages)


class Planner:
    """Plans a file's rows chunk after chunk, in file order.

    A row's checks against the rows before it (an identifier also on an
    earlier line, a device an earlier line updates) use what the planner
    remembers of the earlier chunks, so the chunks plan exactly as the whole
    file at once would.
    """

    def __init__(self, columns: list[str], *, checked: bool = False):
        """`checked`: the rows passed the checks of the file alone already (their cells' lengths,
        lines and emails, an identifier on two lines), so only the database is looked at again."""
        self.columns = columns
        self.checked = checked
        # The checks of the columns the file has, worked out once rather than per row.
        self.lengths = [] if checked else [(name, limit) for name, limit in MAX_LENGTHS.items() if name in columns]
        self.one_line = [] if checked else [name for name in ONE_LINE_COLUMNS if name in columns]
        self.has_email = not checked and "owner_email" in columns
        self.given = {name: name in columns for name in COLUMNS}
        self.first_seen: dict[str, int] = {}  # identifier → line of the first row with it
        self.target_lines: dict[int, int] = {}  # device id → line of the first row updating it

    def plan(self, raw_rows: list[RawRow]) -> list[PlannedRow]:
        """Validate these rows, the next ones of the file, against the earlier ones and the database."""
        columns = self.columns
        rows: list[PlannedRow] = []
        for raw in raw_rows:
            if ROW_ERROR in raw.values:
                rows.append(PlannedRow(raw.line, {}, [raw.values[ROW_ERROR]]))
            else:
                rows.append(PlannedRow(raw.line, raw.values))

        # Field-level checks, and the normalised identifiers of each row.
        parsed: dict[int, tuple[str | None, list[str]]] = {}
        bad_identifiers: set[int] = set()
        has_hwid, has_macs = "hwid" in columns, "macs" in columns
        lengths, one_line, has_email = self.lengths, self.one_line, self.has_email
        for index, row in enumerate(rows):
            if row.errors:
                continue
            values, errors = row.values, row.errors
            hwid, macs = None, []
            if has_hwid:
                try:
                    hwid = normalize_hwid(values["hwid"])
                except ValidationError as exc:
                    errors += _messages(exc)
            if has_macs:
                try:
                    macs = normalize_mac_list(values["macs"])
                except ValidationError as exc:
                    errors += _messages(exc)
            if errors:
                bad_identifiers.add(index)
            for name, limit in lengths:
                # Stripping only shortens: a cell within the limit is within it stripped.
                value = values[name]
                if len(value) > limit and len(value.strip()) > limit:
                    errors.append(f"{name} is longer than {limit} characters.")
            for name in one_line:
                value = values[name]
                if value.isprintable():  # no control character nor line separator: one line
                    continue
                try:
                    validate_one_line(value.strip())
                except ValidationError as exc:
                    errors += [f"{name}: {message}" for message in _messages(exc)]
            email = values["owner_email"].strip() if has_email else ""
            if email:
                try:
                    validate_email(email)
                except ValidationError:
                    errors.append(f"owner_email {email[:60]!r} is not an email address.")
            parsed[index] = (hwid, macs)

        # Identifiers repeated inside the file.
        first_seen = self.first_seen
        for index, (hwid, macs) in () if self.checked else parsed.items():
            row = rows[index]
            for key in ([hwid] if hwid else []) + macs:
                if key in first_seen:
                    row.errors.append(f"{key} is also on line {first_seen[key]}.")
                else:
                    first_seen[key] = row.line

        # Which existing device each row matches.
        hwid_owner, mac_owner = identifier_owners(
            [p[0] for p in parsed.values() if p[0]], [m for p in parsed.values() for m in p[1]]
        )
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

        existing = stored_records(sorted(set(targets.values()))) if targets else {}
        for index, (hwid, macs) in parsed.items():
            self._complete(rows[index], hwid, macs, existing.get(targets.get(index)), targets.get(index),
                           index in bad_identifiers)
        return rows

    def _complete(self, row: PlannedRow, hwid: str | None, macs: list[str], stored: DeviceRecord | None,
                  device_id: int | None, bad_identifiers: bool) -> None:
        """The row's record, its action and its checks against the device it updates."""
        given = self.given
        if stored is not None:
            row.device_id, row.device_name = device_id, stored.name
            if device_id in self.target_lines:
                row.errors.append(f"updates the same device as line {self.target_lines[device_id]}.")
            self.target_lines.setdefault(device_id, row.line)
            current = stored
        else:
            current = DeviceRecord(name="", hwid=None)
        values = row.values
        record = DeviceRecord(
            values["name"].strip() if given["name"] else current.name,
            hwid if given["hwid"] else current.hwid,
            macs if given["macs"] else current.macs,
            values["owner_name"].strip() if given["owner_name"] else current.owner_name,
            values["owner_email"].strip() if given["owner_email"] else current.owner_email,
            values["notes"].strip() if given["notes"] else current.notes,
        )
        if not record.name:
            row.errors.append("name is empty.")
        if not record.hwid and not record.macs and not bad_identifiers:
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
