"""When the schedule starts a sync, and the safety net that ends or resumes a sync whose page call went astray."""

from __future__ import annotations

from datetime import timedelta

from django.core.management import call_command
from django.utils import timezone
from django_q.models import Schedule

from devices import cloudsync
from devices.cloudsync import pages
from devices.cloudsync.schedule import SYNC_TASK, sync_when_due
from devices.models import Action, ActionKind, CloudSync


def test_the_schedule_starts_a_first_sync_at_once_then_only_after_the_interval(db, settings):
    settings.GEARS_SYNC_INTERVAL = 3600
    assert sync_when_due() is True
    sync = CloudSync.objects.get()
    assert sync.trigger == CloudSync.Trigger.SCHEDULE
    assert sync_when_due() is False  # one is running
    CloudSync.objects.filter(pk=sync.pk).update(status=CloudSync.Status.SUCCEEDED, finished_at=timezone.now())
    assert sync_when_due() is False  # the last began less than an hour ago
    CloudSync.objects.filter(pk=sync.pk).update(started_at=timezone.now() - timedelta(seconds=3601))
    assert sync_when_due() is True and CloudSync.objects.count() == 2


def test_an_interval_of_zero_turns_the_schedule_off(db, settings):
    settings.GEARS_SYNC_INTERVAL = 0
    assert sync_when_due() is False and not CloudSync.objects.exists()
    assert not cloudsync.is_due(timezone.now(), 0)


def test_migrating_installs_a_one_minute_check(db):
    call_command("migrate", verbosity=0)
    row = Schedule.objects.get(func=SYNC_TASK)
    assert (row.schedule_type, row.minutes, row.repeats) == (Schedule.MINUTES, 1, -1)


def test_a_sync_whose_page_call_failed_elsewhere_ends_and_one_without_a_call_gets_one(db):
    sync = pages.start_sync(CloudSync.Trigger.OPERATOR).sync
    page = Action.objects.get(kind=ActionKind.SYNC_PAGE)
    # Given up at claim time (out of attempts): the outcome code never saw it.
    Action.objects.filter(pk=page.pk).update(status=Action.Status.FAILED, last_error="Gave up after 8 attempts")
    pages.settle()
    sync.refresh_from_db()
    assert (sync.status, sync.error) == (CloudSync.Status.FAILED, "Page 1: Gave up after 8 attempts")

    second = pages.start_sync(CloudSync.Trigger.OPERATOR).sync
    Action.objects.filter(cloud_sync=second).delete()
    pages.settle()
    assert second.page_calls.get().status == Action.Status.QUEUED
    pages.settle()  # a call waits: nothing more
    assert second.page_calls.count() == 1
