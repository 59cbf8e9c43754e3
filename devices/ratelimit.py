"""The upstream budget: at most N calls in any W seconds, exactly.

The cloud counts a request when it arrives, which is somewhere between our
start and our finish of the call. So if call i+N starts at least W + m after
call i *finished* (both read from one clock), the cloud sees them at least W
apart, whatever the latency. Hence a sliding-window log of attempts in which
each attempt occupies the window until finished + W + m, and an unfinished
one until started + T + W + m (T: the longest a call can take). Every attempt
counts: 401s, 429s, 5xx and timeouts too.

Sends are also paced (about one every W/N), so a backlog goes out evenly
instead of in bursts of N followed by a long silence, and a click never waits
behind a burst. Pacing is a little looser than W/N (PACING_FACTOR): it is
measured from each actual start, and the few milliseconds between a slot
opening and the claim landing would otherwise add up on every call. The
exact limit comes from the log, not from pacing.

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

    @property
    def pacing(self) -> float:
        return PACING_FACTOR * self.window / self.requests

    def seconds_per_call(self, latency: float) -> float:
        """Sustained spacing of sends with a backlog: N calls per (W + latency + m)."""
        return (self.window + max(latency, 0.0) + self.margin) / self.requests


@dataclass(frozen=True)
class Span:
    """One attempt as the log records it: start, and finish once it is known."""

    started: float
    finished: float | None = None

    def frees_at(self, budget: Budget) -> float:
        end = self.finished if self.finished is not None else self.started + budget.call_timeout
        return end + budget.window + budget.margin


def next_start(spans: Iterable[Span], now: float, budget: Budget, blocked_until: float | None = None) -> float:
    """The earliest time, not before `now`, at which a new attempt may start.

    `spans` must include every attempt that may still occupy the window (any
    started after now - (T + W + m) is enough).
    """
    spans = list(spans)
    start = now
    occupying = sorted(f for f in (s.frees_at(budget) for s in spans) if f > now)
    if len(occupying) >= budget.requests:
        # Wait until only N - 1 attempts still occupy the window.
        start = max(start, occupying[len(occupying) - budget.requests])
    if spans:
        start = max(start, max(s.started for s in spans) + budget.pacing)
    if blocked_until is not None:
        start = max(start, blocked_until)
    return start


def window_usage(spans: Iterable[Span], now: float, budget: Budget) -> int:
    """How many attempts occupy the window at `now` (the "budget used" meter)."""
    return sum(1 for s in spans if s.frees_at(budget) > now)
