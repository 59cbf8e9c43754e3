"""The cloud's word on the budget and its bulk metering: read with the attempt log, written with each answer.

Every answer (success or error, 429 included) that carries X-RateLimit-*
headers is written to the state row under its lock, in the transaction that
records the answer, so every drainer on every machine claims against it. The
batch's answer also teaches how the cloud meters a bulk request
(devices.cloudword.learned_metering); what was learned stays in the row, so
neither a restart nor another machine pays 429s to learn it again.
GEARS_CLOUD_WORD off ignores both (the blind limiter).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings

from devices.cloudword import PER_DEVICE, PER_REQUEST, CloudWord, learned_metering, unit_spans
from devices.models import Priority, UpstreamAttempt, UpstreamState
from devices.outbox.limits import fit
from devices.ratelimit import Budget, Span
from devices.upstream import RateLimitInfo

logger = logging.getLogger(__name__)

BulkMetering = UpstreamState.BulkMetering


@dataclass(frozen=True)
class Attempt:
    """One row of the attempt log as the budget reads it."""

    id: int
    span: Span
    items: int


def attempt_log(now: datetime, b: Budget) -> list[Attempt]:
    """Every logged attempt that may still occupy the window at `now` (see budget.attempt_spans)."""
    horizon = now - timedelta(seconds=b.call_timeout + b.window + b.margin + 1)
    rows = UpstreamAttempt.objects.filter(started_at__gte=horizon).values_list(
        "id", "started_at", "finished_at", "action__priority", "connection_check", "items")
    # A connection check is paced as a click is: an operator waits for it.
    return [Attempt(pk, Span(started.timestamp(), finished.timestamp() if finished else None,
                             priority == Priority.CLICK or check), items)
            for pk, started, finished, priority, check, items in rows]


def believed() -> bool:
    return settings.GEARS_CLOUD_WORD


def per_device(state: UpstreamState) -> bool:
    """The cloud was found to count each device of a bulk request."""
    return believed() and state.bulk_metering == BulkMetering.PER_DEVICE


def metered_spans(state: UpstreamState, log: list[Attempt]) -> list[Span]:
    """The log as the cloud counts it: a batch is one slot, or one per device under per-device metering."""
    return unit_spans(((a.span, a.items) for a in log), per_device(state))


def units(state: UpstreamState, items: int) -> int:
    """What a call of `items` devices costs by what is known: one when the cloud counts requests,
    else its devices (while nothing is learned, the safe guess)."""
    return 1 if state.bulk_metering == BulkMetering.PER_REQUEST else items


def cloud_word(state: UpstreamState) -> CloudWord | None:
    """The cloud's last count, if it is believed and says fewer remain than our own log allows.

    A count our log explains adds nothing to it: the log is exact, and the
    cloud's Reset-Time (whole seconds, rounded up) is coarser. One lower than
    GEARS_RATE_LIMIT leaves (another client, or a lower limit) caps it.
    """
    if not believed() or state.cloud_remaining is None or state.cloud_reset_at is None:
        return None
    if not state.cloud_word_tightens:
        return None
    return CloudWord(state.cloud_remaining, state.cloud_reset_at.timestamp())


def spent_since_word(state: UpstreamState, log: list[Attempt]) -> int:
    """Units sent since the answer that gave the word, or in flight when it came (it may not have counted
    them): every attempt but that one which had not finished before that call started."""
    if state.cloud_attempt_started_at is None:
        return 0
    counted_before = state.cloud_attempt_started_at.timestamp()
    return sum(units(state, a.items) for a in log
               if a.id != state.cloud_attempt_id and (a.span.finished is None or a.span.finished >= counted_before))


def record_word(state: UpstreamState, attempt_id: int, items: int, rate: RateLimitInfo | None, now: datetime,
                b: Budget, *, refused: bool) -> None:
    """Keep the cloud's word from one answer in the locked `state` (saved by the caller), and learn the metering."""
    if not believed() or rate is None or rate.remaining is None:
        return
    started = UpstreamAttempt.objects.filter(pk=attempt_id).values_list("started_at", flat=True).first()
    if started is None:
        return
    log = attempt_log(now, b)
    limit = rate.limit or b.requests
    before = _remaining_before(state, log, attempt_id, started, now)
    learned = learned_metering(state.bulk_metering, items, limit, rate.remaining, refused=refused,
                               remaining_before=before)
    if learned != state.bulk_metering:
        _learn(state, learned, items, before, rate.remaining, refused, now)
    reset = rate.reset_seconds if rate.reset_seconds is not None else b.window + b.margin
    state.cloud_limit = rate.limit
    state.cloud_remaining = rate.remaining
    state.cloud_reset_at = now + timedelta(seconds=reset)
    state.cloud_seen_at = now
    state.cloud_attempt_started_at = started
    state.cloud_attempt_id = attempt_id
    state.cloud_ours_in_window = _ours_in_window(state, log, attempt_id, started, b, refused=refused)


def _remaining_before(state: UpstreamState, log: list[Attempt], attempt_id: int, started: datetime,
                      now: datetime) -> int | None:
    """The Remaining of the word before this call, if nothing but it was sent since that word and no slot
    can have freed meanwhile (its reset time is still ahead): then the drop is this call's cost."""
    if state.cloud_remaining is None or state.cloud_seen_at is None or state.cloud_reset_at is None:
        return None
    if state.cloud_seen_at > started or state.cloud_reset_at <= now or state.cloud_attempt_started_at is None:
        return None
    since = state.cloud_attempt_started_at.timestamp()
    others = [a for a in log if a.span.started >= since and a.id not in (attempt_id, state.cloud_attempt_id)]
    return None if others else state.cloud_remaining


def _ours_in_window(state: UpstreamState, log: list[Attempt], attempt_id: int, started: datetime, b: Budget, *,
                    refused: bool) -> int:
    """Units of ours the cloud may have counted in its answer to the call that began at `started`: generous,
    so that only another client explains less. It answered after that start, so it counted nothing that
    had finished a window before it."""
    since = started.timestamp() - b.window
    return sum(units(state, a.items) for a in log
               if (a.span.finished is None or a.span.finished > since) and not (refused and a.id == attempt_id))


def _learn(state: UpstreamState, learned: str, items: int, before: int | None, after: int, refused: bool,
           now: datetime) -> None:
    if refused:
        evidence = f"a batch of {items} devices was refused (429) while the cloud said {after if before is None else before} remained"
    elif before is not None:
        evidence = f"Remaining went from {before} to {after} after a batch of {items} devices"
    else:
        evidence = f"Remaining was {after} after a batch of {items} devices"
    state.bulk_metering = learned
    state.metering_learned_at = now
    state.metering_evidence = fit(UpstreamState, "metering_evidence", evidence)
    what = "each device of a bulk request" if learned == PER_DEVICE else "a bulk request as one request"
    logger.warning("upstream: the cloud counts %s (%s); batches adapt", what, evidence)


def metering_note(state: UpstreamState) -> str:
    """What the Upstream page and the ETAs say of the metering."""
    if not believed():
        return ""
    if state.bulk_metering == PER_DEVICE:
        return "the cloud counts each device of a bulk request"
    if state.bulk_metering == PER_REQUEST:
        return "the cloud counts a bulk request as one request"
    return ""
