"""Remediation links on the device page, and sharing them with the device's user."""

from __future__ import annotations

from datetime import timedelta

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.mail import BadHeaderError, send_mail
from django.db import transaction
from django.http import Http404, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.timesince import timesince
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import HttpResponseStopPolling

from devices import audit, outbox
from devices.filters import DeviceFilterSet
from devices.models import ActionKind, AuditEntry, Device, Priority, RemediationState
from devices.remediation import email_body, is_trusted_link
from devices.views.csv_response import csv_response
from devices.views.htmx import HtmxHttpRequest
from devices.views.panels import remediation_context

# A second email of a device's link to the same owner within this time is refused (three clicks were three emails).
EMAIL_AGAIN_AFTER = timedelta(minutes=10)
EXPORT_COLUMNS = ("name", "hwid", "owner_name", "owner_email", "remediation_state", "remediation_link", "fetched_at")


def _panel(request: HtmxHttpRequest, device: Device, notice: str = "") -> HttpResponse:
    context = remediation_context(device)
    context["notice"] = notice
    response = render(request, "devices/remediation/partials/remediation_panel.html", context)
    if context["fetch"] is None:
        return HttpResponseStopPolling(response.content)
    return response


@require_GET
@permission_required("devices.view_device", raise_exception=True)
def remediation_panel(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    """The panel alone; it polls while a fetch is on its way, then stops."""
    return _panel(request, get_object_or_404(Device, pk=pk))


@require_POST
@permission_required("devices.trigger_actions", raise_exception=True)
def remediation_refresh(request: HtmxHttpRequest, pk: int) -> HttpResponse:
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
@permission_required("devices.trigger_actions", raise_exception=True)
def remediation_email(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    device = _trusted_device(pk)
    if not device.owner_email:
        notice = f"{device.name} has no owner email; add one first."
    else:
        notice = _email(request, device)
    if request.htmx:
        return _panel(request, device, notice)
    messages.info(request, notice)
    return redirect(device)


def _email(request: HtmxHttpRequest, device: Device) -> str:
    """Send the link to the device's owner, at most once per EMAIL_AGAIN_AFTER; the notice that says how it went."""
    with transaction.atomic():
        # The device row's lock makes two quick clicks wait for each other, so the second sees the first's entry.
        Device.objects.select_for_update().filter(pk=device.pk).first()
        last = _last_email(device)
        if last is not None:
            again = last.at + EMAIL_AGAIN_AFTER
            return (f"Not sent again: the link went to {device.owner_email} at {_clock(last.at)} "
                    f"({timesince(last.at)} ago, by {last.username}). It can be emailed again from {_clock(again)}.")
        return _send(request, device)


def _last_email(device: Device) -> AuditEntry | None:
    return (AuditEntry.objects.filter(verb=AuditEntry.Verb.EMAILED, device=device, detail=f"to {device.owner_email}",
                                      at__gt=timezone.now() - EMAIL_AGAIN_AFTER)
            .order_by("-at").first())


def _clock(moment) -> str:
    return timezone.localtime(moment).strftime("%H:%M:%S")


def _send(request: HtmxHttpRequest, device: Device) -> str:
    subject, body = email_body(device, device.remediation_link)
    try:
        send_mail(subject, body, None, [device.owner_email])
    except BadHeaderError:
        return ("The email was not sent: the owner's email address or the device's name holds a line break. "
                "Edit the device, then try again.")
    audit.record(AuditEntry.Verb.EMAILED, request.user, kind=ActionKind.REMEDIATION, device=device,
                 detail=f"to {device.owner_email}")
    return f"Emailed the remediation link to {device.owner_email}."


@require_GET
@permission_required("devices.view_device", raise_exception=True)
def remediation_card(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    """A page to print and hand to the device's user."""
    device = _trusted_device(pk)
    return render(request, "devices/remediation/card.html", {**remediation_context(device), "printed": timezone.now()})


@require_GET
@permission_required("devices.view_device", raise_exception=True)
def remediation_export(request: HtmxHttpRequest) -> StreamingHttpResponse:
    """Device, owner, link and fetch time for what the list's filter shows."""
    rows = DeviceFilterSet(request.GET).qs.values_list(
        "name", "hwid", "owner_name", "owner_email", "remediation_state", "remediation_link", "remediation_fetched_at"
    )
    return csv_response("remediation-links", EXPORT_COLUMNS, (
        (name, hwid or "", owner, email, state, link, fetched.isoformat() if fetched else "")
        for name, hwid, owner, email, state, link, fetched in rows.iterator(chunk_size=2000)
    ))
