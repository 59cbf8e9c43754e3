"""Where the simulator's time comes from: the monotonic clock by default, any
object with the same two methods in tests that step time instead of sleeping."""

from __future__ import annotations

import threading
import time
from typing import Protocol


class Clock(Protocol):
    def now(self) -> float:
        """Seconds on a clock that never goes back (arrivals, expiries, windows)."""

    def sleep(self, seconds: float, wake: threading.Event) -> bool:
        """Wait `seconds` or until `wake` is set; True if woken (the server stops)."""


class SystemClock:
    """Real time: time.monotonic, and sleeps that the server's stop cuts short."""

    def now(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float, wake: threading.Event) -> bool:
        if seconds <= 0:
            return wake.is_set()
        return wake.wait(seconds)
