"""A device's action buttons and its history rows: queue, cancel, retry, and watch an action go out.

Viewers see all of it; only operators (devices.trigger_actions) can press it.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import HttpResponseStopPolling, trigger_client_event

from devices import outbox
from devices.ids import parse_id
from devices.models import DEVICE_KINDS, Action, ActionKind, Device
from devices.views import polling
from devices.views.htmx import HtmxHttpRequest
from devices.views.panels import (
    device_actions_context,
    exemption_context,
    history_digest,
    history_state,
)
from devices.wording import confirm_warning, needs_confirming

# The event the history's poll fires (HX-Trigger) when an action it showed open has ended: regions that depend
# on an action's outcome redraw on it.
ACTION_FINAL = "action-final"


@require_POST
@permission_required("devices.trigger_actions", raise_exception=True)
def action_create(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    device = get_object_or_404(Device, pk=pk)
    kind = request.POST.get("kind", "")
    if kind not in DEVICE_KINDS:
        messages.error(request, f"Unknown action {kind[:40]!r}; nothing was queued.")
        return redirect(device)
    if needs_confirming(kind) and not request.htmx and request.POST.get("confirm") != "yes":
        # Without JavaScript there is no hx-confirm dialog: ask on a page.
        return render(request, "devices/actions/confirm.html", {
            "device": device, "kind": kind, "label": ActionKind(kind).label, "warning": confirm_warning(kind)})
    queued = outbox.enqueue(device, kind, user=request.user)
    label = ActionKind(kind).label
    if queued.created:
        text = f"{label} queued for {device.name}."
        if queued.superseded:
            text += f" It replaces the waiting “{ActionKind(queued.superseded.kind).label}”."
    else:
        text = f"{label} was already waiting for {device.name}; it is queued once."
    if request.htmx and request.htmx.target == "device-actions":
        context = device_actions_context(device)
        context["notice"] = text
        return render(request, "devices/actions/partials/actions_panel.html", context)
    if request.htmx:
        return render(request, "devices/partials/notice.html", {"notice": text})
    messages.success(request, text)
    return redirect(device)


def _action_for_row(pk: int) -> Action:
    # A sync's page calls belong to no device: they have no row on a device page.
    return get_object_or_404(Action.objects.select_related("device", "requested_by"), pk=pk, device__isnull=False)


@require_GET
@permission_required("devices.view_device", raise_exception=True)
def device_history(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    """The device's history rows, polled as one region while any is open: one budget read for all their ETAs.

    `open` names the rows the page showed open: when one of them has ended since, the answer fires
    ACTION_FINAL, so what depends on an outcome (the exemption mode) redraws; polling stops when none is open.
    """
    # Polls mostly find nothing changed: that costs the one query of the digest, and redraws nothing (204).
    if polling.unchanged(request, history_digest(history_state(pk))):
        return polling.not_modified()
    device = get_object_or_404(Device, pk=pk)
    context = device_actions_context(device)
    response = render(request, "devices/actions/partials/history.html", context)
    if not context["open_ids"]:
        response = HttpResponseStopPolling(response.content)
    # Ids the page itself wrote; anything else in the parameter is no id and is ignored.
    was_open = {parse_id(v) for v in request.GET.get("open", "").split(",")} - {None}
    if was_open - set(context["open_ids"]):
        trigger_client_event(response, ACTION_FINAL)
    return response


@require_GET
@permission_required("devices.view_device", raise_exception=True)
def exemption(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    """The exemption mode alone, redrawn when an action on the page reaches a final state."""
    device = get_object_or_404(Device, pk=pk)
    return render(request, "devices/actions/partials/exemption.html", exemption_context(device))


@require_POST
@permission_required("devices.trigger_actions", raise_exception=True)
def action_cancel(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    action = _action_for_row(pk)
    if outbox.cancel(action, user=request.user):
        text = f"Cancelled {action.get_kind_display()} for {action.device.name}."
    else:
        text = f"{action.get_kind_display()} for {action.device.name} is no longer waiting ({action.get_status_display().lower()}); nothing changed."
    return _after_change(request, action, text)


@require_POST
@permission_required("devices.trigger_actions", raise_exception=True)
def action_retry(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    action = _action_for_row(pk)
    try:
        queued = outbox.retry(action, user=request.user)
    except ValueError:
        text = f"Only a failed or cancelled action can be retried; this one is {action.get_status_display().lower()}."
    else:
        text = f"{action.get_kind_display()} queued again for {action.device.name} (#{queued.action.pk})."
    return _after_change(request, action, text)


def _after_change(request: HtmxHttpRequest, action: Action, text: str) -> HttpResponse:
    if request.htmx:
        context = device_actions_context(action.device)
        context["notice"] = text
        return render(request, "devices/actions/partials/actions_panel.html", context)
    messages.info(request, text)
    return redirect(action.device)
