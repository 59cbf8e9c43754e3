"""Claiming: the next due action, if the budget allows a call now, under the state row's lock.

Also puts back rows whose worker vanished (their lease passed), marked ambiguous,
counted as a failure (attempts, breaker); an action out of attempts fails for good.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import DateTimeField, F, Value
from django.db.models.functions import Coalesce

from devices.models import Action, ActionKind, UpstreamAttempt, UpstreamState
from devices.outbox.breaker import locked_state, record_outcome
from devices.outbox.budget import attempt_spans, budget, from_epoch
from devices.outbox.clock import db_now
from devices.outbox.limits import fit
from devices.ratelimit import next_start
from devices.upstream import GearsError

logger = logging.getLogger(__name__)

# A claimed row whose worker vanished goes back to the queue this long after
# its call must have ended.
LEASE_EXTRA = timedelta(seconds=10)
# Look again this soon when the only waiting work is behind a call in flight.
BEHIND_IN_FLIGHT = timedelta(seconds=0.5)
LOST_ERROR = "the worker sending it stopped before the answer came"
# Look again this soon when another drainer holds the due row.
ROW_TAKEN = timedelta(seconds=0.2)


@dataclass(frozen=True)
class Claim:
    """An action this worker may now send (its attempt is already in the log)."""

    action_id: int
    attempt_id: int
    worker: str
    kind: str
    identifier: str
    opt: int


@dataclass(frozen=True)
class Wait:
    """Nothing may be sent before `until` (the budget, a pause or a retry delay)."""

    until: datetime


@dataclass(frozen=True)
class Idle:
    """Nothing waits at all."""


IDLE = Idle()
Step = Claim | Wait | Idle


def reap_lost(now: datetime, state: UpstreamState | None = None) -> int:
    """Rows claimed by a worker that died go back to the queue, marked ambiguous:
    the call may have reached the cloud. Their log rows keep holding their slot
    until started + T + W + m, so the budget stays safe. Returns how many.

    A lost attempt is a transient failure like any other: it counts towards
    GEARS_MAX_ATTEMPTS and the breaker. Pass the locked `state` if the caller
    holds it (lock order: the state row, then actions).
    """
    with transaction.atomic():
        state = state or locked_state()
        lost = list(
            Action.objects.select_for_update()
            .filter(status=Action.Status.SENDING, lease_until__lt=now)
            .only("pk", "attempts", "transient_failures")
        )
        if not lost:
            return 0
        error = GearsError(LOST_ERROR, permanent=False, ambiguous=True)
        for action in lost:
            action.transient_failures += 1
            action.ambiguous = True
            action.claimed_by, action.lease_until = "", None
            if action.attempts >= settings.GEARS_MAX_ATTEMPTS:
                action.status, action.finished_at = Action.Status.FAILED, now
                action.last_error = fit(Action, "last_error", f"Gave up after {action.attempts} attempts: {LOST_ERROR}")
            else:
                action.status, action.not_before = Action.Status.RETRYING, now
                action.last_error = f"{LOST_ERROR}; it will be sent again"
            action.save(update_fields=["status", "ambiguous", "not_before", "finished_at", "claimed_by", "lease_until",
                                       "last_error", "transient_failures"])
            record_outcome(state, UpstreamAttempt.Outcome.TRANSIENT, error, now)
        UpstreamAttempt.objects.filter(action__in=lost, finished_at__isnull=True).update(
            outcome=UpstreamAttempt.Outcome.LOST)
    logger.warning("re-queued or failed %d action(s) claimed by a worker that stopped", len(lost))
    return len(lost)


def _give_up(action: Action, now: datetime) -> None:
    """An action that has used every attempt fails for good instead of being sent again."""
    action.status = Action.Status.FAILED
    action.finished_at = now
    action.last_error = fit(
        Action, "last_error",
        f"Gave up after {action.attempts} attempts (GEARS_MAX_ATTEMPTS is {settings.GEARS_MAX_ATTEMPTS}); "
        f"the last: {action.last_error or 'no error recorded'}",
    )
    action.save(update_fields=["status", "finished_at", "last_error"])


def claim_next(worker: str) -> Step:
    """Claim the next due action if the budget allows a call now.

    Returns the Claim; or Wait(until) when the budget, a pause or a retry
    delay holds everything back; or IDLE when nothing waits at all.
    """
    b = budget()
    with transaction.atomic():
        state = locked_state()
        now = db_now()
        reap_lost(now, state)
        waiting = Action.objects.filter(status__in=Action.PENDING)
        # One call at a time per key keeps a device's changes in order.
        busy = Action.objects.filter(status=Action.Status.SENDING).values("coalesce_key")
        ready = waiting.exclude(coalesce_key__in=busy)
        due = ready.filter(not_before__lte=now)
        if not due.exists():
            later = ready.order_by("not_before").values_list("not_before", flat=True).first()
            if later is not None:
                return Wait(later)
            return Wait(now + BEHIND_IN_FLIGHT) if waiting.exists() else IDLE
        blocked = state.blocked_until.timestamp() if state.blocked_until else None
        start = from_epoch(next_start(attempt_spans(now, b), now.timestamp(), b, blocked))
        if start > now:
            return Wait(start)
        action = (
            due.order_by("priority", "not_before", "id").select_for_update(skip_locked=True, of=("self",)).select_related("device").first()
        )
        if action is None:
            return Wait(now + ROW_TAKEN)
        if action.attempts >= settings.GEARS_MAX_ATTEMPTS:
            _give_up(action, now)
            return Wait(now)
        # A sync's page concerns no device: what is sent is the page number, set when it was queued.
        ident = (action.identifier, 0) if action.kind == ActionKind.SYNC_PAGE else action.device.upstream_identifier
        if ident is None:
            action.status = Action.Status.FAILED
            action.finished_at = now
            action.last_error = "The device has neither a HWID nor a MAC address."
            action.save(update_fields=["status", "finished_at", "last_error"])
            return Wait(now)
        action.status = Action.Status.SENDING
        action.claimed_by = worker
        action.lease_until = now + timedelta(seconds=b.call_timeout) + LEASE_EXTRA
        action.attempts = F("attempts") + 1
        action.first_sent_at = Coalesce(F("first_sent_at"), Value(now, output_field=DateTimeField()))
        action.identifier, action.opt = ident
        action.save(update_fields=["status", "claimed_by", "lease_until", "attempts", "first_sent_at", "identifier", "opt"])
        attempt = UpstreamAttempt.objects.create(action=action, started_at=now, worker=worker)
        return Claim(action.pk, attempt.pk, worker, action.kind, ident[0], ident[1])
