"""The audit log's one writer: who queued, cancelled, retried, emailed, created, changed, imported or deleted what."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from django.utils import timezone

from devices.bulk_insert import insert_rows
from devices.models import Action, AuditEntry, BulkJob, Device, DeviceImport

DETAIL_MAX = AuditEntry._meta.get_field("detail").max_length
# Rows per INSERT when many entries are written at once (a sync page, a mark of missing devices).
BULK_BATCH = 500


def entry(verb: str, user, *, action: Action | None = None, device: Device | None = None,
          kind: str = "", bulk_job: BulkJob | None = None, detail: str = "",
          changes: list[list[str]] | None = None) -> AuditEntry:
    """One audit entry, not saved yet; `user` may be None or anonymous (the system acted).

    `changes`: [[field, old, new], ...], values as text.
    """
    return AuditEntry(
        verb=verb,
        user=user if getattr(user, "pk", None) else None,
        username=getattr(user, "username", "") or "system",
        kind=kind or (action.kind if action else ""),
        device=device,
        device_name=device.name if device else "",
        action=action,
        bulk_job=bulk_job,
        detail=detail[:DETAIL_MAX],
        changes=changes or [],
    )


def record(verb: str, user, **fields) -> AuditEntry:
    """Write one audit entry (the fields as `entry` takes them)."""
    written = entry(verb, user, **fields)
    written.save()
    return written


def record_many(entries: Iterable[AuditEntry]) -> int:
    """Write many entries built by `entry` in a few INSERTs; returns how many."""
    return len(AuditEntry.objects.bulk_create(list(entries), batch_size=BULK_BATCH))


def import_recorder(user, device_import: DeviceImport) -> Callable[[list[tuple[int, str]], list], None]:
    """What the CSV import calls after each batch it writes: one IMPORTED entry per device, in bulk.

    The callable takes the (id, name) of each device the batch created and its
    planned update rows (device_id, record, changes as column/old/new).
    """
    source = f"{device_import.filename} (import {str(device_import.pk)[:8]})"
    who = {"verb": AuditEntry.Verb.IMPORTED, "user": user.pk if getattr(user, "pk", None) else None,
           "username": getattr(user, "username", "") or "system"}
    created_detail, updated_detail = (f"{verb} from {source}"[:DETAIL_MAX] for verb in ("Created", "Updated"))

    def written(created: list[tuple[int, str]], updated: list) -> None:
        # Rows, not instances: at 100,000 devices building AuditEntry objects was half an import's time.
        insert_rows(AuditEntry, ("device", "device_name", "detail", "changes"),
                    [(pk, name, created_detail, []) for pk, name in created]
                    + [(row.device_id, row.record.name, updated_detail, [[c.column, c.old, c.new] for c in row.changes])
                       for row in updated],
                    timezone.now(), **who)

    return written
