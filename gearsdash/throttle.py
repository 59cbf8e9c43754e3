"""A fixed-window request counter in the shared "throttle" cache (a database table)."""

from __future__ import annotations

import hashlib
import logging
import time
from typing import NamedTuple

from django.core.cache import caches
from django.db import DatabaseError, transaction

from gearsdash.env import RateLimit

log = logging.getLogger(__name__)


def allow(scope: str, key: str, rate: RateLimit) -> bool:
    """Count one request for (scope, key); False once more than rate.requests fell in this window.

    The cache is a database table, so every process and machine counts together.
    If it cannot be read the request is refused: a limit that silently stops is no limit.
    """
    counted = count(scope, key, rate)
    return counted is not None and counted.used <= rate.requests


class Counted(NamedTuple):
    used: int  # requests in this window, this one included
    reset: float  # seconds until the window ends


def count(scope: str, key: str, rate: RateLimit, now: float | None = None) -> Counted | None:
    """Count one request for (scope, key) in the current fixed window; None when the cache cannot be used."""
    now = time.time() if now is None else now
    window = int(now // rate.window)
    # Hashed: the key may be an email address, which has no business in a cache table.
    digest = hashlib.sha256(key.encode()).hexdigest()[:32]
    cache_key = f"{scope}:{digest}:{window}"
    cache = caches["throttle"]
    try:
        # A savepoint: a failed query must not spoil a transaction the caller is in.
        with transaction.atomic():
            cache.add(cache_key, 0, timeout=int(rate.window) + 1)
            used = cache.incr(cache_key)
    except (DatabaseError, ValueError):
        log.error("The throttle cache cannot be used (run `manage.py createcachetable`); refusing %s.", scope)
        return None
    return Counted(used, (window + 1) * rate.window - now)
