"""Remediation links on the device page, and sharing them with the device's user."""

from __future__ import annotations

import csv

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.mail import send_mail
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import HttpResponseStopPolling

from devices import audit, outbox
from devices.csv_io import Echo, escape_cell
from devices.models import ActionKind, AuditEntry, Device, Priority, RemediationState
from devices.remediation import email_body, is_trusted_link, mailto_url, qr_svg
from devices.views import filtered_devices


def remediation_context(device: Device, view: outbox.BudgetView | None = None) -> dict:
    fetch = outbox.open_remediation_fetch(device)
    trusted = device.remediation_state == RemediationState.LINK and is_trusted_link(device.remediation_link)
    return {
        "device": device,
        "fetch": fetch,
        "fetch_eta": outbox.estimated_send_time(fetch, view) if fetch is not None and fetch.is_pending else None,
        "trusted": trusted,
        "qr": mark_safe(qr_svg(device.remediation_link)) if trusted else "",  # segno's own SVG
        "mailto": mailto_url(device, device.remediation_link) if trusted and device.owner_email else "",
        "upstream_host": settings.GEARS_BASE_URL,
    }


def _panel(request: HttpRequest, device: Device, notice: str = "") -> HttpResponse:
    context = remediation_context(device)
    context["notice"] = notice
    response = render(request, "devices/partials/remediation_panel.html", context)
    if context["fetch"] is None:
        return HttpResponseStopPolling(response.content)
    return response


@require_GET
@login_required
@permission_required("devices.view_device", raise_exception=True)
def remediation_panel(request: HttpRequest, pk: int) -> HttpResponse:
    """The panel alone; it polls while a fetch is on its way, then stops."""
    return _panel(request, get_object_or_404(Device, pk=pk))


@require_POST
@login_required
@permission_required("devices.trigger_actions", raise_exception=True)
def remediation_refresh(request: HttpRequest, pk: int) -> HttpResponse:
    device = get_object_or_404(Device, pk=pk)
    queued = outbox.enqueue(device, ActionKind.REMEDIATION, user=request.user, priority=Priority.CLICK)
    notice = "Fetching the remediation link now." if queued.created else "A fetch is already on its way."
    if request.htmx:
        return _panel(request, device, notice)
    messages.info(request, notice)
    return redirect(device)


def _trusted_device(pk: int) -> Device:
    device = get_object_or_404(Device, pk=pk)
    if device.remediation_state != RemediationState.LINK or not is_trusted_link(device.remediation_link):
        raise Http404("This device has no remediation link that can be shared.")
    return device


@require_POST
@login_required
@permission_required("devices.trigger_actions", raise_exception=True)
def remediation_email(request: HttpRequest, pk: int) -> HttpResponse:
    device = _trusted_device(pk)
    if not device.owner_email:
        notice = f"{device.name} has no owner email; add one first."
    else:
        subject, body = email_body(device, device.remediation_link)
        send_mail(subject, body, None, [device.owner_email])
        audit.record(AuditEntry.Verb.EMAILED, request.user, kind=ActionKind.REMEDIATION, device=device,
                     detail=f"to {device.owner_email}")
        notice = f"Emailed the remediation link to {device.owner_email}."
    if request.htmx:
        return _panel(request, device, notice)
    messages.info(request, notice)
    return redirect(device)


@require_GET
@login_required
@permission_required("devices.view_device", raise_exception=True)
def remediation_card(request: HttpRequest, pk: int) -> HttpResponse:
    """A page to print and hand to the device's user."""
    device = _trusted_device(pk)
    return render(request, "devices/remediation_card.html", {**remediation_context(device), "printed": timezone.now()})


@require_GET
@login_required
@permission_required("devices.view_device", raise_exception=True)
def remediation_export(request: HttpRequest) -> StreamingHttpResponse:
    """Device, owner, link and fetch time for what the list's filter shows."""
    _, devices = filtered_devices(request.GET)
    writer = csv.writer(Echo(), lineterminator="\r\n")
    rows = devices.values_list("name", "hwid", "owner_name", "owner_email", "remediation_state",
                               "remediation_link", "remediation_fetched_at")

    def lines():
        yield writer.writerow(["name", "hwid", "owner_name", "owner_email", "remediation_state", "remediation_link", "fetched_at"])
        for name, hwid, owner, email, state, link, fetched in rows.iterator(chunk_size=2000):
            values = [name, hwid or "", owner, email, state, link, fetched.isoformat() if fetched else ""]
            yield writer.writerow([escape_cell(v) for v in values])

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="remediation-links-{timezone.now():%Y%m%d-%H%M%S}.csv"'
    return response
