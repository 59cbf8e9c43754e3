"""The audit log's one writer: who queued, cancelled, retried or emailed what."""

from __future__ import annotations

from devices.models import Action, AuditEntry, BulkJob, Device

DETAIL_MAX = AuditEntry._meta.get_field("detail").max_length


def record(verb: str, user, *, action: Action | None = None, device: Device | None = None,
           kind: str = "", bulk_job: BulkJob | None = None, detail: str = "") -> AuditEntry:
    """Write one audit entry; `user` may be None or anonymous (the system acted)."""
    return AuditEntry.objects.create(
        verb=verb,
        user=user if getattr(user, "pk", None) else None,
        username=getattr(user, "username", "") or "system",
        kind=kind or (action.kind if action else ""),
        device=device,
        device_name=device.name if device else "",
        action=action,
        bulk_job=bulk_job,
        detail=detail[:DETAIL_MAX],
    )
