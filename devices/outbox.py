"""The rate-limited outbox: enqueue, claim within the budget, send, record.

Every upstream call is an `Action` row (the truth); a drainer hosted by
django-q2 claims due rows one at a time under the lock of the single
`UpstreamState` row, which serialises the budget across any number of
workers and machines. The sliding-window log is `UpstreamAttempt`, on the
database clock. The HTTP call happens outside any transaction; its outcome is
written back with a compare-and-set on (status, claimed_by), so a worker
that lost its lease cannot overwrite what another decided.

Lock order, everywhere: UpstreamState, then Action rows.
"""

from __future__ import annotations

import logging
import os
import random
import socket
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from datetime import timezone as dt_timezone
from typing import NamedTuple

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Case, DateTimeField, F, OuterRef, Q, Subquery, Value, When
from django.db.models.functions import Coalesce
from django.utils import timezone

from devices.audit import record as record_audit
from devices.upstream import ActionResult, GearsAuthError, GearsClient, GearsError, GearsRateLimited, RemediationResult
from devices.models import (
    EXEMPT_MODE_OF,
    Action,
    ActionKind,
    AuditEntry,
    BulkJob,
    Device,
    DrainerSlot,
    Priority,
    RemediationState,
    UpstreamAttempt,
    UpstreamState,
    UpstreamToken,
)
from devices.ratelimit import Budget, Span, next_start, window_usage

logger = logging.getLogger(__name__)

# A claimed row whose worker vanished goes back to the queue this long after
# its call must have ended.
LEASE_EXTRA = timedelta(seconds=10)
# Refresh the token this long before the cloud says it expires.
TOKEN_EARLY = timedelta(seconds=60)
# An authentication failure pauses sending this long before one probe.
AUTH_PAUSE = timedelta(minutes=5)
_CHUNK = 2000


def budget() -> Budget:
    limit = settings.GEARS_RATE_LIMIT
    return Budget(
        requests=limit.requests,
        window=limit.window,
        margin=settings.GEARS_RATE_MARGIN,
        call_timeout=settings.GEARS_CONNECT_TIMEOUT + settings.GEARS_TIMEOUT,
    )


