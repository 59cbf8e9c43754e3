"""A cloud sync through the outbox: each page of Get Devices is one call of its own kind, at the lowest priority.

One page call waits at a time per sync (its coalesce key is the sync's); a
page's answer is written, the sync advanced and the next page queued in the
transaction that records the call, so a crash leaves either all of it or
none. The page to fetch is the sync's `next_page`: a restart resumes there.
`settle` is the safety net the one-minute schedule runs: a running sync
whose page call ended some other way (given up at claim, lost) ends too, and
one with no call at all gets one.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import NamedTuple

from django.db import IntegrityError, transaction

from devices.cloudsync import runs
from devices.models import Action, ActionKind, CloudSync, Priority, UpstreamState
from devices.outbox import (
    BudgetView,
    CallKind,
    budget_view,
    db_now,
    estimated_send_time,
    fit,
    kick_drainer,
    register,
)
from devices.upstream import DevicePage, GearsClient, GearsPastEnd

logger = logging.getLogger(__name__)


class Started(NamedTuple):
    sync: CloudSync | None  # the sync started, or the one already running
    created: bool


def start_sync(trigger: str, *, user=None) -> Started:
    """Start a sync unless one runs (anywhere); its first page waits behind every click and bulk action."""
    with transaction.atomic():
        now = db_now()
        sync = runs.begin(trigger, user=user, now=now)
        if sync is None:
            return Started(runs.running(), False)
        queue_page(sync, now)
        kick_drainer()
    logger.info("cloud sync %s started (%s)", sync.pk, trigger)
    return Started(sync, True)


def queue_page(sync: CloudSync, now: datetime) -> Action:
    return Action.objects.create(
        kind=ActionKind.SYNC_PAGE, cloud_sync=sync, priority=Priority.SYNC, coalesce_key=page_key(sync.pk),
        requested_by=sync.requested_by, not_before=now, page=sync.next_page,
    )


def page_key(sync_id: int) -> str:
    return f"sync:{sync_id}"


def page_fetched(action: Action, page: DevicePage, now: datetime) -> str:
    """Write a fetched page (inside the caller's transaction); "" when written, else why it could not be.

    A page the database refuses (a HWID or MAC another request just took)
    writes nothing and is fetched again.
    """
    sync = CloudSync.objects.select_for_update().get(pk=action.cloud_sync_id)
    if not sync.is_running or page.page != sync.next_page:
        return ""  # an answer for a sync that ended, or for a page already written: nothing to do
    try:
        with transaction.atomic():
            more = runs.write(sync, page, now)
    except IntegrityError as exc:
        sync.refresh_from_db()
        return f"the page could not be written ({type(exc).__name__}); it will be fetched again"
    if more:
        queue_page(sync, now)
    else:
        logger.info("cloud sync %s finished: %s added, %s updated, %s marked not in the cloud",
                    sync.pk, sync.added, sync.updated, sync.marked_missing)
    return ""


def page_failed(action: Action, error: Exception | str, now: datetime) -> None:
    """A page call failed for good: the sync ends there (a 413 ends the list: a finish)."""
    sync = CloudSync.objects.select_for_update().filter(pk=action.cloud_sync_id, status=CloudSync.Status.RUNNING).first()
    if sync is None:
        return
    if isinstance(error, GearsPastEnd):
        runs.past_end(sync, now)
    else:
        runs.fail(sync, action.last_error or str(error) or "the page call failed", now)
    logger.warning("cloud sync %s ended at page %s: %s", sync.pk, sync.next_page, sync.error or sync.notes[-1:])


def list_ended(action: Action, now: datetime) -> None:
    """The cloud answered 413 for the page asked: the list ended before it (inside the caller's transaction)."""
    sync = CloudSync.objects.select_for_update().filter(pk=action.cloud_sync_id, status=CloudSync.Status.RUNNING).first()
    if sync is None or sync.next_page != action.page:
        return
    runs.past_end(sync, now)
    logger.info("cloud sync %s: the list ended before page %s", sync.pk, action.page)


def settle() -> None:
    """End a running sync whose page call ended without ending it, or queue the call it lacks."""
    with transaction.atomic():
        sync = CloudSync.objects.select_for_update().filter(status=CloudSync.Status.RUNNING).first()
        if sync is None:
            return
        calls = sync.page_calls.order_by("-created_at", "-id")
        if calls.filter(status__in=Action.OPEN).exists():
            return
        last = calls.first()
        now = db_now()
        if last is not None and last.status in (Action.Status.FAILED, Action.Status.CANCELLED):
            runs.fail(sync, last.last_error or f"the page call was {last.get_status_display().lower()}", now)
        else:
            queue_page(sync, now)
            kick_drainer()


def open_page_call(sync: CloudSync) -> Action | None:
    return sync.page_calls.filter(status__in=Action.OPEN).first()


def sync_eta(sync: CloudSync, view: BudgetView | None = None) -> datetime | None:
    """When the sync should end: its waiting page's send time, then a call per page left (more work may come first)."""
    call = open_page_call(sync) if sync.is_running else None
    if call is None:
        return None
    view = view or budget_view()
    first = estimated_send_time(call, view) or view.now
    left = (sync.pages_total or sync.next_page) - sync.next_page
    return first + timedelta(seconds=max(left, 0) * view.bulk_seconds_per_call)


class SyncPage(CallKind):
    """One page of Get Devices v2.2: sent with the page number it was queued for."""

    name = ActionKind.SYNC_PAGE
    untargetable = "The page call names no page."

    def target(self, action: Action) -> int | None:
        return action.page

    def send(self, client: GearsClient, token: str, claim) -> DevicePage:
        return client.list_devices(token, claim.target)

    def answered(self, action: Action, page: DevicePage, state: UpstreamState, now: datetime) -> str:
        # The page, the sync's progress and the next page's call commit with this outcome, or none of them.
        count = f" of {page.count}" if page.count is not None else ""
        skipped = f", {len(page.skipped)} skipped" if page.skipped else ""
        action.upstream_msg = fit(Action, "upstream_msg", f"{len(page.devices)} devices{count} (page {page.page}{skipped})")
        problem = page_fetched(action, page, now)
        if not problem:
            action.status, action.finished_at = Action.Status.SUCCEEDED, now
        return problem

    def refused(self, action: Action, error, now: datetime) -> bool:
        if not isinstance(error, GearsPastEnd):
            return False
        # A 413 past the end is how a cloud may end its list: the call did its job.
        action.status, action.finished_at = Action.Status.SUCCEEDED, now
        action.upstream_msg = fit(Action, "upstream_msg", f"HTTP 413: page {action.page} is past the end of the list")
        list_ended(action, now)
        return True

    def failed(self, action: Action, outcome, now: datetime) -> None:
        page_failed(action, outcome, now)


register(SyncPage())
