"""Inventory pages: the list, a device's page, create, edit, delete and bulk delete, the export."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.db import IntegrityError
from django.http import HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import urlencode
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers

from devices import outbox, remediation
from devices.csv_io import EXPORT_COLUMNS, device_rows
from devices.filters import DeviceFilterSet
from devices.forms import DeviceForm
from devices.inventory import delete_device, delete_devices, save_device
from devices.models import DEVICE_ACTIONS, DEVICE_KINDS, ActionKind, Device
from devices.timeline import device_timeline
from devices.views.csv_response import csv_response
from devices.views.htmx import HtmxHttpRequest, render_page_or_fragment
from devices.views.paging import CappedPaginator
from devices.views.panels import device_actions_context, remediation_context
from devices.views.selection import selected_devices
from devices.views.table_rows import standing_notes, table_rows


@require_GET
@permission_required("devices.view_device", raise_exception=True)
@vary_on_headers("HX-Request")
def device_list(request: HtmxHttpRequest) -> HttpResponse:
    filterset = DeviceFilterSet(request.GET)
    paginator = CappedPaginator(filterset.qs, filterset.page_size, ids_first=bool(filterset.value("q")))
    page = paginator.get_page(request.GET.get("page"))
    selecting = filterset.selecting_pairs()
    rows = table_rows(page.object_list)
    context = {
        "form": filterset.form,
        "page": page,
        "rows": rows,
        "standing_notes": standing_notes(rows),
        "problems": filterset.problems(),
        "selecting": selecting,
        "filter_query": urlencode(selecting),
        "sort": filterset.sort_key,
        "can_delete": request.user.has_perm("devices.delete_device"),
        "can_act": request.user.has_perm("devices.trigger_actions"),
        "can_bulk": request.user.has_perm("devices.delete_device") or request.user.has_perm("devices.trigger_actions"),
        "kinds": [(kind, ActionKind(kind).label) for kind in DEVICE_KINDS],
        "row_kinds": DEVICE_ACTIONS,
        # A callable, so only the full page reads it, not the table's htmx swaps.
        "upstream": outbox.upstream_state,
    }
    return render_page_or_fragment(
        request, "devices/devices/list.html", "devices/devices/partials/device_table.html", context
    )


@require_GET
@permission_required("devices.view_device", raise_exception=True)
def device_export(request: HtmxHttpRequest) -> StreamingHttpResponse:
    """Exactly the devices the list shows for these parameters: the import columns, then what the cloud says."""
    return csv_response("devices", EXPORT_COLUMNS, device_rows(DeviceFilterSet(request.GET).qs))


@require_GET
@permission_required("devices.view_device", raise_exception=True)
def device_detail(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    device = get_object_or_404(Device.objects.prefetch_related("macs"), pk=pk)
    # Show what is stored at once; fetch again when it is missing or stale.
    remediation.ensure_fresh_remediation(device, user=request.user)
    view = outbox.budget_view()  # one read of the budget serves both panels' ETAs
    context = {
        **device_actions_context(device, view),
        **remediation_context(device, view),
        "timeline": device_timeline(device),
    }
    return render(request, "devices/devices/detail.html", context)


def _save_form(form: DeviceForm, device: Device | None, user) -> Device | None:
    """Save a valid form; on a race with another save, put the error on the form."""
    try:
        return save_device(device, form.record(), user=user)
    except IntegrityError:
        # Someone saved the same identifier between validation and save: the
        # fresh validation names the device that has it now.
        form.full_clean()
        if form.is_valid():
            form.add_error(None, "The device changed while you were editing it. Check and save again.")
        return None


@require_http_methods(["GET", "POST"])
@permission_required("devices.add_device", raise_exception=True)
def device_create(request: HtmxHttpRequest) -> HttpResponse:
    form = DeviceForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        device = _save_form(form, None, request.user)
        if device:
            messages.success(request, f"Added {device.name}.")
            return redirect(device)
    return render(request, "devices/devices/form.html", {"form": form, "device": None})


@require_http_methods(["GET", "POST"])
@permission_required("devices.change_device", raise_exception=True)
def device_edit(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    device = get_object_or_404(Device, pk=pk)
    form = DeviceForm(request.POST or None, instance=device)
    if request.method == "POST" and form.is_valid():
        if _save_form(form, device, request.user):
            messages.success(request, f"Saved {device.name}.")
            return redirect(device)
    return render(request, "devices/devices/form.html", {"form": form, "device": device})


@require_http_methods(["GET", "POST"])
@permission_required("devices.delete_device", raise_exception=True)
def device_delete(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    device = get_object_or_404(Device.objects.prefetch_related("macs"), pk=pk)
    if request.method == "POST":
        name = device.name
        delete_device(device, user=request.user)
        messages.success(request, f"Deleted {name}.")
        return redirect("devices:device-list")
    return render(request, "devices/devices/confirm_delete.html", {"device": device})


@require_POST
@permission_required("devices.delete_device", raise_exception=True)
def device_bulk_delete(request: HtmxHttpRequest) -> HttpResponse:
    selection = selected_devices(request)
    devices, back = selection.devices, selection.back
    count = devices.count()
    if count == 0:
        messages.warning(request, "No devices were selected.")
        return redirect(back)
    if request.POST.get("confirm") != "yes":
        return render(
            request,
            "devices/devices/bulk_delete.html",
            {"count": count, "sample": devices[:10], "post": request.POST, "back": back},
        )
    deleted = delete_devices(list(devices.values_list("pk", flat=True)), user=request.user, detail="Bulk delete")
    messages.success(request, f"Deleted {deleted} devices.")
    return redirect(back)