def db_now() -> datetime:
    """The database's clock, shared by every worker machine.

    PostgreSQL's now() is the transaction's start; clock_timestamp() moves.
    SQLite is a local file, so its processes share this machine's clock.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT clock_timestamp()")
            return cursor.fetchone()[0]
    return timezone.now()


def upstream_client() -> GearsClient:
    return GearsClient(
        settings.GEARS_BASE_URL,
        timeout=settings.GEARS_TIMEOUT,
        connect_timeout=settings.GEARS_CONNECT_TIMEOUT,
    )


def upstream_state() -> UpstreamState:
    """The single row that holds the breaker and the pause (created on first use)."""
    return UpstreamState.objects.get_or_create(pk=1)[0]


def kick_drainer() -> None:
    """Start a drainer once the current transaction commits (and only then)."""
    if not settings.GEARS_KICK_DRAINER:
        return

    def kick() -> None:
        from django_q.tasks import async_task

        try:
            async_task("devices.tasks.drain", save=False, task_name="drain outbox")
        except Exception:  # the broker is down: the one-minute schedule kicks instead
            logger.exception("could not kick the outbox drainer")

    transaction.on_commit(kick)


# ================================================================ enqueueing


class Queued(NamedTuple):
    action: Action
    created: bool  # False: the same action was already waiting (a double click)
    superseded: Action | None  # the waiting exemption change this one replaced


def enqueue(device: Device, kind: str, *, user, priority: int = Priority.CLICK, audit: bool = True) -> Queued:
    """Queue `kind` for `device`, coalescing with what already waits for it.

    A second identical request returns the waiting action (a double click
    makes one action); a newer exemption change supersedes a waiting one.
    """
    if kind not in ActionKind.values:
        raise ValueError(f"unknown action {kind!r}")
    for attempt in range(3):
        try:
            with transaction.atomic():
                return _enqueue(device, kind, user, priority, audit)
        except IntegrityError:
            # Another request queued the same key between our read and our
            # insert (one pending action per key is a database constraint).
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def _enqueue(device: Device, kind: str, user, priority: int, audit: bool) -> Queued:
    Device.objects.select_for_update().filter(pk=device.pk).exists()
    key = Action.coalesce_key_for(device.pk, kind)
    now = db_now()
    # A fetch is a read: one already on its way answers a new request too.
    open_statuses = (*Action.PENDING, Action.Status.SENDING) if kind == ActionKind.REMEDIATION else Action.PENDING
    waiting = Action.objects.select_for_update().filter(coalesce_key=key, status__in=open_statuses).first()
    if waiting is not None and waiting.kind == kind:
        if priority < waiting.priority and waiting.is_pending:
            waiting.priority = priority
            waiting.save(update_fields=["priority"])
        return Queued(waiting, False, None)
    if waiting is not None:
        waiting.status = Action.Status.SUPERSEDED
        waiting.finished_at = now
        waiting.save(update_fields=["status", "finished_at"])
    action = Action.objects.create(
        device=device, kind=kind, priority=priority, coalesce_key=key,
        requested_by=user if getattr(user, "pk", None) else None, not_before=now,
    )
    if waiting is not None:
        waiting.superseded_by = action
        waiting.save(update_fields=["superseded_by"])
    if audit:
        record_audit(AuditEntry.Verb.QUEUED, user, action=action, device=device,
               detail=f"superseded #{waiting.pk} ({waiting.kind})" if waiting else "")
    kick_drainer()
    return Queued(action, True, waiting)


def remediation_is_stale(device: Device, now: datetime | None = None) -> bool:
    if device.remediation_fetched_at is None:
        return True
    age = (now or db_now()) - device.remediation_fetched_at
    return age > timedelta(seconds=settings.GEARS_REMEDIATION_TTL)


def open_remediation_fetch(device: Device) -> Action | None:
    return (
        device.actions.filter(kind=ActionKind.REMEDIATION, status__in=(*Action.PENDING, Action.Status.SENDING))
        .order_by("-id")
        .first()
    )


def ensure_fresh_remediation(device: Device, *, user) -> Action | None:
    """Queue a fetch (interactive priority) when the stored link is missing or
    older than the TTL. However many people look, one fetch per TTL: a fetch
    already on its way answers them all."""
    waiting = open_remediation_fetch(device)
    if waiting is not None or not remediation_is_stale(device):
        return waiting
    return enqueue(device, ActionKind.REMEDIATION, user=user, priority=Priority.CLICK, audit=False).action


@transaction.atomic
def enqueue_bulk(device_ids: list[int], kind: str, *, user, description: str = "") -> BulkJob:
    """Fan `kind` out over devices at bulk priority, one action per device.

    Devices where the same action already waits are skipped; a waiting,
    different exemption change is superseded, as a click would do.
    """
    if kind not in ActionKind.values:
        raise ValueError(f"unknown action {kind!r}")
    now = db_now()
    job = BulkJob.objects.create(kind=kind, created_by=user if getattr(user, "pk", None) else None,
                                 description=description[:300], requested=len(device_ids))
    key_of = {pk: Action.coalesce_key_for(pk, kind) for pk in device_ids}
    same, other = set(), []
    for start in range(0, len(device_ids), _CHUNK):
        keys = [key_of[pk] for pk in device_ids[start:start + _CHUNK]]
        for pk, key, waiting_kind in Action.objects.filter(coalesce_key__in=keys, status__in=Action.PENDING).values_list("pk", "coalesce_key", "kind"):
            (same.add(key) if waiting_kind == kind else other.append(pk))
    for start in range(0, len(other), _CHUNK):
        Action.objects.filter(pk__in=other[start:start + _CHUNK]).update(status=Action.Status.SUPERSEDED, finished_at=now)
    Action.objects.bulk_create(
        [
            Action(device_id=pk, kind=kind, priority=Priority.BULK, bulk_job=job, coalesce_key=key_of[pk],
                   requested_by=job.created_by, not_before=now)
            for pk in device_ids
            if key_of[pk] not in same
        ],
        batch_size=1000,
    )
    if other:
        replacement = Action.objects.filter(bulk_job=job, coalesce_key=OuterRef("coalesce_key")).values("pk")[:1]
        for start in range(0, len(other), _CHUNK):
            Action.objects.filter(pk__in=other[start:start + _CHUNK]).update(superseded_by=Subquery(replacement))
    job.already_queued = len(same)
    job.save(update_fields=["already_queued"])
    record_audit(AuditEntry.Verb.BULK_QUEUED, user, kind=kind, bulk_job=job,
           detail=f"{len(device_ids) - len(same)} devices queued, {len(same)} already waiting; {description}")
    kick_drainer()
    return job


def cancel(action: Action, *, user) -> bool:
    """Cancel a waiting action. False when it is no longer waiting."""
    with transaction.atomic():
        changed = Action.objects.filter(pk=action.pk, status__in=Action.PENDING).update(
            status=Action.Status.CANCELLED, finished_at=db_now()
        )
        if changed:
            action.refresh_from_db()
            record_audit(AuditEntry.Verb.CANCELLED, user, action=action, device=action.device)
    return bool(changed)


def cancel_bulk(job: BulkJob, *, user) -> int:
    """Cancel every action of a bulk job still waiting; returns how many."""
    with transaction.atomic():
        now = db_now()
        count = Action.objects.filter(bulk_job=job, status__in=Action.PENDING).update(
            status=Action.Status.CANCELLED, finished_at=now
        )
        BulkJob.objects.filter(pk=job.pk, cancelled_at__isnull=True).update(
            cancelled_at=now, cancelled_by=user if getattr(user, "pk", None) else None
        )
        record_audit(AuditEntry.Verb.BULK_CANCELLED, user, kind=job.kind, bulk_job=job, detail=f"{count} waiting actions cancelled")
    return count


def retry(action: Action, *, user) -> Queued:
    """Queue a failed (or cancelled) action again, as a new action."""
    if action.status not in (Action.Status.FAILED, Action.Status.CANCELLED):
        raise ValueError("only failed or cancelled actions can be retried")
    with transaction.atomic():
        queued = enqueue(action.device, action.kind, user=user, priority=Priority.CLICK)
        record_audit(AuditEntry.Verb.RETRIED, user, action=queued.action, device=action.device,
               detail=f"retry of #{action.pk}")
    return queued


# ================================================================ the budget


def _spans(now: datetime, b: Budget) -> list[Span]:
    horizon = now - timedelta(seconds=b.call_timeout + b.window + b.margin + 1)
    rows = UpstreamAttempt.objects.filter(started_at__gte=horizon).values_list("started_at", "finished_at")
    return [Span(started.timestamp(), finished.timestamp() if finished else None) for started, finished in rows]


def _at(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, tz=dt_timezone.utc)


@dataclass(frozen=True)
class BudgetView:
    """What the Upstream page and ETAs show; read without taking the lock."""

    now: datetime
    used: int
    limit: int
    window: float
    next_slot: datetime
    seconds_per_call: float
    blocked_until: datetime | None
    block_reason: str
    backlog: int

    @property
    def paused(self) -> bool:
        return self.blocked_until is not None and self.blocked_until > self.now

    def eta_for_rank(self, rank: int, not_before: datetime | None = None) -> datetime:
        eta = self.next_slot + timedelta(seconds=rank * self.seconds_per_call)
        return max(eta, not_before) if not_before else eta

    @property
    def drained_at(self) -> datetime | None:
        return self.eta_for_rank(self.backlog - 1) if self.backlog else None


def average_latency(sample: int = 50) -> float:
    """Mean seconds per finished call, over the most recent ones."""
    recent = UpstreamAttempt.objects.filter(finished_at__isnull=False).order_by("-started_at")[:sample]
    durations = [(f - s).total_seconds() for s, f in recent.values_list("started_at", "finished_at")]
    return sum(durations) / len(durations) if durations else 0.2


def budget_view() -> BudgetView:
    b = budget()
    now = db_now()
    state = upstream_state()
    spans = _spans(now, b)
    blocked = state.blocked_until.timestamp() if state.blocked_until else None
    return BudgetView(
        now=now,
        used=window_usage(spans, now.timestamp(), b),
        limit=b.requests,
        window=b.window,
        next_slot=_at(next_start(spans, now.timestamp(), b, blocked)),
        seconds_per_call=b.seconds_per_call(average_latency()),
        blocked_until=state.blocked_until,
        block_reason=state.block_reason,
        backlog=Action.objects.filter(status__in=Action.PENDING).count(),
    )


def queue_rank(action: Action) -> int:
    """How many waiting actions go out before this one (claim order)."""
    ahead = (
        Q(priority__lt=action.priority)
        | Q(priority=action.priority, not_before__lt=action.not_before)
        | Q(priority=action.priority, not_before=action.not_before, id__lt=action.pk)
    )
    return Action.objects.filter(status__in=Action.PENDING).filter(ahead).count()


def estimated_send_time(action: Action, view: BudgetView | None = None) -> datetime | None:
    if not action.is_pending:
        return None
    view = view or budget_view()
    return view.eta_for_rank(queue_rank(action), action.not_before)


# ================================================================ claiming


@dataclass(frozen=True)
class Claim:
    action_id: int
    attempt_id: int
    worker: str
    kind: str
    identifier: str
    opt: int


def _reap_lost(now: datetime) -> None:
    """Rows claimed by a worker that died go back to the queue, marked ambiguous:
    the call may have reached the cloud. Their log rows keep holding their slot
    until started + T + W + m, so the budget stays safe."""
    lost = list(Action.objects.filter(status=Action.Status.SENDING, lease_until__lt=now).values_list("pk", flat=True))
    if not lost:
        return
    Action.objects.filter(pk__in=lost).update(
        status=Action.Status.RETRYING, ambiguous=True, not_before=now, claimed_by="", lease_until=None,
        last_error="the worker sending it stopped; it will be sent again",
    )
    UpstreamAttempt.objects.filter(action_id__in=lost, finished_at__isnull=True).update(outcome=UpstreamAttempt.Outcome.LOST)
    logger.warning("re-queued %d action(s) claimed by a worker that stopped", len(lost))


def claim_next(worker: str) -> Claim | datetime | None:
    """Claim the next due action if the budget allows a call now.

    Returns the claim; or the time to try again (budget or retry delay);
    or None when nothing waits at all.
    """
    b = budget()
    upstream_state()
    with transaction.atomic():
        state = UpstreamState.objects.select_for_update().get(pk=1)
        now = db_now()
        _reap_lost(now)
        waiting = Action.objects.filter(status__in=Action.PENDING)
        # One call at a time per key keeps a device's changes in order.
        busy = Action.objects.filter(status=Action.Status.SENDING).values("coalesce_key")
        ready = waiting.exclude(coalesce_key__in=busy)
        due = ready.filter(not_before__lte=now)
        if not due.exists():
            later = ready.order_by("not_before").values_list("not_before", flat=True).first()
            if later is None and waiting.exists():
                later = now + timedelta(seconds=0.5)  # only behind a call in flight
            return later
        blocked = state.blocked_until.timestamp() if state.blocked_until else None
        start = next_start(_spans(now, b), now.timestamp(), b, blocked)
        if start > now.timestamp():
            return _at(start)
        action = (
            due.order_by("priority", "not_before", "id").select_for_update(skip_locked=True).select_related("device").first()
        )
        if action is None:
            return now + timedelta(seconds=0.2)
        ident = action.device.upstream_identifier
        if ident is None:
            action.status = Action.Status.FAILED
            action.finished_at = now
            action.last_error = "The device has neither a HWID nor a MAC address."
            action.save(update_fields=["status", "finished_at", "last_error"])
            return now
        action.status = Action.Status.SENDING
        action.claimed_by = worker
        action.lease_until = now + timedelta(seconds=b.call_timeout) + LEASE_EXTRA
        action.attempts = F("attempts") + 1
        action.first_sent_at = Coalesce(F("first_sent_at"), Value(now, output_field=DateTimeField()))
        action.identifier, action.opt = ident
        action.save(update_fields=["status", "claimed_by", "lease_until", "attempts", "first_sent_at", "identifier", "opt"])
        attempt = UpstreamAttempt.objects.create(action=action, started_at=now, worker=worker)
        return Claim(action.pk, attempt.pk, worker, action.kind, ident[0], ident[1])


# ================================================================ recording


def _backoff(failures: int) -> timedelta:
    base, cap = settings.GEARS_RETRY_BASE, settings.GEARS_RETRY_CAP
    delay = min(cap, base * 2 ** max(failures - 1, 0))
    return timedelta(seconds=delay * random.uniform(0.8, 1.2))  # jitter spreads a herd of retries


def finish(claim: Claim, outcome: ActionResult | GearsError) -> Action | None:
    """Write a call's outcome to its log row, its action and the breaker."""
    # The call ended now: read the clock before queueing for the lock, or the
    # slot would stay occupied for as long as other drainers hold it.
    now = db_now()
    with transaction.atomic():
        state = UpstreamState.objects.select_for_update().get(pk=1)
        answered = isinstance(outcome, (ActionResult, RemediationResult))
        status = outcome.http_status if answered else outcome.status
        log_outcome = _log_outcome(outcome)
        UpstreamAttempt.objects.filter(pk=claim.attempt_id).update(
            finished_at=now, outcome=log_outcome, http_status=status,
            error="" if answered else str(outcome)[:300],
        )
        action = (
            Action.objects.select_for_update()
            .filter(pk=claim.action_id, status=Action.Status.SENDING, claimed_by=claim.worker)
            .select_related("device")
            .first()
        )
        if action is None:
            logger.warning("action %s was taken from %s before its answer came; answer kept in the log only",
                           claim.action_id, claim.worker)
            _update_breaker(state, outcome, now)
            return None
        action.http_status = status
        action.claimed_by = ""
        action.lease_until = None
        if isinstance(outcome, RemediationResult):
            action.status = Action.Status.SUCCEEDED
            action.finished_at = now
            action.upstream_msg = (outcome.msg or RemediationState(outcome.state).label)[:300]
            Device.objects.filter(pk=action.device_id).update(
                remediation_state=outcome.state,
                remediation_link=(outcome.link or "") if outcome.state == RemediationState.LINK else "",
                remediation_fetched_at=now,
                remediation_error="",
            )
        elif isinstance(outcome, ActionResult):
            action.upstream_msg = outcome.msg[:300]
            action.status = Action.Status.SUCCEEDED if outcome.ok else Action.Status.FAILED
            action.finished_at = now
            action.last_error = "" if outcome.ok else f"The cloud refused it: {outcome.msg}"[:300]
            if outcome.ok and action.kind in EXEMPT_MODE_OF:
                Device.objects.filter(pk=action.device_id).update(
                    exempt_mode=EXEMPT_MODE_OF[action.kind], exempt_confirmed_at=now
                )
        elif isinstance(outcome, GearsAuthError):
            # One refresh, then the same call again, without penalty; a second
            # 401 in a row means the credentials themselves are refused.
            action.last_error = str(outcome)[:300]
            if state.consecutive_auth_failures >= 1:
                action.status = Action.Status.FAILED
                action.finished_at = now
            else:
                action.status = Action.Status.QUEUED
                action.not_before = now
        elif isinstance(outcome, GearsRateLimited):
            action.status = Action.Status.QUEUED
            action.not_before = now
            action.last_error = "The cloud answered 429 (rate limited); sent again after its reset time."
        elif outcome.permanent:
            action.status = Action.Status.FAILED
            action.finished_at = now
            action.upstream_msg = outcome.upstream_msg[:300]
            action.last_error = str(outcome)[:300]
        else:
            action.transient_failures += 1
            action.ambiguous = action.ambiguous or outcome.ambiguous
            action.last_error = str(outcome)[:300]
            if action.attempts >= settings.GEARS_MAX_ATTEMPTS:
                action.status = Action.Status.FAILED
                action.finished_at = now
                action.last_error = f"Gave up after {action.attempts} attempts: {outcome}"[:300]
            else:
                action.status = Action.Status.RETRYING
                action.not_before = now + _backoff(action.transient_failures)
        if action.kind == ActionKind.REMEDIATION and action.status == Action.Status.FAILED:
            # Keep the last good link; say the fetch failed and why.
            Device.objects.filter(pk=action.device_id).update(
                remediation_state=Case(
                    When(remediation_state=RemediationState.LINK, then=Value(RemediationState.LINK)),
                    default=Value(RemediationState.ERROR),
                ),
                remediation_fetched_at=now,
                remediation_error=action.last_error[:300],
            )
        action.save()
        _update_breaker(state, outcome, now)
        return action


