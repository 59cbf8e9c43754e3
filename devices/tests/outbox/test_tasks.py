"""The django-q2 tasks: the drain task re-kicks itself while work is left; the schedule row names the task.

The test settings run django-q2 tasks inline (sync), so a kick that fires
runs the drain task named by its path, here and now.
"""

from __future__ import annotations

import logging

from django_q.models import Schedule

from devices import outbox
from devices.models import Action, DrainerSlot
from devices.outbox import tasks


def test_the_drain_task_kicks_another_run_when_its_time_ran_out_with_work_left(
        outbox_settings, devices, operator, django_capture_on_commit_callbacks):
    outbox.enqueue(devices(1)[0], "dhcprenew", user=operator)
    outbox_settings.GEARS_DRAIN_RUNTIME = 0  # the run ends before its first claim
    outbox_settings.GEARS_KICK_DRAINER = True
    with django_capture_on_commit_callbacks(execute=False) as kicks:
        assert tasks.drain() == 0
    assert len(kicks) == 1


def test_the_drain_task_does_not_kick_when_nothing_waits(db, outbox_settings, django_capture_on_commit_callbacks):
    outbox_settings.GEARS_ACCESS_TOKEN = "fixed-token-from-the-console-0123456789"  # no token request
    outbox_settings.GEARS_KICK_DRAINER = True
    with django_capture_on_commit_callbacks(execute=False) as kicks:
        assert tasks.drain() == 0
    assert kicks == []


def test_an_enqueue_kicks_the_drain_task_by_its_path_once_it_commits(outbox_settings, devices, operator,
                                                                    django_capture_on_commit_callbacks):
    outbox_settings.GEARS_KICK_DRAINER = True
    outbox_settings.GEARS_DRAIN_RUNTIME = 0
    with django_capture_on_commit_callbacks(execute=False) as kicks:
        outbox.enqueue(devices(1)[0], "dhcprenew", user=operator)
    assert not DrainerSlot.objects.exists()  # nothing ran before the commit
    (kick,) = kicks
    kick()
    assert DrainerSlot.objects.filter(holder="").exists()  # the task ran and gave its slot back


def test_no_kick_when_kicking_is_off(outbox_settings, devices, operator, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as kicks:
        outbox.enqueue(devices(1)[0], "dhcprenew", user=operator)
    assert kicks == []


def test_the_schedule_row_is_created_to_drain_every_minute(db):
    Schedule.objects.all().delete()
    tasks.ensure_drain_schedule()
    schedule = Schedule.objects.get(name="drain the upstream outbox")
    assert (schedule.func, schedule.schedule_type, schedule.minutes, schedule.repeats) == (
        "devices.outbox.tasks.drain", Schedule.MINUTES, 1, -1)


def test_a_schedule_row_naming_the_old_task_path_is_moved_to_the_new_one(db):
    Schedule.objects.all().delete()
    Schedule.objects.create(name="drain the upstream outbox", func="devices.tasks.drain",
                            schedule_type=Schedule.MINUTES, minutes=1, repeats=-1)
    tasks.ensure_drain_schedule()
    assert list(Schedule.objects.values_list("func", flat=True)) == ["devices.outbox.tasks.drain"]


def kick_lines(caplog) -> list[str]:
    return [r.levelname for r in caplog.records if r.name == "devices.outbox.kick"]


def test_a_broker_outage_is_logged_once_however_many_kicks_fail(outbox_settings, devices, operator, monkeypatch,
                                                                 django_capture_on_commit_callbacks, caplog,
                                                                 redis_url):
    from django_q.conf import Conf

    from devices.outbox import kick
    from devices.tests.launchers import free_port as closed_port

    monkeypatch.setitem(kick.broker_state, "down", False)
    outbox_settings.GEARS_KICK_DRAINER = True
    *clicked, last = devices(5)
    monkeypatch.setattr(Conf, "SYNC", False)  # through a real broker, not inline
    monkeypatch.setattr(Conf, "ORM", None)
    monkeypatch.setattr(Conf, "REDIS", f"redis://127.0.0.1:{closed_port()}/0")
    with caplog.at_level(logging.INFO, logger="devices.outbox.kick"):
        for device in clicked:
            with django_capture_on_commit_callbacks(execute=True):
                outbox.enqueue(device, "dhcprenew", user=operator)
        assert kick_lines(caplog) == ["ERROR"]
        assert Action.objects.filter(status="queued").count() == 4  # every click recorded all the same
        monkeypatch.setattr(Conf, "REDIS", redis_url)  # Redis is back
        with django_capture_on_commit_callbacks(execute=True):
            outbox.enqueue(last, "exempt_all", user=operator)
    assert kick_lines(caplog) == ["ERROR", "WARNING"]
    assert "works again" in caplog.records[-1].getMessage()
