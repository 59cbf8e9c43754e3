"""django-q2 tasks: plain functions, thin, that take ids (or nothing)."""

from __future__ import annotations


def drain() -> int:
    """Send what the budget allows for a while; queue another run if work remains."""
    from devices import outbox  # not at import: apps.ready imports this module

    report = outbox.drain()
    if report.work_left:
        outbox.kick_drainer()
    return report.sent


def ensure_drain_schedule(**kwargs) -> None:
    """The safety net: a drainer every minute, whatever became of the kicks."""
    from django_q.models import Schedule

    Schedule.objects.update_or_create(
        name="drain the upstream outbox",
        defaults={"func": "devices.tasks.drain", "schedule_type": Schedule.MINUTES, "minutes": 1, "repeats": -1},
    )
