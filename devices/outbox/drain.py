"""The drain loop: claim within the budget, send, record, until nothing is due or time is up.

The loop takes its clock and its sleep from outside (real ones by default),
so tests run it on a fake clock.
"""

from __future__ import annotations

import logging
import os
import socket
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings

from devices.models import Action
from devices.outbox.breaker import paused_until
from devices.outbox.claim import Batch, Claim, Idle, Wait, claim_next, nothing_due
from devices.outbox.clock import db_now
from devices.outbox.kinds import call_kind
from devices.outbox.outcome import finish, finish_batch
from devices.outbox.slots import SLOT_LEASE, release_slot, renew_slot, take_slot
from devices.outbox.token import TokenUnavailable, current_token, refresh_token
from devices.upstream import GearsAuthError, GearsClient, GearsError

logger = logging.getLogger(__name__)

# A drainer re-checks at least this often while it waits: a click made
# meanwhile finds the slot kept for it free, and should not wait for the nap.
MAX_NAP = 0.25
# How often the standby looks for a freed slot.
STANDBY_NAP = 0.25
# The one-minute schedule's period. A run naps through a wait shorter than this (and hands over
# to a fresh run at its end), so sending resumes when a pause ends, not up to a minute later.
SCHEDULE_PERIOD = 60.0


def upstream_client(*, max_timeout: float | None = None, max_connect_timeout: float | None = None) -> GearsClient:
    """The client on the settings; the caps shorten the timeouts for a caller that must end sooner (a web request)."""
    return GearsClient(
        settings.GEARS_BASE_URL,
        timeout=min(settings.GEARS_TIMEOUT, max_timeout or settings.GEARS_TIMEOUT),
        connect_timeout=min(settings.GEARS_CONNECT_TIMEOUT, max_connect_timeout or settings.GEARS_CONNECT_TIMEOUT),
        ca_bundle=settings.GEARS_CA_BUNDLE or None,
    )


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


@dataclass
class DrainReport:
    sent: int = 0  # actions sent (a batch counts each of its actions)
    requests: int = 0  # requests made (a batch is one)
    work_left: bool = False
    skipped: bool = False  # every drainer slot was taken


def send(client: GearsClient, claim: Claim | Batch, token: str, version: int) -> Action | list[Action] | None:
    """Make one claimed call (one action, or a batch of them) and record its outcome."""
    kind = call_kind(claim.kind)
    try:
        if isinstance(claim, Batch):
            outcome = kind.send_batch(client, token, claim)
        else:
            outcome = kind.send(client, token, claim)
    except GearsError as exc:
        outcome = exc
    except Exception as exc:  # a bug of ours must not leave the row claimed
        logger.exception("unexpected error sending %s", claim)
        outcome = GearsError(f"internal error ({type(exc).__name__})", permanent=False, ambiguous=True)
    written = finish_batch(claim, outcome, version) if isinstance(claim, Batch) else finish(claim, outcome, version)
    if isinstance(outcome, GearsAuthError):
        try:
            refresh_token(client, version)
        except TokenUnavailable:
            pass  # the failed request paused sending (breaker); the loop waits for it
    return written


def wait_for_slot(worker: str, deadline: float, sleep: Callable[[float], None],
                  monotonic: Callable[[], float], lease: timedelta = SLOT_LEASE) -> bool | None:
    """Every slot is held: as the standby (if no other drainer is), take the first slot that frees
    while work waits, until `deadline`. True once a slot is taken; None when the standby's time ran
    out with work still waiting (a successor must stand by in its place); False otherwise."""
    if not take_slot(worker, lease, standby=True):
        return False
    try:
        while Action.objects.filter(status__in=Action.PENDING).exists():
            if monotonic() >= deadline:
                return None
            if take_slot(worker, lease):
                return True
            if not renew_slot(worker, lease):
                return False
            sleep(STANDBY_NAP)
        return False
    finally:
        release_slot(worker, standby=True)


def drain(*, max_runtime: float | None = None, worker: str | None = None, use_slot: bool = True,
          client: GearsClient | None = None, sleep: Callable[[float], None] = time.sleep,
          monotonic: Callable[[], float] = time.monotonic) -> DrainReport:
    """Send due actions within the budget until none is due or time is up."""
    worker = worker or worker_name()
    runtime = settings.GEARS_DRAIN_RUNTIME if max_runtime is None else max_runtime
    deadline = monotonic() + runtime
    report = DrainReport()
    if use_slot and not take_slot(worker):
        standby = wait_for_slot(worker, deadline, sleep, monotonic)
        if not standby:
            report.skipped = True
            # A standby whose time ran out hands over: without a successor, a cluster killed holding
            # every slot would leave the others idle until the one-minute schedule.
            report.work_left = standby is None
            return report
    client = client or upstream_client()
    try:
        while True:
            remaining = deadline - monotonic()
            if remaining <= 0 or (use_slot and not renew_slot(worker)):
                report.work_left = Action.objects.filter(status__in=Action.PENDING).exists()
                break
            # The pause is checked before a token is asked for: nobody asks during it. Nor is one
            # asked for while nothing is due: an idle console fetches no token.
            until = paused_until(db_now())
            step = Wait(until) if until is not None else nothing_due(db_now())
            if step is None:
                try:
                    token, version = current_token(client)
                except TokenUnavailable:
                    until = paused_until(db_now())
                    if until is None:  # nothing to wait for: leave it to the next run
                        break
                    step = Wait(until)
                else:
                    step = claim_next(worker)
            match step:
                case Idle():
                    break
                case Wait(until=until):
                    wait = (until - db_now()).total_seconds()
                    if wait > remaining and wait > SCHEDULE_PERIOD:
                        # The one-minute schedule starts a run before it is due: leave it to that run.
                        break
                    sleep(min(max(wait, 0.0), MAX_NAP))
                case Claim() | Batch() as claim:
                    send(client, claim, token, version)
                    report.requests += 1
                    report.sent += len(claim.action_ids) if isinstance(claim, Batch) else 1
    finally:
        if use_slot:
            release_slot(worker)
    return report
