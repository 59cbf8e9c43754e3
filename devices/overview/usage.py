"""The upstream budget used: requests per minute over the last hour, and per hour over the last day.

Read from the attempt log (UpstreamAttempt, one row per HTTP request), counted
per minute in the database: one query returns at most 1,440 rows, however
many attempts a day held.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db.models import Count, Q
from django.db.models.functions import TruncMinute

from devices.models import UpstreamAttempt

MINUTE = timedelta(minutes=1)
HOUR = timedelta(hours=1)
# Attempts that got no usable answer (a 4xx is an answer: the call reached the cloud and was judged).
FAILED = (UpstreamAttempt.Outcome.TRANSIENT, UpstreamAttempt.Outcome.AUTH, UpstreamAttempt.Outcome.RATE_LIMITED,
          UpstreamAttempt.Outcome.LOST)


@dataclass(frozen=True)
class Period:
    """One bar: a minute (or an hour) and the requests started in it."""

    start: datetime
    requests: int  # a minute: requests; an hour: its busiest minute's
    failed: int  # of those, without a usable answer
    total: int = 0  # an hour: every request in it
    average: float = 0.0  # an hour: requests per minute, over its minutes so far


def limit_per_minute() -> float:
    """The most requests GEARS_RATE_LIMIT lets start in any one minute."""
    limit = settings.GEARS_RATE_LIMIT
    return limit.requests * 60 / limit.window


def floor_minute(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(second=0, microsecond=0)


def floor_hour(moment: datetime) -> datetime:
    return floor_minute(moment).replace(minute=0)


def day_start(now: datetime) -> datetime:
    """The start of the 24 hourly bars that end with the current hour."""
    return floor_hour(now) - 23 * HOUR


def per_minute(since: datetime, until: datetime) -> dict[datetime, tuple[int, int]]:
    """(requests, failed) for each UTC minute in [since, until) that had any."""
    rows = (
        UpstreamAttempt.objects.filter(started_at__gte=since, started_at__lt=until)
        .annotate(minute=TruncMinute("started_at", tzinfo=UTC))
        .values("minute")
        .annotate(n=Count("id"), failed=Count("id", filter=Q(outcome__in=FAILED)))
        .order_by()
        .values_list("minute", "n", "failed")
    )
    return {minute.astimezone(UTC): (n, failed) for minute, n, failed in rows}


def last_hour(minutes: dict[datetime, tuple[int, int]], now: datetime) -> list[Period]:
    """60 bars, one per minute, the last the minute under way."""
    first = floor_minute(now) - 59 * MINUTE
    return [Period(start, *minutes.get(start, (0, 0))) for start in (first + i * MINUTE for i in range(60))]


def last_day(minutes: dict[datetime, tuple[int, int]], now: datetime) -> list[Period]:
    """24 bars, one per hour, the last the hour under way: each its busiest minute, with its total and average."""
    current = floor_minute(now)
    bars = []
    for h in range(24):
        start = day_start(now) + h * HOUR
        counts = [minutes.get(start + m * MINUTE, (0, 0)) for m in range(60)]
        busiest = max(counts, key=lambda count: count[0])
        elapsed = min(60, int((current - start) / MINUTE) + 1)
        total = sum(n for n, _ in counts)
        bars.append(Period(start, busiest[0], busiest[1], total, total / elapsed))
    return bars


def usage(now: datetime) -> tuple[list[Period], list[Period]]:
    """The last hour's minutes and the last day's hours, from one query."""
    minutes = per_minute(day_start(now), floor_minute(now) + MINUTE)
    return last_hour(minutes, now), last_day(minutes, now)
