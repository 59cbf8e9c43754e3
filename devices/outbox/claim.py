"""Claiming: the next due action, if the budget allows a call now, under the state row's lock.

Also puts back rows whose worker vanished (their lease passed), marked ambiguous.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import DateTimeField, F, Value
from django.db.models.functions import Coalesce

from devices.models import Action, UpstreamAttempt
from devices.outbox.breaker import locked_state
from devices.outbox.budget import attempt_spans, budget, from_epoch
from devices.outbox.clock import db_now
from devices.ratelimit import next_start

logger = logging.getLogger(__name__)

# A claimed row whose worker vanished goes back to the queue this long after
# its call must have ended.
LEASE_EXTRA = timedelta(seconds=10)
# Look again this soon when the only waiting work is behind a call in flight.
BEHIND_IN_FLIGHT = timedelta(seconds=0.5)
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


def reap_lost(now: datetime) -> int:
    """Rows claimed by a worker that died go back to the queue, marked ambiguous:
    the call may have reached the cloud. Their log rows keep holding their slot
    until started + T + W + m, so the budget stays safe. Returns how many."""
    lost = list(Action.objects.filter(status=Action.Status.SENDING, lease_until__lt=now).values_list("pk", flat=True))
    if not lost:
        return 0
    Action.objects.filter(pk__in=lost).update(
        status=Action.Status.RETRYING, ambiguous=True, not_before=now, claimed_by="", lease_until=None,
        last_error="the worker sending it stopped; it will be sent again",
    )
    UpstreamAttempt.objects.filter(action_id__in=lost, finished_at__isnull=True).update(outcome=UpstreamAttempt.Outcome.LOST)
    logger.warning("re-queued %d action(s) claimed by a worker that stopped", len(lost))
    return len(lost)


def claim_next(worker: str) -> Step:
    """Claim the next due action if the budget allows a call now.

    Returns the Claim; or Wait(until) when the budget, a pause or a retry
    delay holds everything back; or IDLE when nothing waits at all.
    """
    b = budget()
    with transaction.atomic():
        state = locked_state()
        now = db_now()
        reap_lost(now)
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
            due.order_by("priority", "not_before", "id").select_for_update(skip_locked=True).select_related("device").first()
        )
        if action is None:
            return Wait(now + ROW_TAKEN)
        ident = action.device.upstream_identifier
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