def _log_outcome(outcome) -> str:
    if isinstance(outcome, (ActionResult, RemediationResult)):
        return UpstreamAttempt.Outcome.OK
    if isinstance(outcome, GearsAuthError):
        return UpstreamAttempt.Outcome.AUTH
    if isinstance(outcome, GearsRateLimited):
        return UpstreamAttempt.Outcome.RATE_LIMITED
    return UpstreamAttempt.Outcome.REFUSED if outcome.permanent else UpstreamAttempt.Outcome.TRANSIENT


def _update_breaker(state: UpstreamState, outcome, now: datetime) -> None:
    if isinstance(outcome, GearsAuthError):
        state.consecutive_auth_failures += 1
        if state.consecutive_auth_failures >= 2:
            state.blocked_until = now + AUTH_PAUSE
            state.block_reason = f"The cloud refused our credentials twice in a row ({outcome}). Check GEARS_CLIENT_ID / GEARS_CLIENT_SECRET or GEARS_ACCESS_TOKEN."[:300]
            logger.error("upstream paused: authentication failed twice")
    elif isinstance(outcome, GearsRateLimited):
        # Should never happen: the budget is meant to stay under the limit.
        state.rate_limited_count += 1
        state.last_alarm_at = now
        state.last_alarm = f"429 from the cloud; waiting {outcome.retry_after:g} s as it asked."
        state.blocked_until = max(state.blocked_until or now, now + timedelta(seconds=outcome.retry_after))
        state.block_reason = "The cloud answered 429 (rate limited): waiting for its reset time."
        logger.error("ALARM: the cloud answered 429 despite the budget; pausing %.0f s", outcome.retry_after)
    elif isinstance(outcome, GearsError) and not outcome.permanent:
        state.consecutive_failures += 1
        state.consecutive_auth_failures = 0
        threshold = settings.GEARS_BREAKER_THRESHOLD
        if state.consecutive_failures >= threshold:
            pause = min(settings.GEARS_RETRY_CAP, settings.GEARS_RETRY_BASE * 2 ** (state.consecutive_failures - threshold))
            state.blocked_until = now + timedelta(seconds=pause)
            state.block_reason = f"{state.consecutive_failures} failures in a row, the last: {outcome}"[:300]
            logger.warning("upstream paused %.0f s after %d failures in a row", pause, state.consecutive_failures)
    else:
        # The cloud answered: whatever it said, it is reachable and accepts us.
        state.consecutive_failures = 0
        state.consecutive_auth_failures = 0
        if state.blocked_until and state.blocked_until > now and not state.block_reason.startswith("The cloud answered 429"):
            state.blocked_until = None
        state.block_reason = "" if not state.blocked_until or state.blocked_until <= now else state.block_reason
    state.save()


