"""The one writer of notices: one function per event the people on any page are told about in a toast.

Each event has a key (the Notice's unique field), so when two workers see the
same event, say the last two actions of a bulk job ending at once, it is
noted once. Pauses start and end under the lock of the UpstreamState row,
which already makes each start or end one event: their keys only need to be unique.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

from django.db import transaction
from django.db.models import Count
from django.urls import reverse
from django.utils import timezone

from devices.models import Action, ActionKind, BulkJob, CloudSync, Notice, PauseKind, SyncStatus, UpstreamState

# Notices are only read by pages opened since they were written: older ones go.
KEEP = timedelta(days=7)
TEXT_MAX = Notice._meta.get_field("text").max_length
# Pauses an operator must act on; a pause for failures ends by itself.
ALARMING = (PauseKind.AUTH, PauseKind.CREDENTIALS, PauseKind.RATE_LIMITED)


def note(kind: str, key: str, text: str, *, tone: str = Notice.Tone.INFO, link: str = "") -> None:
    """Write the notice unless its event was already noted (by this worker or another)."""
    now = timezone.now()
    Notice.objects.bulk_create(
        [Notice(kind=kind, key=key, text=text[:TEXT_MAX], tone=tone, link=link, created_at=now)],
        ignore_conflicts=True,
    )
    Notice.objects.filter(created_at__lt=now - KEEP).delete()


# ------------------------------------------------------------------ bulk jobs


def bulk_key(job_id: int) -> str:
    # One notice per job: finished, or cancelled and then its last sent action answered.
    return f"bulk:{job_id}"


def bulk_action_ended(action: Action) -> None:
    """An action's outcome was recorded: once the write is committed, note its bulk job's end if that was the last one.

    After the commit, so that two workers ending the job's last two actions at
    once cannot each see the other's still open: at least one sees both ended.
    """
    if action.bulk_job_id is None or not action.is_terminal:
        return
    job_id = action.bulk_job_id
    transaction.on_commit(lambda: bulk_job_ended_if_done(job_id))


def bulk_jobs_touched(job_ids: set[int]) -> None:
    """Actions of these bulk jobs ended outside a call (superseded, cancelled): note the jobs that are done, after the commit."""
    for job_id in job_ids:
        transaction.on_commit(lambda job_id=job_id: bulk_job_ended_if_done(job_id))


def bulk_job_ended_if_done(job_id: int) -> None:
    if Action.objects.filter(bulk_job_id=job_id, status__in=Action.OPEN).exists():
        return
    job = BulkJob.objects.filter(pk=job_id).first()
    if job is None:
        return
    counts = dict(job.actions.values_list("status").annotate(n=Count("id")).values_list("status", "n"))
    failed = counts.get(Action.Status.FAILED, 0)
    parts = [f"{counts.get(status, 0)} {status.label.lower()}" for status in Action.TERMINAL if counts.get(status, 0)]
    verb = "was cancelled" if job.cancelled_at else "finished"
    note(Notice.Kind.BULK_ENDED, bulk_key(job.pk),
         f"Bulk job #{job.pk} ({ActionKind(job.kind).label}, {sum(counts.values())} devices) {verb}: "
         f"{', '.join(parts) or 'no actions'}.",
         tone=Notice.Tone.WARNING if failed else Notice.Tone.SUCCESS, link=job.get_absolute_url())


def bulk_job_cancelled(job: BulkJob, cancelled: int) -> None:
    """An operator cancelled what of `job` still waited (`cancelled` actions): that ends the job for the people watching."""
    note(Notice.Kind.BULK_ENDED, bulk_key(job.pk),
         f"Bulk job #{job.pk} ({ActionKind(job.kind).label}) was cancelled: {cancelled} waiting "
         f"action{'s' if cancelled != 1 else ''} cancelled; those already sent keep their result.",
         link=job.get_absolute_url())


# ------------------------------------------------------------------ cloud sync


def sync_ended(sync: CloudSync) -> None:
    """A cloud sync finished or failed (call once it is saved with its final status)."""
    if sync.status == SyncStatus.FAILED:
        text, tone = f"The cloud sync failed: {sync.error or 'no reason given'}.", Notice.Tone.ERROR
    else:
        text, tone = (f"The cloud sync finished: {sync.added} devices added, {sync.updated} updated, "
                      f"{sync.marked_missing} marked not in the cloud."), Notice.Tone.SUCCESS
    note(Notice.Kind.SYNC_ENDED, f"sync:{sync.pk}", text, tone=tone, link=reverse("overview"))


# ------------------------------------------------------------------ pauses


def pause_starting(state: UpstreamState, kind: str, reason: str) -> None:
    """Sending is about to pause (`state` is the locked row, not yet changed): noted when it was not paused."""
    if state.pause_kind:
        return  # a pause going on, extended or changing its reason
    note(Notice.Kind.PAUSED, f"paused:{uuid.uuid4().hex}", f"Sending to the cloud is paused: {reason}",
         tone=Notice.Tone.ERROR if kind in ALARMING else Notice.Tone.WARNING, link=reverse("devices:upstream"))


def pause_ending(state: UpstreamState) -> None:
    """The pause is about to be lifted (`state` is the locked row, not yet changed): noted when there was one."""
    if not state.pause_kind:
        return  # the usual case: an answered call, nothing paused
    note(Notice.Kind.RESUMED, f"resumed:{uuid.uuid4().hex}", "Sending to the cloud has resumed.",
         tone=Notice.Tone.SUCCESS, link=reverse("devices:upstream"))
