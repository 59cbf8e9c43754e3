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
    """The safety net: a drainer every minute, whatever became of the kicks.

    Updates the row by name, so a schedule naming an older task path follows the move.
    """
    Schedule.objects.update_or_create(
        name=SCHEDULE_NAME,
        defaults={"func": DRAIN_TASK, "schedule_type": Schedule.MINUTES, "minutes": 1, "repeats": -1},
    )
