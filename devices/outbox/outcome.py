"""Recording a call's outcome: its log row, its action, its device and the breaker.

One handler per outcome (HANDLERS); an answer is recorded by the action's
call kind (devices.outbox.kinds), which also says what else a final failure
changes. The write is a compare-and-set on
(status, claimed_by), so a worker that lost its lease cannot overwrite what
another decided. A batch's answer is written to each of its actions: its own
item of a bulk answer, or the failure of the whole request; the breaker
counts the request once.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from datetime import datetime, timedelta

from django.conf import settings
from django.db import DataError, transaction

from devices import notices
from devices.models import Action, UpstreamAttempt, UpstreamId, UpstreamState, UpstreamToken
from devices.outbox.breaker import locked_state, record_outcome
from devices.outbox.budget import budget
from devices.outbox.claim import Batch, Claim
from devices.outbox.clock import db_now
from devices.outbox.device_actions import BatchItem
from devices.outbox.final import failed_for_good
from devices.outbox.kinds import kind_of
from devices.outbox.limits import fit
from devices.outbox.metering import record_word
from devices.upstream import BulkActionResult, GearsAuthError, GearsError, GearsRateLimited

logger = logging.getLogger(__name__)


# An answer: whatever a call kind's `send` returned. Or the GearsError it raised.
Outcome = object
# Retry delays vary by this factor either way, so a herd of retries spreads out.
JITTER = 0.2
# An answer the console cannot read is sent again at most this often: a cloud
# that answered so is likely to answer the same, and the call must end.
UNREADABLE_RETRIES = 2


def backoff(failures: int) -> timedelta:
    """The delay before retry number `failures`: doubling from GEARS_RETRY_BASE, capped, with ±20 % jitter."""
    base, cap = settings.GEARS_RETRY_BASE, settings.GEARS_RETRY_CAP
    delay = min(cap, base * 2 ** max(failures - 1, 0))
    return timedelta(seconds=delay * random.uniform(1 - JITTER, 1 + JITTER))


def log_outcome(outcome: Outcome) -> str:
    """How the attempt log (and the breaker) classes an outcome: an UpstreamAttempt.Outcome."""
    if not isinstance(outcome, GearsError):
        return UpstreamAttempt.Outcome.OK
    if isinstance(outcome, GearsAuthError):
        return UpstreamAttempt.Outcome.AUTH
    if isinstance(outcome, GearsRateLimited):
        return UpstreamAttempt.Outcome.RATE_LIMITED
    if outcome.unreadable:
        return UpstreamAttempt.Outcome.UNREADABLE
    return UpstreamAttempt.Outcome.REFUSED if outcome.permanent else UpstreamAttempt.Outcome.TRANSIENT


def _error(text: str) -> str:
    return fit(Action, "last_error", text)


def _msg(text: str) -> str:
    return fit(Action, "upstream_msg", text)


def unstorable(action: Action, why: str, now: datetime) -> None:
    """The same call would bring the same answer: a permanent failure, recorded, never a crash."""
    action.fail(now, f"The cloud's answer cannot be stored: {why}.")


def _auth_refused(action: Action, error: GearsAuthError, state: UpstreamState, now: datetime) -> None:
    # One refresh, then the same call again, without penalty; a second 401 in
    # a row means the credentials themselves are refused.
    action.last_error = _error(str(error))
    if state.consecutive_auth_failures >= 1:
        action.fail(now, str(error))
    else:
        action.status = Action.Status.QUEUED
        action.not_before = now


def _retry_with_new_token(action: Action, error: GearsAuthError, state: UpstreamState, now: datetime) -> None:
    # A 401 for a token already replaced (or already counted) says nothing of
    # the current one: send again at once with it, no failure counted.
    action.status = Action.Status.QUEUED
    action.not_before = now
    action.last_error = _error(f"{error}; sent again with the new access token")


def outdated_token(state: UpstreamState, token_version: int | None) -> bool:
    """A 401 for `token_version` is no news: that token was replaced since, or a 401 for it was already counted."""
    if token_version is None:
        return False
    current = UpstreamToken.objects.filter(pk=1).values_list("version", flat=True).first() or 0
    counted = state.consecutive_auth_failures >= 1 and token_version <= state.auth_failed_version
    return token_version < current or counted


def _rate_limited(action: Action, error: GearsRateLimited, state: UpstreamState, now: datetime) -> None:
    # No penalty: the breaker's pause holds it back until the reset time.
    action.status = Action.Status.QUEUED
    action.not_before = now
    action.last_error = "The cloud answered 429 (rate limited); sent again after its reset time."


def _refused(action: Action, error: GearsError, state: UpstreamState, now: datetime) -> None:
    if kind_of(action).refused(action, error, now):
        return  # the kind took the refusal as an answer (a sync page past the end of the list)
    action.fail(now, str(error))
    action.upstream_msg = _msg(error.upstream_msg)


def _transient(action: Action, error: GearsError, state: UpstreamState, now: datetime) -> None:
    action.transient_failures += 1
    action.may_have_acted = action.may_have_acted or error.ambiguous
    action.last_error = _error(str(error))
    if action.attempts >= settings.GEARS_MAX_ATTEMPTS:
        action.fail(now, f"Gave up after {action.attempts} attempts: {error}")
    else:
        action.status = Action.Status.RETRYING
        action.not_before = now + backoff(action.transient_failures)


def _answered(action: Action, result: Outcome, state: UpstreamState, now: datetime) -> None:
    # The call kind records what the answer means; one it could not use is retried like a failure.
    problem = kind_of(action).answered(action, result, state, now)
    if problem:
        _transient(action, GearsError(problem, permanent=False), state, now)


def _unreadable(action: Action, error: GearsError, state: UpstreamState, now: datetime) -> None:
    # Counted apart from outages: it ends the call after a couple of tries, however many attempts are left.
    action.unreadable_answers += 1
    if action.unreadable_answers > UNREADABLE_RETRIES:
        action.transient_failures += 1
        action.ambiguous = action.ambiguous or error.ambiguous
        action.fail(now, f"Gave up after {action.unreadable_answers} answers it could not read: {error}")
    else:
        _transient(action, error, state, now)


Handler = Callable[[Action, Outcome, UpstreamState, datetime], None]
# One handler per outcome, as log_outcome classes it.
HANDLERS: dict[str, Handler] = {
    UpstreamAttempt.Outcome.OK: _answered,
    UpstreamAttempt.Outcome.AUTH: _auth_refused,
    UpstreamAttempt.Outcome.RATE_LIMITED: _rate_limited,
    UpstreamAttempt.Outcome.REFUSED: _refused,
    UpstreamAttempt.Outcome.TRANSIENT: _transient,
    UpstreamAttempt.Outcome.UNREADABLE: _unreadable,
}


def finish(claim: Claim, outcome: Outcome, token_version: int | None = None) -> Action | None:
    """Write a call's outcome to its log row, its action and the breaker.

    `token_version`: the version of the access token the call was sent with.
    None when the action was taken from this worker before the answer came
    (the answer is kept in the log only).
    """
    done = _write(claim.attempt_id, claim.worker, (claim.action_id,), outcome, token_version, lambda _: outcome)
    return done[0] if done else None


def finish_batch(batch: Batch, outcome: BulkActionResult | GearsError, token_version: int | None = None) -> list[Action]:
    """Write a batch's outcome: each action gets its own item of the answer, or the whole request's failure.

    Returns the actions written; one taken from this worker meanwhile keeps its new owner's decision.
    """

    def item(position: int) -> Outcome:
        if isinstance(outcome, BulkActionResult):
            return BatchItem(outcome.applied[position], UpstreamId(batch.identifiers[position], batch.opt))
        return outcome

    return _write(batch.attempt_id, batch.worker, batch.action_ids, outcome, token_version, item)


def _write(attempt_id: int, worker: str, action_ids: tuple[int, ...], outcome: Outcome, token_version: int | None,
           item: Callable[[int], Outcome]) -> list[Action]:
    """The log row, each claimed action still ours (compare-and-set), then the breaker once: one request."""
    # The call ended now: read the clock before queueing for the lock, or the
    # slot would stay occupied for as long as other drainers hold it.
    now = db_now()
    kind = log_outcome(outcome)
    answered = kind == UpstreamAttempt.Outcome.OK
    with transaction.atomic():
        state = locked_state()
        status = outcome.http_status if answered else outcome.status
        UpstreamAttempt.objects.filter(pk=attempt_id).update(
            finished_at=now, outcome=kind, http_status=status,
            error="" if answered else fit(UpstreamAttempt, "error", str(outcome)), token_version=token_version,
        )
        outdated = kind == UpstreamAttempt.Outcome.AUTH and outdated_token(state, token_version)
        if kind == UpstreamAttempt.Outcome.AUTH and not outdated and token_version is not None:
            state.auth_failed_version = token_version
        ours = {
            action.pk: action
            # of=self: a sync's page has no device, and PostgreSQL locks no row of an outer join's nullable side.
            for action in Action.objects.select_for_update(of=("self",))
            .filter(pk__in=action_ids, status=Action.Status.SENDING, claimed_by=worker)
            .select_related("device")
        }
        done = []
        for position, action_id in enumerate(action_ids):
            action = ours.get(action_id)
            if action is None:
                logger.warning("action %s was taken from %s before its answer came; answer kept in the log only",
                               action_id, worker)
                continue
            done.append(_store(action, status, item(position), kind, state, now, outdated))
        # One check per bulk job the request ended actions of (a batch is mostly one job).
        for action in {action.bulk_job_id: action for action in done if action.is_terminal}.values():
            notices.bulk_action_ended(action)
        # The cloud's count, before the breaker: what a batch's answer taught shapes its advice.
        record_word(state, attempt_id, len(action_ids), getattr(outcome, "rate_limit", None), now, budget(),
                    refused=kind == UpstreamAttempt.Outcome.RATE_LIMITED)
        if not outdated:
            record_outcome(state, kind, outcome, now, items=len(action_ids))
        else:
            state.save()
        return done


def _store(action: Action, status: int | None, outcome: Outcome, kind: str, state: UpstreamState, now: datetime,
           outdated: bool) -> Action:
    try:
        with transaction.atomic():  # a savepoint: a write the database refuses leaves the row as it was
            _record(action, status, outcome, kind, state, now, outdated)
    except DataError as exc:
        logger.error("the answer to action %s could not be stored (%s); the action fails", action.pk,
                     type(exc).__name__)
        action = Action.objects.select_for_update(of=("self",)).select_related("device").get(pk=action.pk)
        unstorable(action, f"the database refused it ({type(exc).__name__})", now)
        _record(action, status, None, kind, state, now, outdated)
    return action


def _record(action: Action, status: int | None, outcome: Outcome | None, kind: str, state: UpstreamState,
            now: datetime, outdated: bool) -> None:
    """Write the outcome to the claimed action (and its device); None: the action is already decided.

    `outdated`: a 401 for a token already replaced, retried with the new one.
    """
    action.http_status = status
    action.claimed_by = ""
    action.lease_until = None
    if outcome is not None:
        handler = _retry_with_new_token if outdated else HANDLERS[kind]
        handler(action, outcome, state, now)
    if action.status == Action.Status.FAILED:
        # The bulk job is checked by the caller, once for the request.
        failed_for_good(action, now, outcome, bulk_notice=False)
    action.save()
