"""django-q2 tasks: plain functions, thin, that take ids (or nothing)."""

from __future__ import annotations

from django_q.models import Schedule

from devices.outbox.drain import drain as drain_outbox
from devices.outbox.kick import DRAIN_TASK, kick_drainer

SCHEDULE_NAME = "drain the upstream outbox"


def drain() -> int:
    """Send what the budget allows for a while; queue another run if work remains."""
    report = drain_outbox()
    if report.work_left:
        kick_drainer()
    return report.sent


def ensure_drain_schedule(**kwargs) -> None:
    """The safety net: a drainer every minute, whatever became of the kicks."""
    every_minute(SCHEDULE_NAME, DRAIN_TASK)


def every_minute(name: str, func: str) -> None:
    """A django-q2 schedule of `func` once a minute, named `name`."""
    # Updates the row by name, so a schedule naming an older task path follows the move.
    Schedule.objects.update_or_create(
        name=name, defaults={"func": func, "schedule_type": Schedule.MINUTES, "minutes": 1, "repeats": -1},
    )
