"""Waiting actions counted as the upstream calls they make: what every ETA counts.

Clicks and page-view fetches go out first, one call each; bulk actions of the
kinds the bulk endpoint takes share a call with up to GEARS_BATCH_SIZE others
of the same kind and identifier type; other bulk actions go one per call.
The drainer forms a batch from the head of the claim order (priority,
not_before, id), so a group's batches are consecutive runs of it and go out
in the order of their first action: counts per group are enough to place a
call, with no loop over the rows.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime

from django.db.models import Case, CharField, Count, F, Q, QuerySet, Value, When

from devices.models import Action, Priority
from devices.outbox.kinds import batched_kinds, call_kind, is_batched

CLAIM_ORDER = ("priority", "not_before", "id")
# A lane that is not a batchable kind: interactive work, or bulk work sent alone.
FAST, SINGLE = "", "single"


@dataclass(frozen=True)
class Waiting:
    """Waiting actions as calls: interactive ones, bulk ones sent alone, and batch groups."""

    batch_size: int
    fast: int = 0  # priority above bulk: one call each, before any bulk call
    single: int = 0  # bulk actions sent one per call
    groups: Mapping[tuple[str, int], int] = field(default_factory=dict)  # (kind, opt) -> actions

    @property
    def devices(self) -> int:
        return self.fast + self.single + sum(self.groups.values())

    @property
    def bulk_calls(self) -> int:
        return self.single + sum(math.ceil(n / self.batch_size) for n in self.groups.values())

    @property
    def calls(self) -> int:
        return self.fast + self.bulk_calls

    def minus(self, part: Waiting) -> Waiting:
        """These waiting actions without `part` of them."""
        groups = {key: n - part.groups.get(key, 0) for key, n in self.groups.items()}
        return replace(self, fast=self.fast - part.fast, single=self.single - part.single,
                       groups={key: n for key, n in groups.items() if n})

    def plus_job(self, kind: str, with_hwid: int, without_hwid: int) -> Waiting:
        """These waiting actions and, after them, a bulk job of `kind` on these devices."""
        if not call_kind(kind).batched:
            return replace(self, single=self.single + with_hwid + without_hwid)
        groups = dict(self.groups)
        for opt, n in ((1, with_hwid), (0, without_hwid)):
            if n:
                groups[kind, opt] = groups.get((kind, opt), 0) + n
        return replace(self, groups=groups)


def ahead_of(priority: int, not_before: datetime, pk: int) -> Q:
    """Actions claimed before the one at this place in the claim order."""
    return (
        Q(priority__lt=priority)
        | Q(priority=priority, not_before__lt=not_before)
        | Q(priority=priority, not_before=not_before, id__lt=pk)
    )


def from_on(priority: int, not_before: datetime, pk: int) -> Q:
    """Actions claimed at or after the one at this place in the claim order."""
    return (
        Q(priority__gt=priority)
        | Q(priority=priority, not_before__gt=not_before)
        | Q(priority=priority, not_before=not_before, id__gte=pk)
    )


def identifier_opt() -> F:
    """The identifier type the cloud is called with: 1 for a HWID, 0 for the primary MAC.

    Written when the action is queued (and again when it is sent), so that
    counting batches needs no join to the devices.
    """
    return F("opt")


def same_identifier_type(has_hwid: bool) -> Q:
    return Q(opt=1 if has_hwid else 0)


def pending() -> QuerySet[Action]:
    return Action.objects.filter(status__in=Action.PENDING)


def waiting(batch_size: int, where: Q | None = None) -> Waiting:
    """The waiting actions (those `where` selects, if given), in one aggregate query."""
    lane = Case(
        When(priority__lt=Priority.BULK, then=Value(FAST)),
        When(kind__in=batched_kinds(), then=F("kind")),
        default=Value(SINGLE),
        output_field=CharField(),
    )
    rows = pending().filter(where or Q()).annotate(lane=lane, id_type=identifier_opt()).order_by()
    fast = single = 0
    groups: dict[tuple[str, int], int] = {}
    for name, opt, n in rows.values_list("lane", "id_type").annotate(n=Count("id")):
        if name == FAST:
            fast += n
        elif name == SINGLE:
            single += n
        else:
            groups[name, opt] = groups.get((name, opt), 0) + n
    return Waiting(batch_size, fast, single, groups)


def waiting_before_call(action: Action, batch_size: int) -> Waiting:
    """What goes out before the call that carries `action`.

    A batched action rides with the first action of its batch: its group's
    actions ahead of it, counted down to a multiple of the batch size. That
    one is found walking back from `action`, and what lies between the two
    (a short stretch of the claim order) is taken off: one scan of the queue.
    """
    place = (action.priority, action.not_before, action.pk)
    before = waiting(batch_size, ahead_of(*place))
    if not is_batched(action):  # a sync's page, for one, has no device
        return before
    has_hwid = action.opt == 1
    in_batch = before.groups.get((action.kind, int(has_hwid)), 0) % batch_size
    if not in_batch:
        return before
    group = pending().filter(ahead_of(*place), same_identifier_type(has_hwid), priority=action.priority, kind=action.kind)
    first = group.order_by(*(f"-{f}" for f in CLAIM_ORDER)).values_list(*CLAIM_ORDER)[in_batch - 1]
    return before.minus(waiting(batch_size, from_on(*first) & ahead_of(*place)))
