"""/healthz: may a load balancer send this node traffic? And how is the outbox doing?

503 only when this node cannot serve: its database or its broker is unreachable.
What the cloud does (a pause, a backlog) is reported with a 200 and "degraded":
the cloud being down is the same for every node, and dropping them all would
take the console away exactly when operators need it to see why.
The body names no host, URL, error text or count of devices.
"""

from __future__ import annotations

import logging
from datetime import timedelta

import redis
from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.db import DatabaseError, connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from devices import outbox

logger = logging.getLogger(__name__)

# A probe waits at most this long for Redis: the load balancer's own timeout is a few seconds.
BROKER_TIMEOUT = 1.0
# Due work with no call for this long (and no pause) means no drainer runs: no cluster is up.
STALL_AT_LEAST = timedelta(minutes=5)
# The last answer's status in this process, so a change is logged once, not every probe.
last_status = {"status": "ok"}


def database_ok() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return True
    except DatabaseError:
        return False


def broker_ok() -> bool:
    """Redis answers a PING; the ORM broker is the database, checked already."""
    url = settings.Q_CLUSTER.get("redis")
    if not url:
        return True
    client = redis.Redis.from_url(url, socket_connect_timeout=BROKER_TIMEOUT, socket_timeout=BROKER_TIMEOUT)
    try:
        return bool(client.ping())
    except redis.RedisError:
        return False
    finally:
        client.close()


def stalled_after() -> timedelta:
    """How long due work may see no call before it counts as stalled: twice the rate window, 5 min at least."""
    return max(STALL_AT_LEAST, timedelta(seconds=2 * settings.GEARS_RATE_LIMIT.window))


def outbox_report() -> dict:
    now = outbox.db_now()
    signs = outbox.vitals(now)
    since_sent, due_wait = signs.seconds_since_last_attempt(now), signs.oldest_due_wait(now)
    limit = stalled_after().total_seconds()
    stalled = not signs.pause_kind and due_wait is not None and due_wait > limit and (
        since_sent is None or since_sent > limit)
    return {
        "last_drain_age_s": since_sent,
        "oldest_due_age_s": due_wait,
        "paused": bool(signs.pause_kind),
        "pause_kind": signs.pause_kind or None,
        "stalled": stalled,
    }


@login_not_required
@never_cache
@require_safe
def healthz(request: HttpRequest) -> JsonResponse:
    database = database_ok()
    broker = broker_ok() if database or settings.Q_CLUSTER.get("redis") else False
    body: dict = {"database": "ok" if database else "down", "broker": "ok" if broker else "down"}
    if database:
        try:
            body["outbox"] = outbox_report()
        except DatabaseError:  # lost between the two checks
            database, body["database"] = False, "down"
    if not (database and broker):
        status = "unavailable"
    elif body["outbox"]["paused"] or body["outbox"]["stalled"]:
        status = "degraded"
    else:
        status = "ok"
    note_change(status, body)
    return JsonResponse({"status": status, **body}, status=503 if status == "unavailable" else 200)


def note_change(status: str, body: dict) -> None:
    """Log the health once when it changes in this process, not at every probe."""
    if status == last_status["status"]:
        return
    last_status["status"] = status
    level = logging.INFO if status == "ok" else logging.WARNING
    logger.log(level, "health: %s (database %s, broker %s)", status, body["database"], body["broker"])
