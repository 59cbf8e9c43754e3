"""The cloud sync's schedule: a check every minute that starts a sync when one is due, and settles a stuck one."""

from __future__ import annotations

from django.conf import settings

from devices.cloudsync.pages import settle, start_sync
from devices.cloudsync.runs import is_due
from devices.models import CloudSync
from devices.outbox import db_now, every_minute

SYNC_SCHEDULE_NAME = "start a cloud sync when due"
SYNC_TASK = "devices.cloudsync.schedule.sync_when_due"


def sync_when_due() -> bool:
    """Start a cloud sync if none runs and the last began GEARS_SYNC_INTERVAL ago (or never); True if started."""
    settle()
    if not is_due(db_now(), settings.GEARS_SYNC_INTERVAL):
        return False
    return start_sync(CloudSync.Trigger.SCHEDULE).created


def ensure_sync_schedule(**kwargs) -> None:
    """A check every minute, so a fresh install syncs within a minute or two of start and then every interval."""
    every_minute(SYNC_SCHEDULE_NAME, SYNC_TASK)
