"""The cloud's own word on the budget, and how it meters bulk requests: pure arithmetic.

The X-RateLimit-* headers describe the account's limit (docs/upstream/api-notes.md
§4), which other clients of the account (a SIEM add-on, an asset connector, a
script) may be spending too. So the last word of the cloud caps what the exact
local log (devices.ratelimit) allows: while its reset time is ahead, no more
is spent than the Remaining it gave, less what was sent since. It can only
tighten the local limit: `cloud_start` returns a time at or after `now`, and
the caller takes the later of it and `next_start`.

How the cloud counts a bulk request is not documented either: one unit per
request, or one per device it carries, as another cloud of the same vendor
does. `learned_metering` reads it from the answers to batches; under
per-device metering each attempt occupies as many slots of the local log as
it carried devices (`unit_spans`), so batches shrink to what the window holds
(`free_units`) and pacing counts units.

Like devices.ratelimit, nothing here reads a clock or a database.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from devices.ratelimit import Budget, Span

# Bulk metering, as UpstreamState.BulkMetering stores it.
UNKNOWN, PER_REQUEST, PER_DEVICE = "", "request", "device"


@dataclass(frozen=True)
class CloudWord:
    """The cloud's count in its last answer: `remaining` requests until `reset_at` (epoch seconds)."""

    remaining: int
    reset_at: float

    def in_force(self, now: float) -> bool:
        return now < self.reset_at


def cloud_start(word: CloudWord | None, spent: int, units: int, now: float, *, reserve: int = 0) -> float:
    """The earliest time, not before `now`, at which a call costing `units` may start by the cloud's word.

    `spent`: units sent since the answer that gave the word (and those in flight
    when it came, which it may not have counted). `reserve`: units kept for a click.
    """
    if word is None or not word.in_force(now) or spent + units <= word.remaining - reserve:
        return now
    return word.reset_at


def cloud_units_left(word: CloudWord | None, spent: int, now: float, *, reserve: int = 0) -> int | None:
    """Units the cloud's word still allows now (None: it sets no cap)."""
    if word is None or not word.in_force(now):
        return None
    return max(word.remaining - reserve - spent, 0)


def unit_spans(attempts: Iterable[tuple[Span, int]], per_device: bool) -> list[Span]:
    """The log as the cloud counts it: under per-device metering, an attempt of n devices is n slots."""
    return [span for span, items in attempts for _ in range(items if per_device else 1)]


def free_units(spans: Iterable[Span], now: float, budget: Budget, *, click: bool = False) -> int:
    """Slots of the window free at `now` for work of this kind (clicks may take the last one)."""
    allowed = budget.requests if click else budget.bulk_slots
    return max(allowed - sum(1 for s in spans if s.frees_at(budget) > now), 0)


def unit_paced_start(attempts: Iterable[tuple[Span, int]], now: float, budget: Budget) -> float:
    """Under per-device metering, bulk work is paced by units: after a start of n devices, n pacings."""
    ends = [span.started + budget.pacing * items for span, items in attempts if not span.click]
    return max([now, *ends])


def learned_metering(current: str, items: int, limit: int, remaining_after: int | None, *, refused: bool,
                     remaining_before: int | None = None) -> str:
    """What a batch's answer teaches of the metering (`current` if nothing).

    - Answered, with more left than a per-device count could leave (Remaining
      above Limit - items): one unit per request, whatever others spent.
    - Answered, and Remaining fell by at least `items` since the word before it,
      with nothing else of ours sent between: one unit per device. (Another
      client spending at the same moment could mimic it; the next batch's
      answer corrects that by the first rule.)
    - Refused (429) while the cloud said at least one request but fewer than
      `items` remained: the request cost more than one.
    """
    if items < 2 or remaining_after is None:
        return current
    if refused:
        left = remaining_before if remaining_before is not None else remaining_after
        return PER_DEVICE if 1 <= left < items or 1 <= remaining_after < items else current
    if remaining_after > limit - items:
        return PER_REQUEST
    if remaining_before is not None and remaining_before - remaining_after >= items:
        return PER_DEVICE
    return current
