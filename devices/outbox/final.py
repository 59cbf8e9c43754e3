"""What follows when an action fails for good, however it came to (an answer, given up at claim, a lost lease).

Every path that ends an action as failed calls `failed_for_good`, so none of
them leaves behind a sync still running on a page that will never come, a
remediation state that still claims a fetch is under way, or a bulk job that
never reads finished.
"""

from __future__ import annotations

from datetime import datetime

from django.db.models import Case, Value, When

from devices import notices
from devices.models import Action, ActionKind, Device, RemediationState
from devices.outbox.limits import fit
from devices.outbox.syncpages import page_failed


def failed_for_good(action: Action, now: datetime, error: Exception | str | None = None, *,
                    bulk_notice: bool = True) -> None:
    """The consequences of `action` (saved or about to be, status FAILED) for its device, sync and bulk job.

    `error`: what ended it (the answer's error), else its `last_error`.
    `bulk_notice`: False when the caller checks the bulk job itself, once per request.
    """
    if action.kind == ActionKind.REMEDIATION:
        keep_last_good_link(action, now)
    if action.kind == ActionKind.SYNC_PAGE:
        page_failed(action, error if error is not None else action.last_error, now)
    if bulk_notice:
        notices.bulk_action_ended(action)


def keep_last_good_link(action: Action, now: datetime) -> None:
    """A failed fetch keeps the last good link and says the fetch failed, and why."""
    Device.objects.filter(pk=action.device_id).update(
        remediation_state=Case(
            When(remediation_state=RemediationState.LINK, then=Value(RemediationState.LINK)),
            default=Value(RemediationState.ERROR),
        ),
        remediation_fetched_at=now,
        remediation_error=fit(Device, "remediation_error", action.last_error),
    )
