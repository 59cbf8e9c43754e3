"""Starting a drainer when new work commits."""

from __future__ import annotations

import logging

from django.conf import settings
from django.db import transaction
from django_q.tasks import async_task

logger = logging.getLogger(__name__)

# The django-q2 task that drains the outbox (the schedule row names it too).
DRAIN_TASK = "devices.outbox.tasks.drain"


def kick_drainer() -> None:
    """Start a drainer once the current transaction commits (and only then)."""
    if not settings.GEARS_KICK_DRAINER:
        return

    def kick() -> None:
        try:
            async_task(DRAIN_TASK, save=False, task_name="drain outbox")
        except Exception:  # the broker is down: the one-minute schedule kicks instead
            logger.exception("could not kick the outbox drainer")

    transaction.on_commit(kick)
