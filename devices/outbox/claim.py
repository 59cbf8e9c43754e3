"""Claiming: the next due action, if the budget allows a call now, under the state row's lock.

Bulk work of a batched call kind (devices.outbox.kinds) is claimed in batches:
the next due one with up to GEARS_BATCH_SIZE - 1 more of its kind and
identifier type, one request and one attempt for all. Everything else goes one
at a time, sent with what its kind's `target` reads under the lock. Clicks may take the last slot of a window, unpaced; the rest
leaves it free (devices.ratelimit).

Also puts back rows whose worker vanished (their lease passed), marked as may have acted,
counted as a failure (attempts, breaker; once per request); an action out of attempts fails for good.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef, Q, QuerySet

from devices.cloudword import CloudWord, cloud_start, cloud_units_left, free_units, unit_paced_start
from devices.models import Action, MacAddress, Priority, UpstreamAttempt, UpstreamId, UpstreamState
from devices.outbox.breaker import locked_state, record_outcome
from devices.outbox.budget import budget, from_epoch
from devices.outbox.clock import db_now
from devices.outbox.final import failed_for_good
from devices.outbox.kinds import is_batched, kind_of
from devices.outbox.metering import Attempt, attempt_log, cloud_word, metered_spans, per_device, spent_since_word
from devices.ratelimit import Budget, Span, next_start
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
    """An action this worker may now send (its attempt is already in the log).

    `target`: what its call kind sends it with (a device's UpstreamId, a page number...).
    """

    action_id: int
    attempt_id: int
    worker: str
    kind: str
    target: Any


@dataclass(frozen=True)
class Batch:
    """Bulk actions of one kind and identifier type, claimed together: one request, one attempt in the log."""

    attempt_id: int
    worker: str
    kind: str
    opt: int
    action_ids: tuple[int, ...]
    identifiers: tuple[str, ...]  # in the order of action_ids: the cloud answers in that order


@dataclass(frozen=True)
class Wait:
    """Nothing may be sent before `until` (the budget, a pause or a retry delay)."""

    until: datetime


@dataclass(frozen=True)
class Idle:
    """Nothing waits at all."""


IDLE = Idle()
Step = Claim | Batch | Wait | Idle


def reap_lost(now: datetime, state: UpstreamState | None = None) -> int:
    """Rows claimed by a worker that died go back to the queue, marked as may have acted:
    the call may have reached the cloud, so sending one again makes it ambiguous. Their log
    rows keep holding their slot until started + T + W + m, so the budget stays safe. Returns how many.

    A lost attempt is a transient failure like any other: it counts towards
    GEARS_MAX_ATTEMPTS and the breaker. Pass the locked `state` if the caller
    holds it (lock order: the state row, then actions).
    """
    with transaction.atomic():
        state = state or locked_state()
        lost = list(
            Action.objects.select_for_update()
            .filter(status=Action.Status.SENDING, lease_until__lt=now)
            .only("pk", "kind", "device", "cloud_sync", "bulk_job", "attempts", "transient_failures", "current_attempt")
        )
        if not lost:
            return 0
        error = GearsError(LOST_ERROR, permanent=False, ambiguous=True)
        counted: set[object] = set()
        for action in lost:
            action.transient_failures += 1
            action.may_have_acted = True
            action.claimed_by, action.lease_until = "", None
            if action.attempts >= settings.GEARS_MAX_ATTEMPTS:
                action.fail(now, f"Gave up after {action.attempts} attempts: {LOST_ERROR}")
                failed_for_good(action, now)
            else:
                action.status, action.not_before = Action.Status.RETRYING, now
                action.last_error = f"{LOST_ERROR}; it will be sent again"
            action.save(update_fields=["status", "may_have_acted", "not_before", "finished_at", "claimed_by",
                                       "lease_until", "last_error", "transient_failures"])
            request = action.current_attempt_id or ("action", action.pk)
            if request not in counted:  # the actions of a lost batch were one request
                counted.add(request)
                record_outcome(state, UpstreamAttempt.Outcome.TRANSIENT, error, now)
        attempts = Q(action__in=lost) | Q(pk__in=[a.current_attempt_id for a in lost if a.current_attempt_id])
        UpstreamAttempt.objects.filter(attempts, finished_at__isnull=True).update(outcome=UpstreamAttempt.Outcome.LOST)
    logger.warning("re-queued or failed %d action(s) claimed by a worker that stopped", len(lost))
    return len(lost)


def _give_up(action: Action, now: datetime) -> None:
    """An action that has used every attempt fails for good instead of being sent again."""
    action.fail(now, f"Gave up after {action.attempts} attempts (GEARS_MAX_ATTEMPTS is {settings.GEARS_MAX_ATTEMPTS}); "
                     f"the last: {action.last_error or 'no error recorded'}")
    action.save(update_fields=["status", "finished_at", "last_error"])
    failed_for_good(action, now)


def _ready() -> QuerySet[Action]:
    """Waiting actions whose key has no call in flight: one call at a time per key keeps a device's changes in order."""
    busy = Action.objects.filter(status=Action.Status.SENDING).values("coalesce_key")
    return Action.objects.filter(status__in=Action.PENDING).exclude(coalesce_key__in=busy)


def _nothing_due(now: datetime) -> Wait | Idle | None:
    """Wait(until) or IDLE when no action is due at `now`, whatever the budget; None when one is."""
    ready = _ready()
    if ready.filter(not_before__lte=now).exists():
        return None
    later = ready.order_by("not_before").values_list("not_before", flat=True).first()
    if later is not None:
        return Wait(later)
    return Wait(now + BEHIND_IN_FLIGHT) if Action.objects.filter(status__in=Action.PENDING).exists() else IDLE


def nothing_due(now: datetime) -> Wait | Idle | None:
    """What a drainer would be told at `now` before it claims anything (None: something is due).

    Read without the lock, so that a drainer asks for an access token only when there is
    something to send: a claim re-checks under the lock. A claim whose worker vanished
    counts as due, so that claim_next puts it back.
    """
    if Action.objects.filter(status=Action.Status.SENDING, lease_until__lt=now).exists():
        return None
    return _nothing_due(now)


def claim_next(worker: str) -> Step:
    """Claim the next due action (with its batch, for bulk work) if the budget allows a call now.

    Returns the Claim or Batch; or Wait(until) when the budget, a pause or a
    retry delay holds everything back; or IDLE when nothing waits at all.
    """
    b = budget()
    with transaction.atomic():
        state = locked_state()
        now = db_now()
        reap_lost(now, state)
        held_back = _nothing_due(now)
        if held_back is not None:
            return held_back
        due = _ready().filter(not_before__lte=now)
        blocked = state.blocked_until.timestamp() if state.blocked_until else None
        log = attempt_log(now, b)
        spans = metered_spans(state, log)
        word, spent = cloud_word(state), spent_since_word(state, log)
        # Waiting bulk work keeps its floor: a click held back by it lets bulk work go first.
        bulk_waiting = due.exclude(priority=Priority.CLICK).exists()
        click_start = from_epoch(max(next_start(spans, now.timestamp(), b, blocked, click=True, bulk_waiting=bulk_waiting),
                                     cloud_start(word, spent, 1, now.timestamp())))
        bulk_start = (from_epoch(_bulk_start(state, log, spans, word, spent, now, b, blocked)) if bulk_waiting
                      else click_start)
        if min(click_start, bulk_start) > now:
            return Wait(min(click_start, bulk_start))  # nothing may start: wait without taking any row
        if click_start > now:
            due = due.exclude(priority=Priority.CLICK)
        action = (
            due.order_by("priority", "not_before", "id").select_for_update(skip_locked=True, of=("self",)).select_related("device").first()
        )
        if action is None:
            return Wait(now + ROW_TAKEN)
        if action.priority != Priority.CLICK and bulk_start > now:
            return Wait(bulk_start)  # the last slot stays free for a click; a drainer re-checks within MAX_NAP
        if action.attempts >= settings.GEARS_MAX_ATTEMPTS:
            _give_up(action, now)
            return Wait(now)
        kind = kind_of(action)
        target = kind.target(action)
        if target is None:
            action.fail(now, kind.untargetable)
            action.save(update_fields=["status", "finished_at", "last_error"])
            failed_for_good(action, now)
            return Wait(now)
        if not is_batched(action):
            return Claim(action.pk, _take([(action, target)], worker, now, b), worker, action.kind, target)
        size = _batch_size(state, spans, word, spent, now, b)
        items = [(action, target)]
        if size > 1:
            items += _companions(due, action, target.opt, size - 1)
        attempt_id = _take(items, worker, now, b)
        return Batch(attempt_id, worker, action.kind, target.opt, tuple(a.pk for a, _ in items),
                     tuple(t.value for _, t in items))


def _bulk_start(state: UpstreamState, log: list[Attempt], spans: list[Span], word: CloudWord | None, spent: int,
                now: datetime, b: Budget, blocked: float | None) -> float:
    """When work other than a click may start: the local log's limit and pacing (by units under per-device
    metering), and the cloud's word, keeping the click slot in both."""
    start = next_start(spans, now.timestamp(), b, blocked)
    if per_device(state):
        start = max(start, unit_paced_start(((a.span, a.items) for a in log), now.timestamp(), b))
    return max(start, cloud_start(word, spent, 1, now.timestamp(), reserve=b.reserved_for_clicks))


def _batch_size(state: UpstreamState, spans: list[Span], word: CloudWord | None, spent: int, now: datetime,
                b: Budget) -> int:
    """Devices the next batch may carry: GEARS_BATCH_SIZE, unless the cloud may count each of them.

    Under per-device metering a batch takes no more than the window's free slots;
    while the metering is unknown, and under per-device metering, no more than
    the cloud's word still allows (so learning it costs no 429).
    """
    size = settings.GEARS_BATCH_SIZE
    if per_device(state):
        size = min(size, free_units(spans, now.timestamp(), b))
    if state.bulk_metering != UpstreamState.BulkMetering.PER_REQUEST:
        left = cloud_units_left(word, spent, now.timestamp(), reserve=b.reserved_for_clicks)
        if left is not None:
            size = min(size, left)
    return max(size, 1)


def _companions(due: QuerySet, head: Action, opt: int, limit: int) -> list[tuple[Action, UpstreamId]]:
    """Up to `limit` more due bulk actions of `head`'s kind and identifier type, in claim order.

    Rows another drainer holds are skipped; so are actions out of attempts and
    devices without an identifier, which fail alone when their turn comes.
    """
    # HwidField stores no empty string: a device has a HWID or NULL.
    if opt == UpstreamId.OPT_HWID:
        same_type = Q(device__hwid__isnull=False)
    else:
        same_type = Q(device__hwid__isnull=True) & Q(Exists(MacAddress.objects.filter(device=OuterRef("device"))))
    rows = (
        due.filter(same_type, priority=Priority.BULK, kind=head.kind, attempts__lt=settings.GEARS_MAX_ATTEMPTS)
        .exclude(pk=head.pk)
        .order_by("priority", "not_before", "id")
        .select_for_update(skip_locked=True, of=("self",))
        .select_related("device")
        .prefetch_related("device__macs")[:limit]
    )
    found = []
    for action in rows:
        target = kind_of(action).target(action)
        if target is not None and target.opt == opt:
            found.append((action, target))
    return found


def _take(items: list[tuple[Action, Any]], worker: str, now: datetime, b: Budget) -> int:
    """Mark `items` (actions with their targets) sending for `worker`, under one new attempt in the log; its id.

    A target that is a device's identifier is written to the action: what the cloud was called with.
    """
    head = items[0][0]
    attempt = UpstreamAttempt.objects.create(action=head, started_at=now, worker=worker, items=len(items))
    lease_until = now + timedelta(seconds=b.call_timeout) + LEASE_EXTRA
    for action, target in items:
        action.status = Action.Status.SENDING
        action.claimed_by = worker
        action.lease_until = lease_until
        action.attempts += 1  # the rows are locked: no other writer
        action.first_sent_at = action.first_sent_at or now
        # Sent again after an attempt that may have acted: the cloud may get it twice.
        action.ambiguous = action.ambiguous or action.may_have_acted
        if isinstance(target, UpstreamId):
            action.identifier, action.opt = target.value, target.opt
        action.current_attempt = attempt
    Action.objects.bulk_update(
        [action for action, _ in items],
        ["status", "claimed_by", "lease_until", "attempts", "first_sent_at", "ambiguous", "identifier", "opt",
         "current_attempt"],
    )
    return attempt.pk
