"""The budget read-model: the limit from settings, the attempt log as spans, and ETAs for waiting actions."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from datetime import timezone as dt_timezone

from django.conf import settings
from django.db.models import Q

from devices.models import Action, Priority, UpstreamAttempt
from devices.outbox.breaker import upstream_state
from devices.outbox.clock import db_now
from devices.ratelimit import Budget, Span, next_start, window_usage

# Seconds per call assumed before any call has finished.
DEFAULT_LATENCY = 0.2


def budget() -> Budget:
    limit = settings.GEARS_RATE_LIMIT
    return Budget(
        requests=limit.requests,
        window=limit.window,
        margin=settings.GEARS_RATE_MARGIN,
        call_timeout=settings.GEARS_CONNECT_TIMEOUT + settings.GEARS_TIMEOUT,
    )


def attempt_spans(now: datetime, b: Budget) -> list[Span]:
    """Every logged attempt that may still occupy the window at `now`."""
    horizon = now - timedelta(seconds=b.call_timeout + b.window + b.margin + 1)
    rows = UpstreamAttempt.objects.filter(started_at__gte=horizon).values_list(
        "started_at", "finished_at", "action__priority")
    return [Span(started.timestamp(), finished.timestamp() if finished else None, priority == Priority.CLICK)
            for started, finished, priority in rows]


def from_epoch(epoch: float) -> datetime:
    """The UTC datetime of `epoch`, rounded up to the microsecond: never before it."""
    return datetime.fromtimestamp(math.ceil(epoch * 1_000_000) / 1_000_000, tz=dt_timezone.utc)


@dataclass(frozen=True)
class BudgetView:
    """What the Upstream page and ETAs show; read without taking the lock."""

    now: datetime
    used: int
    limit: int
    window: float
    next_slot: datetime
    seconds_per_call: float
    blocked_until: datetime | None
    block_reason: str
    backlog: int
    pause_kind: str = ""

    @property
    def paused(self) -> bool:
        return self.blocked_until is not None and self.blocked_until > self.now

    def eta_for_rank(self, rank: int, not_before: datetime | None = None) -> datetime:
        eta = self.next_slot + timedelta(seconds=rank * self.seconds_per_call)
        return max(eta, not_before) if not_before else eta

    @property
    def drained_at(self) -> datetime | None:
        return self.eta_for_rank(self.backlog - 1) if self.backlog else None


def average_latency(sample: int = 50) -> float:
    """Mean seconds per finished call, over the most recent ones."""
    recent = UpstreamAttempt.objects.filter(finished_at__isnull=False).order_by("-started_at")[:sample]
    durations = [(f - s).total_seconds() for s, f in recent.values_list("started_at", "finished_at")]
    return sum(durations) / len(durations) if durations else DEFAULT_LATENCY


def budget_view() -> BudgetView:
    b = budget()
    now = db_now()
    state = upstream_state()
    spans = attempt_spans(now, b)
    blocked = state.blocked_until.timestamp() if state.blocked_until else None
    return BudgetView(
        now=now,
        used=window_usage(spans, now.timestamp(), b),
        limit=b.requests,
        window=b.window,
        next_slot=from_epoch(next_start(spans, now.timestamp(), b, blocked, click=True)),  # a click's: bulk waits longer
        seconds_per_call=b.seconds_per_call(average_latency()),
        blocked_until=state.blocked_until,
        block_reason=state.block_reason,
        backlog=Action.objects.filter(status__in=Action.PENDING).count(),
        pause_kind=state.pause_kind,
    )


def queue_rank(action: Action) -> int:
    """How many waiting actions go out before this one (claim order: priority, not_before, id)."""
    ahead = (
        Q(priority__lt=action.priority)
        | Q(priority=action.priority, not_before__lt=action.not_before)
        | Q(priority=action.priority, not_before=action.not_before, id__lt=action.pk)
    )
    return Action.objects.filter(status__in=Action.PENDING).filter(ahead).count()


def estimated_send_time(action: Action, view: BudgetView | None = None) -> datetime | None:
    if not action.is_pending:
        return None
    view = view or budget_view()
    return view.eta_for_rank(queue_rank(action), action.not_before)
