"""Applying an import: the whole file validated first, then written in short transactions.

Each batch is planned again inside its own transaction, under the lock, so it
is written only as the preview showed it. A batch is sized to hold the lock
for about BATCH_SECONDS whatever its rows cost, and on SQLite the import then
steps aside long enough for every waiting writer (a click, the cluster) to
get in.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from itertools import islice

from django.db import IntegrityError, connection, transaction

from devices.csv_io.planning import ImportPlan, PlannedRow, Planner, plan_import
from devices.csv_io.reading import RawRow, iter_rows
from devices.inventory import lock_devices, save_devices

# Rows per write transaction when fixed (benchmarks); None sizes them by time,
# from FIRST_BATCH rows on.
IMPORT_BATCH: int | None = None
FIRST_BATCH = 2000
# How long one write transaction may hold the lock (SQLite has one for the whole database).
BATCH_SECONDS = 0.5
BATCH_LIMITS = (200, 20_000)
# SQLite's busy handler looks again at most every 100 ms, and sooner while it
# has waited less: a gap as long as the batch (up to this) lets every waiting
# writer in.
BATCH_PAUSE = 0.15
# PostgreSQL, for each batch's transaction only. Not waiting for the WAL flush
# is safe: a crash loses at most the last batches, which importing the file
# again writes. The trigram GIN indexes merge their pending list in work_mem:
# more of it, fewer passes over the index.
POSTGRES_SETTINGS = ("synchronous_commit = off", "work_mem = '64MB'")
# Called inside each batch's transaction with the created devices' (id, name)
# and the update rows: the audit's hook (devices.audit.import_recorder).
Written = Callable[[list[tuple[int, str]], list[PlannedRow]], None]


class ImportRejected(Exception):
    """The import would have written rows with errors; nothing was written."""

    def __init__(self, plan: ImportPlan):
        super().__init__(f"{plan.counts['errors']} row(s) have errors; nothing was imported.")
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
                 on_written: Written | None = None) -> ImportResult:
    """Validate the whole file, then write it in short transactions.

    Raises ImportRejected, having written nothing, when rows have errors and
    `valid_rows_only` is False. Each batch is planned again inside its own
    transaction, so it is written only as the preview showed it; when the
    inventory moved underneath (another user took an identifier, a target
    device was deleted), ImportInterrupted says how far the import got.
    `batch_size` fixes the rows per transaction (default: sized by time).
    Between batches other writers get the database (`pause`: at most so many
    seconds, SQLite only); `progress(rows written, rows to write)` is called
    after each commit, `on_written(created, update rows)` before it (the audit).
    """
    plan = plan_import(text)
    if plan.counts["errors"] and not valid_rows_only:
        raise ImportRejected(plan)
    skip = {row.line for row in plan.error_rows}
    columns, raw_rows = iter_rows(text)
    valid = (raw for raw in raw_rows if raw.line not in skip)
    if pause is None:
        pause = BATCH_PAUSE if connection.vendor == "sqlite" else 0.0
    fixed = batch_size or IMPORT_BATCH
    total, written, size = plan.valid_count, 0, fixed or FIRST_BATCH
    done = ImportResult(created=0, updated=0, unchanged=0, skipped=plan.counts["errors"], plan=plan)
    while batch := list(islice(valid, size)):
        started = time.perf_counter()
        try:
            created, updated, unchanged = _write_batch(columns, batch, plan.targets, on_written)
        except _BatchMoved as moved:
            raise ImportInterrupted(done, moved.line, moved.reason) from None
        except IntegrityError:
            raise ImportInterrupted(done, batch[0].line, "the inventory changed while this part was written.") from None
        held = time.perf_counter() - started
        done.created += created
        done.updated += updated
        done.unchanged += unchanged
        written += len(batch)
        if progress is not None:
            progress(written, total)
        if not fixed:
            size = next_batch_size(len(batch), held)
        if pause and written < total:
            time.sleep(min(pause, held + 0.01))
    return done


def next_batch_size(rows: int, seconds: float) -> int:
    """Rows the next transaction can write in about BATCH_SECONDS, at the pace of the last one."""
    low, high = BATCH_LIMITS
    return max(low, min(high, int(rows * BATCH_SECONDS / max(seconds, 1e-3))))


class _BatchMoved(Exception):
    def __init__(self, line: int, reason: str):
        super().__init__(reason)
        self.line, self.reason = line, reason


@transaction.atomic
def _write_batch(columns: list[str], raw_batch: list[RawRow], targets: dict[int, int],
                 on_written: Written | None = None) -> tuple[int, int, int]:
    """Plan these rows again under the write lock and write them if they still match the plan."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            for setting in POSTGRES_SETTINGS:
                cursor.execute(f"SET LOCAL {setting}")
    # PostgreSQL: nobody edits or deletes the batch's devices until it commits.
    lock_devices(sorted({targets[raw.line] for raw in raw_batch if raw.line in targets}))
    # The whole file passed its own checks just before: only what the database says can have changed.
    fresh = Planner(columns, checked=True).plan(raw_batch)
    for now in fresh:
        planned = targets.get(now.line)
        if now.errors:
            raise _BatchMoved(now.line, f"{now.errors[0]} The inventory changed since the preview.")
        if now.device_id != planned:
            moved = (f"device #{planned} was deleted since the preview." if now.device_id is None
                     else f"its identifiers now belong to device #{now.device_id} ({now.device_name}), saved since the preview.")
            raise _BatchMoved(now.line, moved)
    creates = [row.record for row in fresh if row.action == "create"]
    updates = {row.device_id: row.record for row in fresh if row.action == "update"}
    created_ids = save_devices(creates, updates)
    if on_written is not None:
        on_written(list(zip(created_ids, [record.name for record in creates], strict=True)),
                   [row for row in fresh if row.action == "update"])
    return len(creates), len(updates), sum(1 for row in fresh if row.action == "unchanged")
