"""Strict sliding-window-log rate limiter, plus the measuring stick for it.

The vendor documents "10 requests per minute" per API and 429 when over it,
but not the window type or scope (docs/upstream/api-notes.md §4, open question 1). The
simulator chooses the strictest reading [I] (docs/upstream/api-notes.md §7.4): at most N
*accepted* requests in ANY W-second interval, i.e. a sliding log, not fixed
minute buckets (which would allow 2N across a bucket boundary). A client that
stays under this limit is safe against any of the plausible real limiters.

Semantics:
- The window ending at time `now` is the half-open interval (now - W, now].
  A request accepted at time t stops counting at exactly t + W.
- The arrival time is taken inside the limiter's lock, so the log is always
  in arrival order and decisions are exact under concurrency. The app calls
  the limiter as the first thing after authentication, before any work or
  injected latency, so this is the request's arrival time.
- Rejected requests are not logged and do not use quota.
- A request may cost more than one unit (`cost`: a bulk request metered per
  device); it is admitted only if all its units fit, and each unit counts.
- Another client of the same account may spend `others` units at the start
  of every window period (the first `others` that fit, as a SIEM add-on or
  a script would); they count like ours, so Remaining is lower than the
  console's own count explains.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class RateDecision:
    """Outcome of one admission check, and the values for the X-RateLimit-* headers."""

    allowed: bool
    limit: int
    remaining: int
    # Whole seconds, rounded up, until the oldest counted request leaves the
    # window (0 when nothing is counted).
    reset_seconds: int
    # Monotonic-clock time at which the decision was taken.
    arrival: float

    def headers(self, *, limit: int = 0, epoch: float | None = None) -> list[tuple[str, str]]:
        """`limit`: the Limit to announce instead of the one enforced (0: that one); `epoch`: the
        Unix time of `arrival`, to send Reset-Time as a Unix time instead of seconds from now."""
        reset = self.reset_seconds if epoch is None else math.ceil(epoch + self.reset_seconds)
        return [
            ("X-RateLimit-Limit", str(limit or self.limit)),
            ("X-RateLimit-Remaining", str(self.remaining)),
            ("X-RateLimit-Reset-Time", str(reset)),
        ]


class SlidingWindowLimiter:
    """At most `limit` accepted requests per key in any `window` seconds.

    Thread-safe: every read and write of the logs happens under one lock.
    """

    def __init__(
        self,
        limit: int,
        window: float,
        clock: Callable[[], float] = time.monotonic,
        history_size: int = 100_000,
    ) -> None:
        if limit < 1:
            raise ValueError("limit must be >= 1")
        if not window > 0:
            raise ValueError("window must be > 0")
        self.limit = limit
        self.window = float(window)
        self._clock = clock
        self._history_size = history_size
        self._lock = threading.Lock()
        # Per key: the accepted arrivals still inside the window (enforcement).
        self._live: dict[str, deque[float]] = {}
        # Per key: every accepted arrival, bounded (the independent measure).
        self._history: dict[str, deque[float]] = {}
        # Per key: when the other client next spends its share of a window.
        self._others_due: dict[str, float] = {}
        self.rejected = 0
        self.others_spent = 0

    def acquire(self, key: str, cost: int = 1, others: int = 0) -> RateDecision:
        """Admit or reject one request arriving now, costing `cost` units, and record it if admitted.

        `others`: units another client spends at the start of every window period.
        """
        with self._lock:
            now = self._clock()
            self._spend_others(key, now, others)
            live = self._prune(key, now)
            if len(live) + cost > self.limit:
                self.rejected += 1
                return RateDecision(False, self.limit, max(0, self.limit - len(live)), self._reset_seconds(live, now), now)
            history = self._history.setdefault(key, deque(maxlen=self._history_size))
            for _ in range(cost):
                live.append(now)
                history.append(now)
            return RateDecision(True, self.limit, self.limit - len(live), self._reset_seconds(live, now), now)

    def _spend_others(self, key: str, now: float, others: int) -> None:
        """The other client's requests of every period due by `now`, each at its period's start or,
        if one of ours came later, just after that one (the log stays in arrival order)."""
        if others <= 0:
            self._others_due.pop(key, None)
            return
        due = self._others_due.setdefault(key, now)
        while due <= now:
            live = self._live.setdefault(key, deque())
            at = max(due, live[-1]) if live else due
            live = self._prune(key, at)
            history = self._history.setdefault(key, deque(maxlen=self._history_size))
            for _ in range(min(others, self.limit - len(live))):
                live.append(at)
                history.append(at)
                self.others_spent += 1
            due += self.window
        self._others_due[key] = due

    def peek(self, key: str, others: int = 0) -> RateDecision:
        """Current header values for `key` without counting anything.

        Used for responses that are not counted (401, 503) but must still
        carry the X-RateLimit-* headers.
        """
        with self._lock:
            now = self._clock()
            self._spend_others(key, now, others)
            live = self._prune(key, now)
            remaining = max(0, self.limit - len(live))
            return RateDecision(remaining > 0, self.limit, remaining, self._reset_seconds(live, now), now)

    def reset(self) -> None:
        """Forget every window, the history and the rejection count."""
        with self._lock:
            self._live.clear()
            self._history.clear()
            self._others_due.clear()
            self.rejected = 0
            self.others_spent = 0

    def accepted_arrivals(self) -> dict[str, list[float]]:
        """Copy of the accepted-arrival history per key (monotonic times)."""
        with self._lock:
            return {key: list(times) for key, times in self._history.items()}

    def max_accepted_in_window(self) -> dict[str, int]:
        """Per key, the most accepted requests seen in any `window`-second interval.

        Computed from the accepted-arrival history, independently of the
        enforcement path; it must never exceed `limit`.
        """
        return {key: max_in_any_window(times, self.window) for key, times in self.accepted_arrivals().items()}

    def _prune(self, key: str, now: float) -> deque[float]:
        live = self._live.setdefault(key, deque())
        # Same expression as in max_in_any_window(), so both agree to the ulp.
        while live and now - live[0] >= self.window:
            live.popleft()
        return live

    def _reset_seconds(self, live: deque[float], now: float) -> int:
        if not live:
            return 0
        return max(0, math.ceil(live[0] + self.window - now))


def max_in_any_window(arrivals: Iterable[float], window: float) -> int:
    """Largest number of arrivals inside any half-open interval of length `window`.

    Two-pointer sweep over sorted times: arrivals i..j share a window iff
    t[j] - t[i] < window. The maximum is always reached by a window ending at
    an arrival, so checking those windows suffices.
    """
    times = sorted(arrivals)
    best = 0
    start = 0
    for end, current in enumerate(times):
        while current - times[start] >= window:
            start += 1
        best = max(best, end - start + 1)
    return best
