"""The device page's panels (actions, remediation), shared by the page and the fragments that redraw them."""

from __future__ import annotations

from django.conf import settings
from django.utils.safestring import mark_safe

from devices import outbox
from devices.models import DEVICE_ACTIONS, CloudSync, EXEMPT_MODE_OF, Action, ActionKind, Device, RemediationState
from devices.remediation import is_trusted_link, mailto_url, qr_note, qr_svg

HISTORY_ROWS = 20


def device_actions_context(device: Device, view: outbox.BudgetView | None = None) -> dict:
    """The device page's actions panel: exemption mode, history with ETAs."""
    view = view or outbox.budget_view()
    history = list(
        device.actions.exclude(kind=ActionKind.REMEDIATION)
        .select_related("requested_by")
        .order_by("-created_at", "-id")[:HISTORY_ROWS]
    )
    for action in history:
        action.eta = outbox.estimated_send_time(action, view)
    return {
        **exemption_context(device, history),
        "history": history,
        "budget": view,
        "kinds": DEVICE_ACTIONS,
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
    fetch = outbox.open_remediation_fetch(device)
    trusted = device.remediation_state == RemediationState.LINK and is_trusted_link(device.remediation_link)
    qr = qr_svg(device.remediation_link) if trusted else ""
    return {
        "device": device,
        "fetch": fetch,
        "fetch_eta": outbox.estimated_send_time(fetch, view) if fetch is not None and fetch.is_pending else None,
        # Stale with no fetch on its way: the viewer's page-view fetches are at their cap.
        "fetch_deferred": fetch is None and outbox.remediation_is_stale(device),
        "page_view_fetches": outbox.PAGE_VIEW_FETCHES,
        "trusted": trusted,
        "qr": mark_safe(qr),  # segno's own SVG
        "qr_note": qr_note(device.remediation_link) if trusted and not qr else "",
        "mailto": mailto_url(device, device.remediation_link) if trusted and device.owner_email else "",
        "upstream_host": settings.GEARS_BASE_URL,
    }


def sync_context() -> dict:
    """The running sync (else the last one), its ETA, and the last finished one's result."""
    current = CloudSync.objects.select_related("requested_by").first()
    running = current is not None and current.is_running
    previous = CloudSync.objects.exclude(status=CloudSync.Status.RUNNING).first() if running else current
    return {
        "sync": current if running else None,
        "eta": outbox.sync_eta(current) if running else None,
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
