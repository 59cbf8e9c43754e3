"""The circuit breaker: pausing all sending after failures, refused credentials or a 429, and resuming.

The pause's kind is stored (`UpstreamState.pause_kind`), so each kind ends its
own way: an answered call lifts a failures pause, only the reset time ends a
429 pause.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction

from devices.models import UpstreamAttempt, UpstreamState
from devices.outbox.clock import db_now
from devices.outbox.kick import kick_drainer
from devices.outbox.limits import fit

logger = logging.getLogger(__name__)

PauseKind = UpstreamState.PauseKind
# An authentication failure pauses sending this long before one probe.
AUTH_PAUSE = timedelta(minutes=5)


def upstream_state() -> UpstreamState:
    """The single row that holds the breaker and the pause (created on first use)."""
    return UpstreamState.objects.get_or_create(pk=1)[0]


def locked_state() -> UpstreamState:
    """The state row under its lock: call inside a transaction (lock order: this row, then actions)."""
    return UpstreamState.objects.select_for_update().get(pk=upstream_state().pk)


def set_pause(state: UpstreamState, kind: str, until: datetime, reason: str) -> None:
    """Pause sending until `until`; a longer 429 pause in force is never shortened."""
    if state.pause_kind == PauseKind.RATE_LIMITED and state.blocked_until and state.blocked_until > until:
        return
    state.blocked_until = until
    state.pause_kind = kind
    state.block_reason = fit(UpstreamState, "block_reason", reason)


def failures_pause(consecutive_failures: int) -> float:
    """Seconds of pause after `consecutive_failures` transient failures: doubling from the threshold, capped."""
    threshold = settings.GEARS_BREAKER_THRESHOLD
    return min(settings.GEARS_RETRY_CAP, settings.GEARS_RETRY_BASE * 2 ** (consecutive_failures - threshold))


def _auth_refused(state: UpstreamState, error, now: datetime) -> None:
    state.consecutive_auth_failures += 1
    if state.consecutive_auth_failures >= 2:
        set_pause(state, PauseKind.AUTH, now + AUTH_PAUSE,
                  f"The cloud refused our credentials twice in a row ({error}). "
                  "Check GEARS_CLIENT_ID / GEARS_CLIENT_SECRET or GEARS_ACCESS_TOKEN.")
        logger.error("upstream paused: authentication failed twice")


def _rate_limited(state: UpstreamState, error, now: datetime) -> None:
    # Should never happen: the budget is meant to stay under the limit.
    state.rate_limited_count += 1
    state.last_alarm_at = now
    state.last_alarm = fit(UpstreamState, "last_alarm", f"429 from the cloud; waiting {error.retry_after:g} s as it asked.")
    set_pause(state, PauseKind.RATE_LIMITED, now + timedelta(seconds=error.retry_after),
              "The cloud answered 429 (rate limited): waiting for its reset time.")
    logger.error("ALARM: the cloud answered 429 despite the budget; pausing %.0f s", error.retry_after)


def _failed(state: UpstreamState, error, now: datetime) -> None:
    state.consecutive_failures += 1
    state.consecutive_auth_failures = 0
    if state.consecutive_failures >= settings.GEARS_BREAKER_THRESHOLD:
        pause = failures_pause(state.consecutive_failures)
        set_pause(state, PauseKind.FAILURES, now + timedelta(seconds=pause),
                  f"{state.consecutive_failures} failures in a row, the last: {error}")
        logger.warning("upstream paused %.0f s after %d failures in a row", pause, state.consecutive_failures)


def _answered(state: UpstreamState, outcome, now: datetime) -> None:
    # The cloud answered: whatever it said, it is reachable and accepts us.
    state.consecutive_failures = 0
    state.consecutive_auth_failures = 0
    in_force = state.blocked_until is not None and state.blocked_until > now
    if in_force and state.pause_kind != PauseKind.RATE_LIMITED:
        in_force = False
    if not in_force:
        state.blocked_until = None
        state.pause_kind = PauseKind.NONE
        state.block_reason = ""


# One handler per kind of outcome, as the attempt log records it.
HANDLERS: dict[str, Callable[[UpstreamState, object, datetime], None]] = {
    UpstreamAttempt.Outcome.OK: _answered,
    UpstreamAttempt.Outcome.REFUSED: _answered,  # a 4xx is an answer too
    UpstreamAttempt.Outcome.AUTH: _auth_refused,
    UpstreamAttempt.Outcome.RATE_LIMITED: _rate_limited,
    UpstreamAttempt.Outcome.TRANSIENT: _failed,
}


def record_outcome(state: UpstreamState, kind: str, outcome, now: datetime) -> None:
    """Update the breaker (locked `state`) with one call's outcome of `kind` (UpstreamAttempt.Outcome)."""
    HANDLERS[kind](state, outcome, now)
    state.save()


def pause(reason: str, seconds: float, *, kind: str = PauseKind.FAILURES) -> None:
    """Pause all sending for `seconds`, saying why."""
    with transaction.atomic():
        state = locked_state()
        set_pause(state, kind, db_now() + timedelta(seconds=seconds), reason)
        state.save()


def resume(*, user=None) -> None:
    """Lift a pause now (the next call is the probe)."""
    with transaction.atomic():
        state = locked_state()
        state.blocked_until = None
        state.pause_kind = PauseKind.NONE
        state.block_reason = ""
        state.consecutive_failures = 0
        state.consecutive_auth_failures = 0
        state.save()
    kick_drainer()
