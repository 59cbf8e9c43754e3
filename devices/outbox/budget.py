"""The budget read-model: the limit from settings, the attempt log as spans, and ETAs for waiting actions."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db.models import QuerySet

from devices.cloudword import cloud_start
from devices.models import Action, Priority, UpstreamAttempt
from devices.outbox.breaker import upstream_state
from devices.outbox.calls import (
    CLAIM_ORDER,
    Waiting,
    ahead_of,
    pending,
    same_identifier_type,
    waiting,
    waiting_before_call,
)
from devices.outbox.clock import db_now
from devices.outbox.metering import attempt_log, cloud_word, metered_spans, metering_note, per_device, spent_since_word
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
        bulk_floor=settings.GEARS_BULK_FLOOR,
    )


def attempt_spans(now: datetime, b: Budget) -> list[Span]:
    """Every logged attempt that may still occupy the window at `now`."""
    return [attempt.span for attempt in attempt_log(now, b)]


def batch_capacity(per_device: bool, b: Budget) -> int:
    """Devices a batch carries in a steady backlog: GEARS_BATCH_SIZE, or what a window holds for bulk
    work when the cloud counts each device."""
    return max(1, min(settings.GEARS_BATCH_SIZE, b.bulk_slots)) if per_device else settings.GEARS_BATCH_SIZE


def from_epoch(epoch: float) -> datetime:
    """The UTC datetime of `epoch`, rounded up to the microsecond: never before it."""
    return datetime.fromtimestamp(math.ceil(epoch * 1_000_000) / 1_000_000, tz=UTC)


@dataclass(frozen=True)
class BudgetView:
    """What the Upstream page and ETAs show; read without taking the lock.

    Interactive calls may take every slot of a window and go first; bulk
    calls leave the window's last slot free for them (N-1 of N) while they wait.
    """

    now: datetime
    used: int
    limit: int
    window: float
    next_slot: datetime  # the next call a click may make (bulk waits for bulk_slot)
    click_slot: datetime  # the next call a click may make: the window's last slot, not paced
    bulk_slot: datetime  # the next bulk call: paced, and the window's last slot kept free
    seconds_per_call: float  # spacing of interactive calls: N per window
    bulk_seconds_per_call: float  # spacing of bulk calls: N-1 per window
    blocked_until: datetime | None
    block_reason: str
    pause_kind: str
    queue: Waiting
    # How the cloud meters a bulk request, when learned ("" if not): the ETAs count with it.
    metering_note: str = ""
    per_device: bool = False
    used_by_clicks: int = 0  # of `used`: the attempts of clicks (the rest: bulk work and page views)

    @property
    def used_by_bulk(self) -> int:
        return self.used - self.used_by_clicks

    @property
    def bulk_floor(self) -> int:
        """Slots per window waiting bulk work keeps from clicks (GEARS_BULK_FLOOR; 0: none)."""
        return budget().bulk_floor_slots

    @property
    def click_cap(self) -> int:
        """The most slots per window clicks take while bulk work waits."""
        return budget().click_cap

    @property
    def paused(self) -> bool:
        return self.blocked_until is not None and self.blocked_until > self.now

    @property
    def batch_size(self) -> int:
        return self.queue.batch_size

    @property
    def backlog(self) -> int:
        """Waiting actions: one per device."""
        return self.queue.devices

    @property
    def backlog_calls(self) -> int:
        """The requests the waiting actions make."""
        return self.queue.calls

    @property
    def reserved(self) -> int:
        """Slots per window bulk work leaves for clicks (none when the limit is a single call)."""
        return budget().reserved_for_clicks

    @property
    def reserved_free(self) -> bool:
        """A click made now could go out now."""
        return self.click_slot <= self.now

    def call_time(self, fast_ahead: int, bulk_ahead: int | None = None, not_before: datetime | None = None) -> datetime:
        """When the call goes out that has `fast_ahead` interactive calls before it and, if it is a
        bulk call, `bulk_ahead` bulk calls (None: it is an interactive call)."""
        eta = self.click_slot + timedelta(seconds=fast_ahead * self.seconds_per_call)
        if bulk_ahead is not None:
            eta = max(eta, self.bulk_slot) + timedelta(seconds=bulk_ahead * self.bulk_seconds_per_call)
        return max(eta, not_before) if not_before else eta

    def finish_of(self, work: Waiting) -> datetime | None:
        """When the last call of this waiting work goes out."""
        if work.bulk_calls:
            return self.call_time(work.fast, work.bulk_calls - 1)
        return self.call_time(work.fast - 1) if work.fast else None

    @property
    def drained_at(self) -> datetime | None:
        return self.finish_of(self.queue)


def average_latency(sample: int = 50) -> float:
    """Mean seconds per finished call, over the most recent ones."""
    recent = UpstreamAttempt.objects.filter(finished_at__isnull=False).order_by("-started_at")[:sample]
    durations = [(f - s).total_seconds() for s, f in recent.values_list("started_at", "finished_at")]
    return sum(durations) / len(durations) if durations else DEFAULT_LATENCY


def budget_view() -> BudgetView:
    b = budget()
    now = db_now()
    state = upstream_state()
    log = attempt_log(now, b)
    spans = metered_spans(state, log)
    blocked = state.blocked_until.timestamp() if state.blocked_until else None
    word, spent = cloud_word(state), spent_since_word(state, log)
    click_slot = from_epoch(max(next_start(spans, now.timestamp(), b, blocked, click=True),
                                cloud_start(word, spent, 1, now.timestamp())))
    bulk_slot = from_epoch(max(next_start(spans, now.timestamp(), b, blocked),
                               cloud_start(word, spent, 1, now.timestamp(), reserve=b.reserved_for_clicks)))
    latency = average_latency()
    by_device = per_device(state)
    capacity = batch_capacity(by_device, b)
    # Under per-device metering a batch of k devices takes k of the window's bulk slots.
    bulk_units = capacity if by_device else 1
    return BudgetView(
        now=now,
        used=window_usage(spans, now.timestamp(), b),
        limit=b.requests,
        window=b.window,
        next_slot=click_slot,  # a click's: bulk waits longer
        click_slot=click_slot,
        bulk_slot=bulk_slot,
        seconds_per_call=b.seconds_per_call(latency),
        bulk_seconds_per_call=b.seconds_per_bulk_call(latency) * bulk_units,
        blocked_until=state.blocked_until,
        block_reason=state.block_reason,
        pause_kind=state.pause_kind,
        queue=waiting(capacity),
        metering_note=metering_note(state),
        per_device=by_device,
        used_by_clicks=window_usage([s for s in spans if s.click], now.timestamp(), b),
    )


def queue_rank(action: Action) -> int:
    """How many waiting actions go out before this one (claim order: priority, not_before, id)."""
    return pending().filter(ahead_of(action.priority, action.not_before, action.pk)).count()


def estimated_send_time(action: Action, view: BudgetView | None = None) -> datetime | None:
    """When the call that carries this waiting action goes out (None: it no longer waits)."""
    if not action.is_pending:
        return None
    view = view or budget_view()
    before = waiting_before_call(action, view.batch_size)
    bulk_ahead = before.bulk_calls if action.priority >= Priority.BULK else None
    return view.call_time(before.fast, bulk_ahead, action.not_before)


def estimated_finish(actions: QuerySet[Action], view: BudgetView) -> datetime | None:
    """When the last of these actions (a bulk job's) goes out: each identifier type batches apart,
    so the last in claim order need not be the last sent."""
    last = actions.filter(status__in=Action.PENDING).order_by(*(f"-{f}" for f in CLAIM_ORDER))
    ends = []
    for has_hwid in (False, True):
        action = last.filter(same_identifier_type(has_hwid)).first()
        if action is not None:
            ends.append(estimated_send_time(action, view))
    return max(ends, default=None)
