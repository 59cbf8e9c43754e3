"""A cloud sync's life as its CloudSync row: begun, a page written at a time, then finished, ended early or failed.

The row is the truth: the page reached lives in `next_page`, so a restart
resumes there, and the one-running-sync constraint keeps one sync at a time
across every worker. The caller holds the transaction that writes a page, so
the page, the row's progress and the next page's call commit together.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.db.models import Q

from devices import audit, notices
from devices.cloudsync.writer import IN_CLOUD, PageWrite, write_page
from devices.models import AuditEntry, CloudSync, Device
from devices.upstream import DevicePage

# Notes kept on a sync's row: enough to see what went wrong, bounded however bad the data.
NOTES_MAX = 50
ERROR_MAX = CloudSync._meta.get_field("error").max_length
MISSING_CHUNK = 2000


def begin(trigger: str, *, user=None, now: datetime) -> CloudSync | None:
    """Start a sync at page 1; None when one is already running (anywhere)."""
    try:
        with transaction.atomic():
            return CloudSync.objects.create(
                trigger=trigger, requested_by=user if getattr(user, "pk", None) else None, started_at=now)
    except IntegrityError:
        return None


def running() -> CloudSync | None:
    return CloudSync.objects.filter(status=CloudSync.Status.RUNNING).first()


def is_due(now: datetime, interval: int) -> bool:
    """Whether the schedule should start a sync: none runs, and none started within `interval` seconds (0: never)."""
    if interval <= 0:
        return False
    last = CloudSync.objects.order_by("-started_at", "-id").values_list("status", "started_at").first()
    if last is None:
        return True
    status, started_at = last
    return status != CloudSync.Status.RUNNING and started_at <= now - timedelta(seconds=interval)


def write(sync: CloudSync, page: DevicePage, now: datetime) -> bool:
    """Write `page` and advance the sync; True if another page is to be fetched.

    A page shorter than its limit (an empty one included) is the last: the
    sync finishes (marking what no page listed). A count, if the cloud gives
    one, never ends a sync: it only shows progress.
    """
    result = write_page(page.devices, now=now, user=sync.requested_by, label=f"cloud sync #{sync.pk}")
    _count(sync, page, result)
    if not page.is_last:
        sync.save()
        return True
    _finish(sync, now)
    return False


def _count(sync: CloudSync, page: DevicePage, result: PageWrite) -> None:
    sync.added += result.added
    sync.updated += result.updated
    sync.devices_read += page.listed
    sync.skipped += len(page.skipped)
    if page.count is not None:
        if sync.devices_total is not None and page.count != sync.devices_total and not sync.list_changed:
            sync.list_changed = True
            _note(sync, [f"The cloud's device count changed during the sync ({sync.devices_total} before page "
                         f"{page.page}, {page.count} with it): no device is marked as not in the cloud this time."])
        sync.devices_total, sync.pages_total = page.count, page.pages_total
    sync.next_page = page.page + 1
    _note(sync, [f"Page {page.page}: {note}." for note in page.skipped])
    _note(sync, result.notes)


def _note(sync: CloudSync, notes: list[str]) -> None:
    room = NOTES_MAX - len(sync.notes)
    if notes and room > 0:
        sync.notes = [*sync.notes, *notes[:room]]


def _finish(sync: CloudSync, now: datetime) -> None:
    # Pages shifted under a changing list: a device may have moved onto a page already read.
    # A skipped device is one whose HWID may be unreadable: "not listed" proves nothing either.
    if sync.skipped and not sync.list_changed:
        _note(sync, [f"{sync.skipped} listed device(s) did not fit and were skipped: no device is marked as not "
                     "in the cloud this time."])
    sync.marked_missing = 0 if sync.list_changed or sync.skipped else mark_missing(sync, now)
    sync.status, sync.finished_at = CloudSync.Status.SUCCEEDED, now
    sync.save()
    notices.sync_ended(sync)


def mark_missing(sync: CloudSync, now: datetime) -> int:
    """Devices created before `sync` began that no page listed are "not in the cloud" (never deleted)."""
    unlisted = (
        Device.objects.filter(created_at__lt=sync.started_at, cloud_missing_since__isnull=True)
        .filter(Q(cloud_synced_at__isnull=True) | Q(cloud_synced_at__lt=sync.started_at))
    )
    rows = list(unlisted.values_list("pk", "name", "cloud_synced_at"))
    for start in range(0, len(rows), MISSING_CHUNK):
        chunk = rows[start : start + MISSING_CHUNK]
        Device.objects.filter(pk__in=[pk for pk, _, _ in chunk]).update(cloud_missing_since=now)
        audit.record_many(
            audit.entry(AuditEntry.Verb.SYNCED, sync.requested_by, device=Device(pk=pk, name=name),
                        detail=f"Cloud sync #{sync.pk} did not list it: not in the cloud.",
                        changes=[["in_cloud", IN_CLOUD[True if synced else None], IN_CLOUD[False]]])
            for pk, name, synced in chunk
        )
    return len(rows)


def past_end(sync: CloudSync, now: datetime) -> None:
    """The cloud answered 413 for the page after the last one read: the list ends there.

    Past a full last page that is how a cloud may end its list (another
    answers an empty page). Only when the cloud's own count promised more
    devices than were read did the list shrink under the sync.
    """
    if sync.devices_total is not None and sync.devices_read < sync.devices_total:
        end_early(sync, sync.next_page, now)
    else:
        _finish(sync, now)


def end_early(sync: CloudSync, page: int, now: datetime) -> None:
    """The cloud's list ended before `page` (413): it shrank during the sync, so pages shifted.

    What was written stays; nothing is marked missing, since a device may
    have moved onto a page already read.
    """
    _note(sync, [f"The cloud's list ended before page {page} (it has fewer devices than when the sync began): "
                 "the sync stopped there and marked no device as not in the cloud."])
    sync.status, sync.finished_at = CloudSync.Status.SUCCEEDED, now
    sync.save()
    notices.sync_ended(sync)


def fail(sync: CloudSync, error: str, now: datetime) -> None:
    """The sync ends at the page it reached; the pages written stay written."""
    sync.status, sync.finished_at = CloudSync.Status.FAILED, now
    sync.error = f"Page {sync.next_page}: {error}"[:ERROR_MAX]
    sync.save()
    notices.sync_ended(sync)
