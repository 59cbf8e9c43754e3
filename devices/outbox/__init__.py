"""The rate-limited outbox: enqueue, claim within the budget, send, record.

Every upstream call is an `Action` row (the truth); a drainer hosted by
django-q2 claims due rows (one, or a batch of bulk ones) under the lock of the single
`UpstreamState` row, which serialises the budget across any number of
workers and machines. The sliding-window log is `UpstreamAttempt`, on the
database clock. The HTTP call happens outside any transaction; its outcome is
written back with a compare-and-set on (status, claimed_by), so a worker
that lost its lease cannot overwrite what another decided.

Lock order, everywhere: UpstreamState, then Action rows.

Modules, one job each: queue (enqueue, cancel, retry), budget (the limit,
the read-model, ETAs), calls (waiting actions as the calls they make),
claim, outcome (recording a call), breaker (pauses), token, slots (how many
drainers), checkslot (a connection check's call in the budget), drain (the
loop), syncpages (a cloud sync's pages as calls), tasks (django-q2), kick,
clock, limits, vitals (for /healthz). Import from here.
"""

from devices.outbox.breaker import AUTH_PAUSE, PauseKind, pause, paused_until, resume, upstream_state
from devices.outbox.budget import (
    BudgetView,
    average_latency,
    budget,
    budget_view,
    estimated_finish,
    estimated_send_time,
    queue_rank,
)
from devices.outbox.calls import Waiting, waiting
from devices.outbox.checkslot import CheckSlot, NoSlot, finish_check, take_check_slot
from devices.outbox.claim import IDLE, LEASE_EXTRA, Batch, Claim, Idle, Wait, claim_next, reap_lost
from devices.outbox.clock import db_now
from devices.outbox.drain import MAX_NAP, DrainReport, drain, send, upstream_client, worker_name
from devices.outbox.kick import DRAIN_TASK, kick_drainer
from devices.outbox.outcome import BatchItem, backoff, finish, finish_batch, log_outcome
from devices.outbox.queue import (
    PAGE_VIEW_FETCHES,
    Queued,
    cancel,
    cancel_bulk,
    enqueue,
    enqueue_bulk,
    ensure_fresh_remediation,
    open_remediation_fetch,
    page_view_fetches_waiting,
    remediation_is_stale,
    retry,
)
from devices.outbox.slots import release_slot, renew_slot, take_slot
from devices.outbox.syncpages import Started, open_page_call, settle, start_sync, sync_eta
from devices.outbox.token import (
    TOKEN_EARLY,
    TokenUnavailable,
    credentials_refused,
    current_token,
    refresh_margin,
    refresh_token,
)
from devices.outbox.vitals import Vitals, vitals

__all__ = [
    "AUTH_PAUSE",
    "DRAIN_TASK",
    "IDLE",
    "LEASE_EXTRA",
    "MAX_NAP",
    "PAGE_VIEW_FETCHES",
    "TOKEN_EARLY",
    "Batch",
    "BatchItem",
    "BudgetView",
    "CheckSlot",
    "Claim",
    "DrainReport",
    "Idle",
    "NoSlot",
    "PauseKind",
    "Queued",
    "Started",
    "TokenUnavailable",
    "Wait",
    "Vitals",
    "Waiting",
    "average_latency",
    "backoff",
    "budget",
    "budget_view",
    "cancel",
    "cancel_bulk",
    "claim_next",
    "credentials_refused",
    "current_token",
    "db_now",
    "drain",
    "enqueue",
    "enqueue_bulk",
    "ensure_fresh_remediation",
    "estimated_finish",
    "estimated_send_time",
    "finish",
    "finish_batch",
    "finish_check",
    "kick_drainer",
    "log_outcome",
    "open_page_call",
    "open_remediation_fetch",
    "page_view_fetches_waiting",
    "pause",
    "paused_until",
    "queue_rank",
    "reap_lost",
    "refresh_margin",
    "refresh_token",
    "release_slot",
    "remediation_is_stale",
    "renew_slot",
    "resume",
    "retry",
    "send",
    "settle",
    "start_sync",
    "sync_eta",
    "take_check_slot",
    "take_slot",
    "upstream_client",
    "upstream_state",
    "vitals",
    "waiting",
    "worker_name",
]
