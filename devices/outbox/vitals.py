"""The outbox's vital signs for /healthz: when it last sent, how long due work has waited, whether it is paused."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Max, Min

from devices.models import Action, UpstreamAttempt, UpstreamState


@dataclass(frozen=True)
class Vitals:
    last_attempt_at: datetime | None  # the last call a drainer claimed (None: never)
    oldest_due_at: datetime | None  # when the longest-waiting due action became due (None: nothing due)
    pause_kind: str  # UpstreamState.PauseKind; "" when sending goes on

    def seconds_since_last_attempt(self, now: datetime) -> float | None:
        return _age(self.last_attempt_at, now)

    def oldest_due_wait(self, now: datetime) -> float | None:
        return _age(self.oldest_due_at, now)


def _age(moment: datetime | None, now: datetime) -> float | None:
    return None if moment is None else max(0.0, round((now - moment).total_seconds(), 1))


def vitals(now: datetime) -> Vitals:
    """Three small reads, none locking: cheap enough for a load balancer's every probe."""
    state = UpstreamState.objects.filter(pk=1).first()
    paused = state is not None and state.pause_end(now) is not None
    return Vitals(
        last_attempt_at=UpstreamAttempt.objects.aggregate(last=Max("started_at"))["last"],
        oldest_due_at=Action.objects.filter(status__in=Action.PENDING, not_before__lte=now)
        .aggregate(oldest=Min("not_before"))["oldest"],
        pause_kind=(state.pause_kind or UpstreamState.PauseKind.FAILURES) if paused else "",
    )
