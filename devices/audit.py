"""The audit log's one writer: who queued, emailed, created, edited, imported or deleted what."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from devices.models import Action, AuditEntry, BulkJob, Device, DeviceImport

DETAIL_MAX = AuditEntry._meta.get_field("detail").max_length
NAME_MAX = AuditEntry._meta.get_field("device_name").max_length
# Rows per INSERT: an import or a bulk delete writes one row per device.
BULK_BATCH = 1000

# (device id or None, the device's name, [[field, old, new], ...])
DeviceChange = tuple[int | None, str, list]


def _who(user) -> tuple:
    """The user to link and the name to keep; None or anonymous is the system."""
    return (user if getattr(user, "pk", None) else None), (getattr(user, "username", "") or "system")


def record(verb: str, user, *, action: Action | None = None, device: Device | None = None,
           kind: str = "", bulk_job: BulkJob | None = None, detail: str = "",
           changes: list | None = None) -> AuditEntry:
    """Write one audit entry; `changes` lists [field, old, new] of an edit."""
    linked, username = _who(user)
    return AuditEntry.objects.create(
        verb=verb,
        user=linked,
        username=username,
        kind=kind or (action.kind if action else ""),
        device=device,
        device_name=device.name if device else "",
        action=action,
        bulk_job=bulk_job,
        detail=detail[:DETAIL_MAX],
        changes=changes or [],
    )


def record_many(verb: str, user, rows: Iterable[DeviceChange], *, detail: str = "") -> int:
    """Write one entry per device in `rows`, a few INSERTs per thousand; returns how many."""
    linked, username = _who(user)
    entries = [
        AuditEntry(verb=verb, user=linked, username=username, device_id=device_id,
                   device_name=name[:NAME_MAX], detail=detail[:DETAIL_MAX], changes=changes)
        for device_id, name, changes in rows
    ]
    AuditEntry.objects.bulk_create(entries, batch_size=BULK_BATCH)
    return len(entries)


def import_recorder(user, device_import: DeviceImport) -> Callable[[list[tuple[int, str]], list], None]:
    """What the CSV import calls after each batch it writes: one IMPORTED entry per device.

    The callable takes the (id, name) of each device the batch created and its
    planned update rows (device_id, record, changes as column/old/new).
    """
    source = f"{device_import.filename} (import {str(device_import.pk)[:8]})"

    def written(created: list[tuple[int, str]], updated: list) -> None:
        record_many(AuditEntry.Verb.IMPORTED, user,
                    [(pk, name, []) for pk, name in created], detail=f"Created from {source}")
        record_many(
            AuditEntry.Verb.IMPORTED, user,
            [(row.device_id, row.record.name, [[c.column, c.old, c.new] for c in row.changes]) for row in updated],
            detail=f"Updated from {source}",
        )

    return written
