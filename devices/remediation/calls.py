"""Remediation fetches as a call kind, and when a device's stored link is fresh enough.

A fetch is Get Remediation Link v2.2 for the device's identifier. It is a
read: one already on its way answers a new request too. A failed fetch keeps
the last good link and says the fetch failed, and why. Page views queue a
fetch when the stored link is missing or older than GEARS_REMEDIATION_TTL,
below clicks, and at most PAGE_VIEW_FETCHES per user at once.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Case, Value, When

from devices.models import Action, ActionKind, Device, Priority, RemediationState, UpstreamId, UpstreamState
from devices.outbox import CallKind, db_now, enqueue, fit, register, too_long, unstorable
from devices.upstream import GearsClient, RemediationResult

# Fetches a user's page views may have waiting at once: a viewer paging through
# devices cannot fill the queue (fetches for pages they left stay unqueued).
PAGE_VIEW_FETCHES = 3


class RemediationFetch(CallKind):
    name = ActionKind.REMEDIATION
    joins_call_in_flight = True
    untargetable = "The device has neither a HWID nor a MAC address."

    def target(self, action: Action) -> UpstreamId | None:
        return action.device.upstream_identifier

    def send(self, client: GearsClient, token: str, claim) -> RemediationResult:
        return client.remediation_link(token, claim.target.value, claim.target.opt)

    def answered(self, action: Action, result: RemediationResult, state: UpstreamState, now: datetime) -> str:
        link = (result.link or "") if result.state == RemediationState.LINK else ""
        action.upstream_msg = fit(Action, "upstream_msg", result.msg or RemediationState(result.state).label)
        if problem := too_long(Device, "remediation_link", link):
            unstorable(action, problem, now)
            return ""
        action.status, action.finished_at = Action.Status.SUCCEEDED, now
        Device.objects.filter(pk=action.device_id).update(
            remediation_state=result.state,
            remediation_link=link,
            remediation_fetched_at=now,
            remediation_error="",
        )
        return ""

    def failed(self, action: Action, outcome, now: datetime) -> None:
        """A failed fetch keeps the last good link and says the fetch failed, and why."""
        Device.objects.filter(pk=action.device_id).update(
            remediation_state=Case(
                When(remediation_state=RemediationState.LINK, then=Value(RemediationState.LINK)),
                default=Value(RemediationState.ERROR),
            ),
            remediation_fetched_at=now,
            remediation_error=fit(Device, "remediation_error", action.last_error),
        )


register(RemediationFetch())


def _requester(user):
    return user if getattr(user, "pk", None) else None


def remediation_is_stale(device: Device, now: datetime | None = None) -> bool:
    if device.remediation_fetched_at is None:
        return True
    age = (now or db_now()) - device.remediation_fetched_at
    return age > timedelta(seconds=settings.GEARS_REMEDIATION_TTL)


def open_remediation_fetch(device: Device) -> Action | None:
    return device.actions.filter(kind=ActionKind.REMEDIATION, status__in=Action.OPEN).order_by("-id").first()


def page_view_fetches_waiting(user) -> int:
    """How many fetches this user's page views queued that still wait."""
    requester = _requester(user)
    if requester is None:
        return 0
    return Action.objects.filter(requested_by=requester, priority=Priority.PAGE_VIEW, status__in=Action.PENDING).count()


def ensure_fresh_remediation(device: Device, *, user) -> Action | None:
    """Queue a fetch when the stored link is missing or older than the TTL.

    However many people look, one fetch per TTL: a fetch already on its way
    answers them all. A page view is no click: its fetch goes below clicks
    (Priority.PAGE_VIEW), and a user has at most PAGE_VIEW_FETCHES of them
    waiting; beyond that nothing is queued and the page shows what is stored.
    """
    waiting = open_remediation_fetch(device)
    if waiting is not None or not remediation_is_stale(device):
        return waiting
    with transaction.atomic():
        requester = _requester(user)
        if requester is not None:
            # Serialise one user's page views so two tabs cannot both pass the cap.
            get_user_model().objects.select_for_update().filter(pk=requester.pk).exists()
            if page_view_fetches_waiting(requester) >= PAGE_VIEW_FETCHES:
                return None
        return enqueue(device, ActionKind.REMEDIATION, user=user, priority=Priority.PAGE_VIEW, audit=False).action
