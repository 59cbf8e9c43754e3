"""The device page's panels (actions, remediation), shared by the page and the fragments that redraw them."""

from __future__ import annotations

from django.conf import settings
from django.utils.safestring import mark_safe

from devices import outbox, remediation
from devices.cloudsync import pages
from devices.models import (
    DEVICE_ACTIONS,
    EXEMPT_MODE_OF,
    Action,
    ActionKind,
    CloudSync,
    Device,
    RemediationState,
)
from devices.views import polling

HISTORY_ROWS = 20


def device_actions_context(device: Device, view: outbox.BudgetView | None = None) -> dict:
    """The device page's actions panel: exemption mode, history with ETAs."""
    view = view or outbox.budget_view()
    history = list(history_rows(device.pk).select_related("requested_by"))
    for action in history:
        action.eta = outbox.estimated_send_time(action, view)
    return {
        **exemption_context(device, history),
        **history_poll(history, view),
        "history": history,
        "budget": view,
        "kinds": DEVICE_ACTIONS,
    }


def history_rows(device_id: int):
    return (Action.objects.filter(device_id=device_id).exclude(kind=ActionKind.REMEDIATION)
            .order_by("-created_at", "-id")[:HISTORY_ROWS])


def history_state(device_id: int) -> list[tuple]:
    """The history's rows as its digest reads them: one query, no join."""
    return list(history_rows(device_id).values_list("id", "status", "attempts", "not_before"))


def history_digest(rows: list[tuple]) -> str:
    """What the history region shows: its rows' states, and the budget's attempts (ETAs move with them)."""
    return polling.digest(rows, polling.attempt_epoch())


def history_poll(history: list[Action], view: outbox.BudgetView) -> dict:
    """How the history region polls: the open rows it shows, how often (at the pace they can change), and the
    digest of what it shows."""
    open_actions = [action for action in history if not action.is_terminal]
    rows = [(a.pk, a.status, a.attempts, a.not_before) for a in history]
    return {
        "open_ids": [action.pk for action in open_actions],
        "poll_seconds": polling.period(open_actions, view.now),
        "history_version": history_digest(rows) if open_actions else "",
    }


def exemption_context(device: Device, history: list[Action] | None = None) -> dict:
    """The exemption mode the cloud confirmed, and the change on its way if one is."""
    if history is None:
        history = list(device.actions.filter(kind__in=list(EXEMPT_MODE_OF)).order_by("-created_at", "-id")[:HISTORY_ROWS])
    pending_exemption = next(
        (a for a in history if a.is_pending or a.status == Action.Status.SENDING if a.kind in EXEMPT_MODE_OF), None
    )
    return {
        "device": device,
        "pending_mode": EXEMPT_MODE_OF[pending_exemption.kind] if pending_exemption else None,
        "pending_exemption": pending_exemption,
    }


def remediation_context(device: Device, view: outbox.BudgetView | None = None) -> dict:
    """The device page's remediation panel: the link, ways to share it, a fetch on its way."""
    fetch = remediation.open_remediation_fetch(device)
    trusted = device.remediation_state == RemediationState.LINK and remediation.is_trusted_link(device.remediation_link)
    qr = remediation.qr_svg(device.remediation_link) if trusted else ""
    return {
        "device": device,
        "fetch": fetch,
        "fetch_eta": outbox.estimated_send_time(fetch, view) if fetch is not None and fetch.is_pending else None,
        # Stale with no fetch on its way: the viewer's page-view fetches are at their cap.
        "fetch_deferred": fetch is None and remediation.remediation_is_stale(device),
        "page_view_fetches": remediation.PAGE_VIEW_FETCHES,
        "trusted": trusted,
        "qr": mark_safe(qr),  # segno's own SVG
        "qr_note": remediation.qr_note(device.remediation_link) if trusted and not qr else "",
        "mailto": remediation.mailto_url(device, device.remediation_link) if trusted and device.owner_email else "",
        "upstream_host": settings.GEARS_BASE_URL,
    }


def sync_context() -> dict:
    """The running sync (else the last one), its ETA, and the last finished one's result."""
    current = CloudSync.objects.select_related("requested_by").first()
    running = current is not None and current.is_running
    previous = CloudSync.objects.exclude(status=CloudSync.Status.RUNNING).first() if running else current
    return {
        "sync": current if running else None,
        "eta": pages.sync_eta(current) if running else None,
        "last": previous,
        "interval": sync_interval_text(),
    }


def sync_interval_text() -> str:
    """How often the schedule starts a sync, in words."""
    seconds = settings.GEARS_SYNC_INTERVAL
    if not seconds:
        return "off"
    hours, rest = divmod(seconds, 3600)
    return f"every {hours} h" if not rest else f"every {seconds // 60} min" if not seconds % 60 else f"every {seconds} s"
