"""The circuit breaker: pausing all sending after failures, refused credentials or a 429, and resuming.

The pause's kind is stored (`UpstreamState.pause_kind`), so each kind ends its
own way: an answered call lifts a failures pause, only the reset time ends a
429 pause.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction

from devices import notices
from devices.models import UpstreamAttempt, UpstreamState
from devices.outbox.clock import db_now
from devices.outbox.kick import kick_drainer
from devices.outbox.limits import fit

logger = logging.getLogger(__name__)

PauseKind = UpstreamState.PauseKind
# An authentication failure pauses sending this long before one probe.
AUTH_PAUSE = timedelta(minutes=5)
# A failures pause is at most this share of how long the cloud has failed so
# far, so sending resumes within about a quarter of an outage after it ends.
OUTAGE_SHARE = 0.25
# The first pause after a failed token request, unless GEARS_RETRY_BASE is shorter.
FIRST_PROBE = 1.0
# Pauses are shortened by up to this share at random, so consoles that lost the
# cloud together do not all come back in the same second (never lengthened: the bound above holds).
PAUSE_JITTER = 0.2
# Pause kinds whose start was logged: their end is logged too.
ANNOUNCED = (PauseKind.FAILURES, PauseKind.AUTH, PauseKind.CREDENTIALS)


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
    notices.pause_starting(state, kind, reason)
    state.blocked_until = until
    state.pause_kind = kind
    state.block_reason = fit(UpstreamState, "block_reason", reason)


def failures_pause(consecutive_failures: int, failing_for: float, threshold: int | None = None) -> float:
    """Seconds of pause after `consecutive_failures` in a row over `failing_for` seconds.

    Doubling from GEARS_RETRY_BASE at the `threshold` (the breaker's by
    default), capped by GEARS_RETRY_CAP, and never over OUTAGE_SHARE of the
    time failing so far (nor under the first step).
    """
    threshold = settings.GEARS_BREAKER_THRESHOLD if threshold is None else threshold
    base, cap = settings.GEARS_RETRY_BASE, settings.GEARS_RETRY_CAP
    doubling = min(cap, base * 2 ** max(consecutive_failures - threshold, 0))
    return min(doubling, max(min(base, FIRST_PROBE), OUTAGE_SHARE * failing_for))


def jittered(seconds: float) -> float:
    return seconds * random.uniform(1 - PAUSE_JITTER, 1)


def _failing(state: UpstreamState, now: datetime) -> float:
    """Count one more failure in a row; the seconds since the run began."""
    state.consecutive_failures += 1
    state.consecutive_auth_failures = 0
    state.failing_since = state.failing_since or now
    return (now - state.failing_since).total_seconds()


def _announce_recovery(state: UpstreamState) -> None:
    if state.pause_kind in ANNOUNCED or state.consecutive_failures >= settings.GEARS_BREAKER_THRESHOLD:
        logger.warning("upstream: the cloud answers again after %d failure(s) in a row; sending resumes",
                       state.consecutive_failures)


def _auth_refused(state: UpstreamState, error, now: datetime) -> None:
    state.consecutive_auth_failures += 1
    if state.consecutive_auth_failures >= 2:
        announce = state.pause_kind != PauseKind.AUTH
        set_pause(state, PauseKind.AUTH, now + AUTH_PAUSE,
                  f"The cloud refused our credentials twice in a row ({error}). "
                  "Check GEARS_CLIENT_ID / GEARS_CLIENT_SECRET or GEARS_ACCESS_TOKEN.")
        if announce:
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
    failing_for = _failing(state, now)
    if state.consecutive_failures >= settings.GEARS_BREAKER_THRESHOLD:
        pause = jittered(failures_pause(state.consecutive_failures, failing_for))
        announce = state.pause_kind != PauseKind.FAILURES
        set_pause(state, PauseKind.FAILURES, now + timedelta(seconds=pause),
                  f"{state.consecutive_failures} failures in a row, the last: {error}")
        if announce:  # once per outage, not once per probe
            logger.warning("upstream paused after %d failures in a row (the last: %s); probing again in %.1f s, "
                           "then less often", state.consecutive_failures, error, pause)


def _answered(state: UpstreamState, outcome, now: datetime) -> None:
    # The cloud answered: whatever it said, it is reachable and accepts us.
    _announce_recovery(state)
    state.consecutive_failures = 0
    state.consecutive_auth_failures = 0
    state.failing_since = None
    in_force = state.pause_end(now) is not None
    if in_force and state.pause_kind != PauseKind.RATE_LIMITED:
        in_force = False
    if not in_force:
        notices.pause_ending(state)
        state.lift_pause()


# One handler per kind of outcome, as the attempt log records it.
HANDLERS: dict[str, Callable[[UpstreamState, object, datetime], None]] = {
    UpstreamAttempt.Outcome.OK: _answered,
    UpstreamAttempt.Outcome.REFUSED: _answered,  # a 4xx is an answer too
    # An answer that cannot be read came from a cloud that is up: no outage, so nothing pauses.
    UpstreamAttempt.Outcome.UNREADABLE: _answered,
    UpstreamAttempt.Outcome.AUTH: _auth_refused,
    UpstreamAttempt.Outcome.RATE_LIMITED: _rate_limited,
    UpstreamAttempt.Outcome.TRANSIENT: _failed,
}


def record_outcome(state: UpstreamState, kind: str, outcome, now: datetime, *, items: int = 1) -> None:
    """Update the breaker (locked `state`) with one call's outcome of `kind` (UpstreamAttempt.Outcome).

    `items`: the devices the call carried; a 429 after a batch advises smaller ones.
    """
    HANDLERS[kind](state, outcome, now)
    if kind == UpstreamAttempt.Outcome.RATE_LIMITED and items > 1:
        _advise_smaller_batches(state, outcome, items)
    state.save()


def _advise_smaller_batches(state: UpstreamState, error, items: int) -> None:
    # The cloud may count the devices of a bulk request, not only the request: smaller batches are the remedy,
    # and once the console has learned so from the answers it sizes them itself.
    if settings.GEARS_CLOUD_WORD and state.bulk_metering == UpstreamState.BulkMetering.PER_DEVICE:
        advice = "The cloud counts each device of a bulk request: batches now shrink to what its window holds."
    else:
        advice = f"If 429s recur, lower GEARS_BATCH_SIZE (now {settings.GEARS_BATCH_SIZE})."
    state.last_alarm = fit(UpstreamState, "last_alarm",
                           f"429 from the cloud after a batch of {items} devices; waiting {error.retry_after:g} s "
                           f"as it asked. {advice}")
    state.block_reason = fit(UpstreamState, "block_reason",
                             f"The cloud answered 429 (rate limited) to a batch of {items} devices: waiting for its "
                             f"reset time. {advice}")


def paused_until(now: datetime) -> datetime | None:
    """The end of the pause in force at `now`, if any (read without the lock)."""
    return upstream_state().pause_end(now)


def token_unreachable(error, reason: str) -> None:
    """A token request failed in passing (refused connection, timeout, 5xx): a short pause, growing
    with failures in a row; a 429 waits for its reset time."""
    with transaction.atomic():
        state = locked_state()
        now = db_now()
        if error.status == 429:
            _rate_limited(state, error, now)
        else:
            failing_for = _failing(state, now)
            # From the first failure: with no token nothing can be sent, so every drainer would ask again.
            pause = jittered(failures_pause(state.consecutive_failures, failing_for, threshold=1))
            announce = state.pause_kind != PauseKind.FAILURES
            set_pause(state, PauseKind.FAILURES, now + timedelta(seconds=pause), reason)
            if announce:
                logger.warning("upstream paused: %s; asking again in %.1f s, then less often", reason, pause)
        state.save()


def token_refused(reason: str, *, credentials: bool = True) -> None:
    """The cloud refused to grant a token: pause AUTH_PAUSE, logged once however often the probe is refused again."""
    hint = ("Check GEARS_CLIENT_ID / GEARS_CLIENT_SECRET or GEARS_ACCESS_TOKEN." if credentials
            else "Check GEARS_BASE_URL and the client's grant.")
    with transaction.atomic():
        state = locked_state()
        now = db_now()
        announce = state.pause_kind != PauseKind.CREDENTIALS
        state.consecutive_failures, state.failing_since = 0, None  # it answered: reachable
        set_pause(state, PauseKind.CREDENTIALS, now + AUTH_PAUSE, f"{reason} {hint}")
        state.save()
    if announce:
        logger.error("upstream paused %.0f s: %s %s", AUTH_PAUSE.total_seconds(), reason, hint)


def token_granted() -> None:
    """A token was granted: a pause for want of one ends, and the run of failures with it."""
    state = upstream_state()
    if not state.consecutive_failures and state.pause_kind not in (PauseKind.FAILURES, PauseKind.CREDENTIALS):
        return  # the usual case: no lock taken
    with transaction.atomic():
        state = locked_state()
        _announce_recovery(state)
        state.consecutive_failures, state.failing_since = 0, None
        if state.pause_kind in (PauseKind.FAILURES, PauseKind.CREDENTIALS):
            notices.pause_ending(state)
            state.lift_pause()
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
        notices.pause_ending(state)
        state.lift_pause()
        state.consecutive_failures = 0
        state.consecutive_auth_failures = 0
        state.failing_since = None
        state.save()
    kick_drainer()
