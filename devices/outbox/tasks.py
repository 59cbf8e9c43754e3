"""django-q2 tasks: plain functions, thin, that take ids (or nothing)."""

from __future__ import annotations

from django.conf import settings
from django_q.models import Schedule

from devices import cloudsync
from devices.models import CloudSync
from devices.outbox.clock import db_now
from devices.outbox.drain import drain as drain_outbox
from devices.outbox.kick import DRAIN_TASK, kick_drainer
from devices.outbox.syncpages import settle, start_sync

SCHEDULE_NAME = "drain the upstream outbox"
SYNC_SCHEDULE_NAME = "start a cloud sync when due"
SYNC_TASK = "devices.outbox.tasks.sync_when_due"


def drain() -> int:
    """Send what the budget allows for a while; queue another run if work remains."""
    report = drain_outbox()
    if report.work_left:
        kick_drainer()
    return report.sent


def sync_when_due() -> bool:
    """Start a cloud sync if none runs and the last began GEARS_SYNC_INTERVAL ago (or never); True if started."""
    settle()
    if not cloudsync.is_due(db_now(), settings.GEARS_SYNC_INTERVAL):
        return False
    return start_sync(CloudSync.Trigger.SCHEDULE).created


def ensure_drain_schedule(**kwargs) -> None:
    """The safety net: a drainer every minute, whatever became of the kicks."""
    _every_minute(SCHEDULE_NAME, DRAIN_TASK)


def ensure_sync_schedule(**kwargs) -> None:
    """A check every minute, so a fresh install syncs within a minute or two of start and then every interval."""
    _every_minute(SYNC_SCHEDULE_NAME, SYNC_TASK)


def _every_minute(name: str, func: str) -> None:
    # Updates the row by name, so a schedule naming an older task path follows the move.
    Schedule.objects.update_or_create(
        name=name, defaults={"func": func, "schedule_type": Schedule.MINUTES, "minutes": 1, "repeats": -1},
    )
