"""Queueing actions: enqueue (coalescing), bulk fan-out, cancel, retry."""

from __future__ import annotations

from typing import NamedTuple

from django.db import IntegrityError, transaction
from django.db.models import F

from devices import notices
from devices.audit import record as record_audit
from devices.models import DEVICE_KINDS, Action, AuditEntry, BulkJob, Device, Priority
from devices.outbox.clock import db_now
from devices.outbox.fanout import AnyOf, insert_pending, link_superseded, supersede_waiting
from devices.outbox.kick import kick_drainer
from devices.outbox.kinds import call_kind
from devices.outbox.limits import fit

# Attempts at an enqueue that lost a race for the one-pending-action-per-key constraint.
ENQUEUE_ATTEMPTS = 3


class Queued(NamedTuple):
    action: Action
    created: bool  # False: the same action was already waiting (a double click)
    superseded: Action | None  # the waiting exemption change this one replaced


def _requester(user):
    return user if getattr(user, "pk", None) else None


def enqueue(device: Device, kind: str, *, user, priority: int = Priority.CLICK, audit: bool = True) -> Queued:
    """Queue `kind` for `device`, coalescing with what already waits for it.

    A second identical request returns the waiting action (a double click
    makes one action); a newer exemption change supersedes a waiting one.
    """
    if kind not in DEVICE_KINDS:
        raise ValueError(f"unknown action {kind!r}")
    for attempt in range(1, ENQUEUE_ATTEMPTS + 1):
        try:
            with transaction.atomic():
                return _enqueue(device, kind, user, priority, audit)
        except IntegrityError:
            # Another request queued the same key between our read and our
            # insert (one pending action per key is a database constraint).
            if attempt == ENQUEUE_ATTEMPTS:
                raise
    raise AssertionError("unreachable")


def _enqueue(device: Device, kind: str, user, priority: int, audit: bool) -> Queued:
    Device.objects.select_for_update().filter(pk=device.pk).exists()
    key = Action.coalesce_key_for(device.pk, kind)
    now = db_now()
    # A read (a fetch) already on its way answers a new request too.
    open_statuses = Action.OPEN if call_kind(kind).joins_call_in_flight else Action.PENDING
    waiting = Action.objects.select_for_update().filter(coalesce_key=key, status__in=open_statuses).first()
    if waiting is not None and waiting.kind == kind:
        if priority < waiting.priority and waiting.is_pending:
            waiting.priority = priority
            waiting.save(update_fields=["priority"])
        return Queued(waiting, False, None)
    if waiting is not None:
        waiting.status = Action.Status.SUPERSEDED
        waiting.finished_at = now
        waiting.save(update_fields=["status", "finished_at"])
        notices.bulk_action_ended(waiting)  # it may have been its bulk job's last
    action = Action.objects.create(
        device=device, kind=kind, priority=priority, coalesce_key=key,
        requested_by=_requester(user), not_before=now, opt=1 if device.hwid else 0,
    )
    if waiting is not None:
        waiting.superseded_by = action
        waiting.save(update_fields=["superseded_by"])
    if audit:
        record_audit(AuditEntry.Verb.QUEUED, user, action=action, device=device,
                     detail=f"superseded #{waiting.pk} ({waiting.kind})" if waiting else "")
    kick_drainer()
    return Queued(action, True, waiting)


@transaction.atomic
def enqueue_bulk(device_ids: list[int], kind: str, *, user, description: str = "") -> BulkJob:
    """Fan `kind` out over devices at bulk priority, one action per device.

    Devices where the same action already waits are skipped (counted as
    already queued); a waiting, different exemption change is superseded, as
    a click would do. Set-based: a few statements per 900 devices.
    """
    if kind not in DEVICE_KINDS:
        raise ValueError(f"unknown action {kind!r}")
    device_ids = list(dict.fromkeys(device_ids))
    now = db_now()
    job = BulkJob.objects.create(kind=kind, created_by=_requester(user),
                                 description=fit(BulkJob, "description", description), requested=len(device_ids))
    key_prefix = Action.coalesce_key_for(0, kind).removesuffix("0")  # a key is this prefix and the device id
    superseded = supersede_waiting(device_ids, kind, now)
    prototype = Action(kind=kind, priority=Priority.BULK, bulk_job=job, requested_by=job.created_by, not_before=now)
    queued = insert_pending(device_ids, prototype, key_prefix)
    link_superseded({old: queued[device] for old, device in superseded.items() if device in queued})
    if superseded:  # the waiting changes replaced may have been other jobs' last
        notices.bulk_jobs_touched(set(Action.objects.filter(AnyOf(F("pk"), list(superseded)), bulk_job__isnull=False)
                                      .values_list("bulk_job_id", flat=True)))
    job.already_queued = len(device_ids) - len(queued)
    job.save(update_fields=["already_queued"])
    record_audit(AuditEntry.Verb.BULK_QUEUED, user, kind=kind, bulk_job=job,
                 detail=f"{len(queued)} devices queued, {job.already_queued} already waiting; {description}")
    kick_drainer()
    return job


def cancel(action: Action, *, user) -> bool:
    """Cancel a waiting action. False when it is no longer waiting."""
    with transaction.atomic():
        changed = Action.objects.filter(pk=action.pk, status__in=Action.PENDING).update(
            status=Action.Status.CANCELLED, finished_at=db_now()
        )
        if changed:
            action.refresh_from_db()
            record_audit(AuditEntry.Verb.CANCELLED, user, action=action, device=action.device)
            notices.bulk_action_ended(action)
    return bool(changed)


def cancel_bulk(job: BulkJob, *, user) -> int:
    """Cancel every action of a bulk job still waiting; returns how many."""
    with transaction.atomic():
        now = db_now()
        count = Action.objects.filter(bulk_job=job, status__in=Action.PENDING).update(
            status=Action.Status.CANCELLED, finished_at=now
        )
        BulkJob.objects.filter(pk=job.pk, cancelled_at__isnull=True).update(
            cancelled_at=now, cancelled_by=_requester(user)
        )
        record_audit(AuditEntry.Verb.BULK_CANCELLED, user, kind=job.kind, bulk_job=job,
                     detail=f"{count} waiting actions cancelled")
        notices.bulk_job_cancelled(job, count)
    return count


def retry(action: Action, *, user) -> Queued:
    """Queue a failed (or cancelled) action again, as a new action."""
    if action.status not in (Action.Status.FAILED, Action.Status.CANCELLED):
        raise ValueError("only failed or cancelled actions can be retried")
    with transaction.atomic():
        queued = enqueue(action.device, action.kind, user=user, priority=Priority.CLICK)
        record_audit(AuditEntry.Verb.RETRIED, user, action=queued.action, device=action.device,
                     detail=f"retry of #{action.pk}")
    return queued
