"""The upstream budget: at most N calls in any W seconds, exactly.

The cloud counts a request when it arrives, which is somewhere between our
start and our finish of the call. So if call i+N starts at least W + m after
call i *finished* (both read from one clock), the cloud sees them at least W
apart, whatever the latency. Hence a sliding-window log of attempts in which
each attempt occupies the window until finished + W + m, and an unfinished
one until started + T + W + m (T: the longest a call can take). Every attempt
counts: 401s, 429s, 5xx and timeouts too.

The last slot of every window is kept for clicks: work nobody waits for at
the screen (bulk jobs, page views) starts only while at most N - 2 attempts
occupy the window, so it uses at most N - 1 of the N slots and a click finds
one free at once unless another click took it. A click is held back by the
exact limit and by other clicks' pacing (one every W/N: a burst of clicks,
or every probe of an outage, must not fill a whole window at once);
everything else is paced behind every start (about one every W/(N-1)), so a
backlog goes out evenly instead of in bursts followed by a long silence. Pacing is a little looser than that (PACING_FACTOR): it is measured
from each actual start, and the few milliseconds between a slot opening and
the claim landing would otherwise add up on every call. The exact limit
comes from the log, not from pacing. With N = 1 nothing can be kept back.

Clicks go first, but not to the point of starving the rest: while bulk work
waits, it keeps a floor of F slots per window (Budget.bulk_floor, a share of
N) that clicks cannot take. Clicks then occupy at most N - F slots; once
they do, bulk work may use the window's last slot too (no click could take
it), and below its floor it is paced behind bulk starts only (W / F apart),
not behind every click. The exact limit still holds: every start is checked
against all the attempts occupying the window.

This module is pure (no database, no clock of its own), so its guarantee can
be checked with a fake clock; devices.outbox feeds it the attempt log read
under the limiter's row lock, on the database clock.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

PACING_FACTOR = 0.9


@dataclass(frozen=True)
class Budget:
    requests: int  # N
    window: float  # W, seconds
    margin: float  # m, seconds: clock-rate differences and window-edge rounding
    call_timeout: float  # T, seconds: an unfinished call holds its slot until started + T
    bulk_floor: float = 0.0  # the share of N that waiting bulk work keeps from clicks (0: none)

    @property
    def reserved_for_clicks(self) -> int:
        """Slots of every window that bulk work and page views leave free for a click (1, or 0 when N is 1)."""
        return 1 if self.requests > 1 else 0

    @property
    def bulk_slots(self) -> int:
        """Slots of every window that work other than clicks may use: N - 1."""
        return self.requests - self.reserved_for_clicks

    @property
    def bulk_floor_slots(self) -> int:
        """F: slots of every window that clicks leave to waiting bulk work (at least 1 if any share is set)."""
        if self.bulk_floor <= 0 or self.requests < 2:
            return 0
        return min(self.bulk_slots, max(1, int(self.requests * self.bulk_floor)))

    @property
    def click_cap(self) -> int:
        """The most slots clicks may occupy while bulk work waits: N - F."""
        return self.requests - self.bulk_floor_slots

    @property
    def floor_pacing(self) -> float:
        """The least spacing between bulk starts below the floor: F per window."""
        return PACING_FACTOR * self.window / self.bulk_floor_slots

    @property
    def pacing(self) -> float:
        """The least spacing between the start of work other than clicks and any start before it."""
        return PACING_FACTOR * self.window / self.bulk_slots

    @property
    def click_pacing(self) -> float:
        """The least spacing between the starts of two clicks."""
        return PACING_FACTOR * self.window / self.requests

    def seconds_per_call(self, latency: float) -> float:
        """Sustained spacing of sends with a backlog of clicks: N calls per (W + latency + m)."""
        return (self.window + max(latency, 0.0) + self.margin) / self.requests

    def seconds_per_bulk_call(self, latency: float) -> float:
        """Sustained spacing of sends with a backlog of bulk work: N - 1 calls per (W + latency + m)."""
        return (self.window + max(latency, 0.0) + self.margin) / self.bulk_slots


@dataclass(frozen=True)
class Span:
    """One attempt as the log records it: start, and finish once it is known."""

    started: float
    finished: float | None = None
    click: bool = False

    def frees_at(self, budget: Budget) -> float:
        end = self.finished if self.finished is not None else self.started + budget.call_timeout
        return end + budget.window + budget.margin


def next_start(spans: Iterable[Span], now: float, budget: Budget, blocked_until: float | None = None, *,
               click: bool = False, bulk_waiting: bool = False) -> float:
    """The earliest time, not before `now`, at which a new attempt may start.

    `click`: the attempt is a click, which may take the last slot and is
    paced behind other clicks only. `bulk_waiting`: bulk work waits too, so a
    click leaves it its floor. `spans` must include every attempt that may still occupy the
    window (any started after now - (T + W + m) is enough).
    """
    spans = list(spans)
    start = now
    floor = FloorView(spans, now, budget)
    allowed = budget.requests if click or floor.clicks_at_cap else budget.bulk_slots
    occupying = sorted(f for f in (s.frees_at(budget) for s in spans) if f > now)
    if len(occupying) >= allowed:
        # Wait until only allowed - 1 attempts still occupy the window.
        start = max(start, occupying[len(occupying) - allowed])
    if click:
        clicks = [s.started for s in spans if s.click]
        if clicks:
            start = max(start, max(clicks) + budget.click_pacing)
        if bulk_waiting:
            start = max(start, floor.click_free_at)
    elif spans:
        start = max(start, floor.paced(max(s.started for s in spans) + budget.pacing))
    if blocked_until is not None:
        start = max(start, blocked_until)
    return start


@dataclass(frozen=True)
class FloorView:
    """The bulk floor's part in next_start: what clicks occupy, and how bulk work below its floor is paced."""

    spans: list[Span]
    now: float
    budget: Budget

    def _frees(self, click: bool) -> list[float]:
        return sorted(f for f in (s.frees_at(self.budget) for s in self.spans if s.click == click) if f > self.now)

    @property
    def clicks_at_cap(self) -> bool:
        """Clicks occupy all they may while bulk waits: the window's last slot is no click's to keep."""
        return self.budget.bulk_floor_slots > 0 and len(self._frees(True)) >= self.budget.click_cap

    @property
    def click_free_at(self) -> float:
        """When a click may start without taking the floor from waiting bulk work."""
        clicks, cap = self._frees(True), self.budget.click_cap
        if self.budget.bulk_floor_slots == 0 or len(clicks) < cap:
            return self.now
        return clicks[len(clicks) - cap]

    def paced(self, behind_every_start: float) -> float:
        """Bulk pacing: behind every start, or, below the floor, behind bulk starts only (W / F apart)."""
        if self.budget.bulk_floor_slots == 0 or len(self._frees(False)) >= self.budget.bulk_floor_slots:
            return behind_every_start
        bulk = [s.started for s in self.spans if not s.click]
        return min(behind_every_start, max(bulk) + self.budget.floor_pacing if bulk else self.now)


def window_usage(spans: Iterable[Span], now: float, budget: Budget) -> int:
    """How many attempts occupy the window at `now` (the "budget used" meter)."""
    return sum(1 for s in spans if s.frees_at(budget) > now)