def pause(reason: str, seconds: float) -> None:
    with transaction.atomic():
        state = UpstreamState.objects.select_for_update().get(pk=upstream_state().pk)
        state.blocked_until = db_now() + timedelta(seconds=seconds)
        state.block_reason = reason[:300]
        state.save()


def resume(*, user=None) -> None:
    """Lift a pause now (the next call is the probe)."""
    with transaction.atomic():
        state = UpstreamState.objects.select_for_update().get(pk=upstream_state().pk)
        state.blocked_until = None
        state.block_reason = ""
        state.consecutive_failures = 0
        state.consecutive_auth_failures = 0
        state.save()
    kick_drainer()


# ================================================================ the token


class TokenUnavailable(Exception):
    """No access token could be had; the message says why (never the token)."""


def current_token(client: GearsClient) -> tuple[str, int]:
    """The shared access token and its version, fetching one if needed."""
    if settings.GEARS_ACCESS_TOKEN:
        return settings.GEARS_ACCESS_TOKEN, 0
    row = UpstreamToken.objects.get_or_create(pk=1)[0]
    if row.access_token and row.expires_at and row.expires_at > db_now() + TOKEN_EARLY:
        return row.access_token, row.version
    return refresh_token(client, row.version)


def refresh_token(client: GearsClient, failed_version: int) -> tuple[str, int]:
    """Replace the token that `failed_version` named — once, across every worker.

    The row lock makes refreshes single-flight: a worker that waited for it
    finds the version moved on and uses the new token.
    """
    if settings.GEARS_ACCESS_TOKEN:
        raise TokenUnavailable("GEARS_ACCESS_TOKEN was refused and cannot be refreshed.")
    UpstreamToken.objects.get_or_create(pk=1)
    with transaction.atomic():
        row = UpstreamToken.objects.select_for_update().get(pk=1)
        now = db_now()
        if row.version != failed_version and row.access_token and row.expires_at and row.expires_at > now + TOKEN_EARLY:
            return row.access_token, row.version
        try:
            token = client.fetch_token(settings.GEARS_CLIENT_ID, settings.GEARS_CLIENT_SECRET)
        except GearsError as exc:
            raise TokenUnavailable(f"Could not get an access token: {exc}") from None
        row.access_token = token.access_token
        row.expires_at = now + timedelta(seconds=token.expires_in)
        row.version += 1
        row.fetched_at = now
        row.save()
        logger.info("fetched a new access token (version %d)", row.version)
        return row.access_token, row.version


