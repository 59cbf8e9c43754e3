"""A connection check's one call in the budget: a click's slot, taken under the state row's lock, then its outcome.

The check (devices.cloudcheck) sends one Get Devices page for someone at the
screen, so it takes the slot a click could take: the exact limit and the
clicks' pacing hold it back, bulk work's pacing does not. It is logged in the
attempt log like any call (marked `connection_check`, with no action), so
the window counts it and every drainer sees it.

Of the pauses only a 429's holds it back: the cloud itself asked for quiet.
A pause for failures or refused credentials is what the check is run to
diagnose, and it sends a single paced call. Its outcome touches the breaker
only for a 429 (which pauses sending as any 429 does): the check uses a
token of its own, and its failure is reported to whoever asked.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from django.db import transaction

from devices.models import PauseKind, UpstreamAttempt
from devices.outbox.breaker import locked_state, record_outcome
from devices.outbox.budget import attempt_spans, budget, from_epoch
from devices.outbox.clock import db_now
from devices.outbox.limits import fit
from devices.outbox.outcome import log_outcome
from devices.ratelimit import next_start
from devices.upstream import DevicePage, GearsError


@dataclass(frozen=True)
class CheckSlot:
    """The check's attempt, already in the log (None when only looked for), and how long it waited for its slot."""

    attempt_id: int | None
    waited: float  # seconds


class NoSlot(Exception):
    """No slot a click could take is free within the wait allowed; `until` is when one is."""

    def __init__(self, until: datetime, reason: str) -> None:
        super().__init__(reason)
        self.until = until
        self.reason = reason


def take_check_slot(worker: str, *, max_wait: float, on_wait: Callable[[datetime], None] = lambda until: None,
                    sleep: Callable[[float], None] = time.sleep, monotonic: Callable[[], float] = time.monotonic,
                    take: bool = True) -> CheckSlot:
    """Log the check's attempt in the next slot a click could take, waiting at most `max_wait` seconds for it.

    `on_wait(until)` is told once, before the first wait, so the caller can
    say why nothing happens yet. Raises NoSlot when the slot is further off.
    With `take=False` it only waits until a slot is free, and logs nothing.
    """
    began = monotonic()
    told = False
    while True:
        with transaction.atomic():
            state = locked_state()
            now = db_now()
            b = budget()
            rate_limited = state.pause_kind == PauseKind.RATE_LIMITED and state.pause_end(now) is not None
            blocked = state.blocked_until.timestamp() if rate_limited else None
            start = from_epoch(next_start(attempt_spans(now, b), now.timestamp(), b, blocked, click=True))
            if start <= now:
                if not take:
                    return CheckSlot(None, monotonic() - began)
                attempt = UpstreamAttempt.objects.create(started_at=now, worker=worker, connection_check=True)
                return CheckSlot(attempt.pk, monotonic() - began)
        wait = (start - now).total_seconds()
        if monotonic() - began + wait > max_wait:
            reason = (f"the cloud asked for a pause (429) until {start:%H:%M:%S} UTC" if rate_limited
                      else f"every request of the budget ({b.requests} per {b.window:g} s) is taken until "
                           f"{start:%H:%M:%S} UTC")
            raise NoSlot(start, reason)
        if not told:
            on_wait(start)
            told = True
        sleep(wait)


def finish_check(attempt_id: int, outcome: DevicePage | GearsError) -> None:
    """Write the check's outcome to its log row; a 429 pauses sending as any 429 does."""
    # The call ended now: read the clock before queueing for the lock (as outcome._write does).
    now = db_now()
    kind = log_outcome(outcome)
    answered = kind == UpstreamAttempt.Outcome.OK
    with transaction.atomic():
        state = locked_state()
        UpstreamAttempt.objects.filter(pk=attempt_id).update(
            finished_at=now, outcome=kind, http_status=outcome.http_status if answered else outcome.status,
            error="" if answered else fit(UpstreamAttempt, "error", str(outcome)),
        )
        if kind == UpstreamAttempt.Outcome.RATE_LIMITED:
            record_outcome(state, kind, outcome, now)
