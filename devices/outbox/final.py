"""What follows when an action fails for good, however it came to (an answer, given up at claim, a lost lease).

Every path that ends an action as failed calls `failed_for_good`, so none of
them leaves behind what its call kind would leave wrong (a sync still running
on a page that will never come, a remediation state that still claims a fetch
is under way), or a bulk job that never reads finished.
"""

from __future__ import annotations

from datetime import datetime

from devices import notices
from devices.models import Action
from devices.outbox.kinds import kind_of


def failed_for_good(action: Action, now: datetime, error: Exception | str | None = None, *,
                    bulk_notice: bool = True) -> None:
    """The consequences of `action` (saved or about to be, status FAILED) for its device, sync and bulk job.

    `error`: what ended it (the answer's error), else its `last_error`.
    `bulk_notice`: False when the caller checks the bulk job itself, once per request.
    """
    kind_of(action).failed(action, error if error is not None else action.last_error, now)
    if bulk_notice:
        notices.bulk_action_ended(action)