# ================================================================ draining


def _worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


def _take_slot(worker: str, lease: timedelta) -> bool:
    now = db_now()
    for slot in range(settings.GEARS_DRAINERS):
        DrainerSlot.objects.get_or_create(slot=slot)
        taken = DrainerSlot.objects.filter(slot=slot).filter(Q(expires_at__isnull=True) | Q(expires_at__lt=now)).update(
            holder=worker, expires_at=now + lease
        )
        if taken:
            return True
    return False


def _renew_slot(worker: str, lease: timedelta) -> None:
    DrainerSlot.objects.filter(holder=worker).update(expires_at=db_now() + lease)


def _release_slot(worker: str) -> None:
    DrainerSlot.objects.filter(holder=worker).update(holder="", expires_at=None)


@dataclass
class DrainReport:
    sent: int = 0
    work_left: bool = False
    skipped: bool = False  # every drainer slot was taken


def send(client: GearsClient, claim: Claim, token: str, version: int) -> Action | None:
    """Make one claimed call and record its outcome."""
    try:
        if claim.kind == ActionKind.REMEDIATION:
            outcome = client.remediation_link(token, claim.identifier, claim.opt)
        else:
            outcome = client.device_action(token, claim.identifier, claim.opt, claim.kind)
    except GearsError as exc:
        outcome = exc
    except Exception as exc:  # a bug of ours must not leave the row claimed
        logger.exception("unexpected error sending action %s", claim.action_id)
        outcome = GearsError(f"internal error ({type(exc).__name__})", permanent=False, ambiguous=True)
    action = finish(claim, outcome)
    if isinstance(outcome, GearsAuthError):
        try:
            refresh_token(client, version)
        except TokenUnavailable as exc:
            pause(str(exc), AUTH_PAUSE.total_seconds())
    return action


