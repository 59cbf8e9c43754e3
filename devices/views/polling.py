"""Polling at the pace things change: a panel's poll carries a digest of what it shows, and a poll whose
digest still holds answers 204 (htmx swaps nothing) after the few queries the digest costs.

A digest is taken of what a panel's content depends on, plus the minute, so that relative times and
estimates are redrawn at least once a minute. The period is short while something is being sent or is
due, and long while all waits for slots further off or nothing waits at all.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import datetime

from django.db.models import Count, Max, Q
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from devices.models import Action, UpstreamAttempt, UpstreamState

# A panel polls this often while something it shows is sent or due, and at most this seldom otherwise:
# at most 12 polls a minute, three when nothing is about to change.
POLL_FAST = 5
POLL_SLOW = 20


def digest(*parts: object, now: datetime | None = None) -> str:
    """A short digest of `parts` and the current minute."""
    minute = int((now or timezone.now()).timestamp() // 60)
    return hashlib.blake2s(repr((parts, minute)).encode(), digest_size=8).hexdigest()


def unchanged(request: HttpRequest, current: str) -> bool:
    """The poll names the digest it was drawn with, and it still holds."""
    return bool(request.GET.get("v")) and request.GET["v"] == current


def not_modified() -> HttpResponse:
    return HttpResponse(status=204)


def attempt_epoch() -> tuple:
    """The attempt log's newest row and how many calls are in flight: ETAs move with both."""
    row = UpstreamAttempt.objects.aggregate(last=Max("id"), open=Count("id", filter=Q(finished_at__isnull=True)))
    return row["last"], row["open"]


def pause_state() -> tuple:
    """The state row's pause and the cloud's last word, as the upstream page shows them."""
    return tuple(UpstreamState.objects.filter(pk=1).values_list(
        "blocked_until", "pause_kind", "consecutive_failures", "rate_limited_count", "cloud_remaining",
        "cloud_limit", "cloud_seen_at", "bulk_metering").first() or ())


def period(open_actions: Iterable[Action], now: datetime) -> int:
    """Seconds between polls of a panel showing these open actions (each with its `eta`, if any)."""
    open_actions = list(open_actions)
    if any(a.status == Action.Status.SENDING for a in open_actions):
        return POLL_FAST
    etas = [a.eta for a in open_actions if getattr(a, "eta", None) is not None]
    if not etas:
        return POLL_SLOW
    wait = (min(etas) - now).total_seconds()
    return int(min(POLL_SLOW, max(POLL_FAST, wait / 4)))
