"""Starting a drainer when new work commits."""

from __future__ import annotations

import logging

from django.conf import settings
from django.db import transaction
from django_q.tasks import async_task

logger = logging.getLogger(__name__)

# The django-q2 task that drains the outbox (the schedule row names it too).
DRAIN_TASK = "devices.outbox.tasks.drain"
# Whether this process's last kick failed: a broker outage is logged when it starts and when it ends,
# not at every click.
broker_state = {"down": False}


def kick_drainer() -> None:
    """Start a drainer once the current transaction commits (and only then)."""
    if not settings.GEARS_KICK_DRAINER:
        return

    def kick() -> None:
        try:
            async_task(DRAIN_TASK, save=False, task_name="drain outbox")
        except Exception as exc:  # the broker is down: the one-minute schedule kicks instead
            if not broker_state["down"]:
                logger.error("could not kick the outbox drainer (%s: %s); the one-minute schedule sends instead. "
                             "Not logged again until a kick succeeds.", type(exc).__name__, exc)
            broker_state["down"] = True
            return
        if broker_state["down"]:
            logger.warning("kicking the outbox drainer works again")
            broker_state["down"] = False

    transaction.on_commit(kick)
