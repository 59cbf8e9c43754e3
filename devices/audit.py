"""The audit log's one writer: who queued, cancelled, retried, emailed, created or changed what."""

from __future__ import annotations

from collections.abc import Iterable

from devices.models import Action, AuditEntry, BulkJob, Device

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