def drain(*, max_runtime: float | None = None, worker: str | None = None, use_slot: bool = True,
          client: GearsClient | None = None) -> DrainReport:
    """Send due actions within the budget until none is due or time is up."""
    worker = worker or _worker_name()
    runtime = settings.GEARS_DRAIN_RUNTIME if max_runtime is None else max_runtime
    deadline = time.monotonic() + runtime
    lease = timedelta(seconds=budget().call_timeout + 30)
    report = DrainReport()
    if use_slot and not _take_slot(worker, lease):
        report.skipped = True
        return report
    client = client or upstream_client()
    try:
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                report.work_left = Action.objects.filter(status__in=Action.PENDING).exists()
                break
            if use_slot:
                _renew_slot(worker, lease)
            try:
                token, version = current_token(client)
            except TokenUnavailable as exc:
                pause(str(exc), AUTH_PAUSE.total_seconds())
                logger.error("upstream paused: %s", exc)
                continue
            step = claim_next(worker)
            if step is None:
                break
            if isinstance(step, datetime):
                wait = (step - db_now()).total_seconds()
                if wait > remaining:
                    # Due later than this run lasts: hand over to the next
                    # kick or the one-minute schedule.
                    report.work_left = wait < runtime
                    break
                time.sleep(min(max(wait, 0.0), 1.0))  # re-check each second: a click may come
                continue
            send(client, step, token, version)
            report.sent += 1
    finally:
        if use_slot:
            _release_slot(worker)
    return report
