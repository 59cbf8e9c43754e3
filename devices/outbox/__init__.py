"""The rate-limited outbox: enqueue, claim within the budget, send, record.

Every upstream call is an `Action` row (the truth); a drainer hosted by
django-q2 claims due rows (one, or a batch of bulk ones) under the lock of the single
`UpstreamState` row, which serialises the budget across any number of
workers and machines. The sliding-window log is `UpstreamAttempt`, on the
database clock. The HTTP call happens outside any transaction; its outcome is
written back with a compare-and-set on (status, claimed_by), so a worker
that lost its lease cannot overwrite what another decided.

Lock order, everywhere: UpstreamState, then Action rows.

What a call is and how it is sent and recorded is its call kind's
(`kinds`): the device actions are registered here (`device_actions`); the
cloud sync's pages and remediation fetches register from their own packages.

Modules, one job each: queue (enqueue, cancel, retry), kinds (the call-kind
registry), budget (the limit, the read-model, ETAs), calls (waiting actions
as the calls they make), claim, outcome (recording a call), breaker (pauses),
token, slots (how many drainers), checkslot (a connection check's call in the
budget), drain (the loop), tasks (django-q2), kick,
clock, limits, vitals (for /healthz). Import from here.
"""

from devices.outbox import device_actions  # noqa: F401  (registers the device actions' call kinds)
from devices.outbox.breaker import resume, upstream_state
from devices.outbox.budget import BudgetView, budget_view, estimated_finish, estimated_send_time, queue_rank
from devices.outbox.calls import Waiting, waiting
from devices.outbox.checkslot import CheckSlot, NoSlot, finish_check, take_check_slot
from devices.outbox.clock import db_now
from devices.outbox.drain import MAX_NAP, DrainReport, drain, send, upstream_client, worker_name
from devices.outbox.kick import kick_drainer
from devices.outbox.kinds import CallKind, batched_kinds, batches, register
from devices.outbox.limits import fit, too_long
from devices.outbox.outcome import unstorable
from devices.outbox.queue import Queued, cancel, cancel_bulk, enqueue, enqueue_bulk, retry
from devices.outbox.tasks import every_minute
from devices.outbox.token import credentials_refused
from devices.outbox.vitals import Vitals, vitals

__all__ = [
    "MAX_NAP",
    "BudgetView",
    "CallKind",
    "CheckSlot",
    "DrainReport",
    "NoSlot",
    "Queued",
    "Vitals",
    "Waiting",
    "batched_kinds",
    "batches",
    "budget_view",
    "cancel",
    "cancel_bulk",
    "credentials_refused",
    "db_now",
    "drain",
    "enqueue",
    "enqueue_bulk",
    "estimated_finish",
    "estimated_send_time",
    "every_minute",
    "finish_check",
    "fit",
    "kick_drainer",
    "queue_rank",
    "register",
    "resume",
    "retry",
    "send",
    "take_check_slot",
    "too_long",
    "unstorable",
    "upstream_client",
    "upstream_state",
    "vitals",
    "waiting",
    "worker_name",
]
