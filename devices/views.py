"""Inventory pages: list, detail, create/edit/delete, bulk, CSV import and export.

Function views in the style of healthchecks' hc/front/views.py. A view whose
output depends on htmx returns its fragment only to htmx requests that are
neither boosted nor history restores, and says so with `Vary: HX-Request`.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.paginator import Paginator
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, QueryDict, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers

from devices.csv_io import COLUMNS, CsvFormatError, ImportRejected, apply_import, decode_upload, iter_devices_csv, plan_import, read_rows
from devices.forms import CsvUploadForm, DeviceFilterForm, DeviceForm
from devices.inventory import save_device
from devices.models import DEVICE_ACTIONS, ActionKind, Device, DeviceImport, MacAddress

PREVIEW_VALID_ROWS = 200
PREVIEW_ERROR_ROWS = 500


def wants_fragment(request: HttpRequest) -> bool:
    """True for htmx requests that swap part of a page (as NetBox's htmx_partial)."""
    htmx = getattr(request, "htmx", None)
    return bool(htmx) and not htmx.boosted and not htmx.history_restore_request


def render_page_or_fragment(request: HttpRequest, page: str, fragment: str, context: dict) -> HttpResponse:
    """The fragment for an htmx swap, the whole page otherwise (mark the view Vary: HX-Request)."""
    return render(request, fragment if wants_fragment(request) else page, context)


def filtered_devices(params: QueryDict) -> tuple[DeviceFilterForm, QuerySet[Device]]:
    """The devices that the list's search and filters in `params` select, sorted."""
    form = DeviceFilterForm(params)
    form.is_valid()
    devices = Device.objects.all()
    devices = devices.search(form.value("q"))
    identifier = form.value("identifier")
    if identifier == "hwid":
        devices = devices.filter(hwid__isnull=False)
    elif identifier == "mac_only":
        devices = devices.filter(hwid__isnull=True)
    elif identifier == "multi_mac":
        # Several MACs means one that is not the primary: an indexed lookup,
        # where counting MACs per device would group every row.
        devices = devices.filter(pk__in=MacAddress.objects.filter(is_primary=False).values("device_id"))
    remediation = form.value("remediation")
    if remediation:
        devices = devices.filter(remediation_state=remediation)
    owner = form.value("owner")
    if owner == "assigned":
        devices = devices.exclude(owner_name="", owner_email="")
    elif owner == "unassigned":
        devices = devices.filter(owner_name="", owner_email="")
    return form, devices.order_by(*DeviceFilterForm.SORTS[form.value("sort", "name")])


def _filter_pairs(form: DeviceFilterForm) -> dict[str, str]:
    """`form`'s valid, non-default values."""
    return {
        name: form.value(name)
        for name in ("q", "identifier", "owner", "remediation", "sort")
        if form.value(name)
    }


def _filter_query(form: DeviceFilterForm) -> str:
    """The query string that reproduces `form`'s valid, non-default values."""
    return urlencode(_filter_pairs(form))


@require_GET
@login_required
@permission_required("devices.view_device", raise_exception=True)
@vary_on_headers("HX-Request")
def device_list(request: HttpRequest) -> HttpResponse:
    form, devices = filtered_devices(request.GET)
    paginator = Paginator(devices.prefetch_related("macs"), form.value("per_page", 50))
    page = paginator.get_page(request.GET.get("page"))
    context = {
        "form": form,
        "page": page,
        "problems": form.problems(),
        "filter_query": _filter_query(form),
        "sort": form.value("sort", "name"),
        "can_delete": request.user.has_perm("devices.delete_device"),
        "can_act": request.user.has_perm("devices.trigger_actions"),
        "can_bulk": request.user.has_perm("devices.delete_device") or request.user.has_perm("devices.trigger_actions"),
        "kinds": ActionKind.choices,
        "row_kinds": DEVICE_ACTIONS,
    }
    return render_page_or_fragment(request, "devices/device_list.html", "devices/partials/device_table.html", context)


@require_GET
@login_required
@permission_required("devices.view_device", raise_exception=True)
def device_export(request: HttpRequest) -> StreamingHttpResponse:
    """Exactly the devices the list shows for these parameters, in import columns."""
    _, devices = filtered_devices(request.GET)
    rows = iter_devices_csv(devices)
    stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
    response = StreamingHttpResponse(rows, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="devices-{stamp}.csv"'
    return response


@require_GET
@login_required
@permission_required("devices.view_device", raise_exception=True)
def device_detail(request: HttpRequest, pk: int) -> HttpResponse:
    from devices import outbox
    from devices.action_views import device_actions_context
    from devices.remediation_views import remediation_context

    device = get_object_or_404(Device.objects.prefetch_related("macs"), pk=pk)
    # Show what is stored at once; fetch again when it is missing or stale.
    outbox.ensure_fresh_remediation(device, user=request.user)
    view = outbox.budget_view()  # one read of the budget serves both panels' ETAs
    context = {**device_actions_context(device, view), **remediation_context(device, view)}
    return render(request, "devices/device_detail.html", context)


def _save_form(request: HttpRequest, form: DeviceForm, device: Device | None) -> Device | None:
    """Save a valid form; on a race with another save, put the error on the form."""
    try:
        return save_device(device, form.record())
    except IntegrityError:
        # Someone saved the same identifier between validation and save: the
        # fresh validation names the device that has it now.
        form.full_clean()
        if form.is_valid():
            form.add_error(None, "The device changed while you were editing it. Check and save again.")
        return None


@require_http_methods(["GET", "POST"])
@login_required
@permission_required("devices.add_device", raise_exception=True)
def device_create(request: HttpRequest) -> HttpResponse:
    form = DeviceForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        device = _save_form(request, form, None)
        if device:
            messages.success(request, f"Added {device.name}.")
            return redirect(device)
    return render(request, "devices/device_form.html", {"form": form, "device": None})


@require_http_methods(["GET", "POST"])
@login_required
@permission_required("devices.change_device", raise_exception=True)
def device_edit(request: HttpRequest, pk: int) -> HttpResponse:
    device = get_object_or_404(Device, pk=pk)
    form = DeviceForm(request.POST or None, instance=device)
    if request.method == "POST" and form.is_valid():
        if _save_form(request, form, device):
            messages.success(request, f"Saved {device.name}.")
            return redirect(device)
    return render(request, "devices/device_form.html", {"form": form, "device": device})


@require_http_methods(["GET", "POST"])
@login_required
@permission_required("devices.delete_device", raise_exception=True)
def device_delete(request: HttpRequest, pk: int) -> HttpResponse:
    device = get_object_or_404(Device.objects.prefetch_related("macs"), pk=pk)
    if request.method == "POST":
        name = device.name
        device.delete()
        messages.success(request, f"Deleted {name}.")
        return redirect("devices:device-list")
    return render(request, "devices/device_confirm_delete.html", {"device": device})


@dataclass(frozen=True)
class Selection:
    """The devices a bulk form names, where to go back to, and how to say which."""

    devices: QuerySet[Device]
    back: str
    description: str


def selected_devices(request: HttpRequest) -> Selection:
    """Ticked ids, or everything the list's filter (sent along) matches."""
    listing = reverse("devices:device-list")
    if request.POST.get("select_all_matching") == "1":
        form, devices = filtered_devices(request.POST)
        pairs = _filter_pairs(form)
        query = urlencode(pairs)
        description = "all devices matching " + ("&".join(f"{k}={v}" for k, v in pairs.items()) or "(no filter)")
        return Selection(devices, listing + (f"?{query}" if query else ""), description)
    ids = [value for value in request.POST.getlist("device") if value.isdigit()]
    devices = Device.objects.filter(pk__in=ids)
    return Selection(devices, listing, f"{devices.count()} selected devices")


@require_POST
@login_required
@permission_required("devices.delete_device", raise_exception=True)
def device_bulk_delete(request: HttpRequest) -> HttpResponse:
    selection = selected_devices(request)
    devices, back = selection.devices, selection.back
    count = devices.count()
    if count == 0:
        messages.warning(request, "No devices were selected.")
        return redirect(back)
    if request.POST.get("confirm") != "yes":
        return render(
            request,
            "devices/device_bulk_delete.html",
            {"count": count, "sample": devices[:10], "post": request.POST, "back": back},
        )
    with transaction.atomic():
        deleted = Device.objects.filter(pk__in=list(devices.values_list("pk", flat=True))).delete()[1].get("devices.Device", 0)
    messages.success(request, f"Deleted {deleted} devices.")
    return redirect(back)


# ---------------------------------------------------------------- CSV import


@require_http_methods(["GET", "POST"])
@login_required
@permission_required(["devices.import_devices", "devices.add_device", "devices.change_device"], raise_exception=True)
def import_upload(request: HttpRequest) -> HttpResponse:
    form = CsvUploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            text = decode_upload(upload.read())
            read_rows(text)
        except CsvFormatError as exc:
            form.add_error("file", str(exc))
        else:
            pending = DeviceImport.objects.create(
                uploaded_by=request.user, filename=upload.name[:255], content=text
            )
            return redirect("devices:import-preview", pk=pending.pk)
    return render(request, "devices/import_upload.html", {"form": form, "columns": COLUMNS})


@require_http_methods(["GET", "POST"])
@login_required
@permission_required(["devices.import_devices", "devices.add_device", "devices.change_device"], raise_exception=True)
def import_preview(request: HttpRequest, pk) -> HttpResponse:
    pending = get_object_or_404(
        DeviceImport, pk=pk, uploaded_by=request.user, status=DeviceImport.Status.PREVIEW
    )
    if request.method == "POST":
        mode = request.POST.get("mode")
        if mode == "discard":
            pending.status = DeviceImport.Status.DISCARDED
            pending.content = ""
            pending.save(update_fields=["status", "content"])
            messages.info(request, f"Discarded {pending.filename}; nothing was imported.")
            return redirect("devices:import-upload")
        if mode in ("all", "valid"):
            try:
                with transaction.atomic():
                    result = apply_import(pending.content, valid_rows_only=(mode == "valid"))
                    pending.status = DeviceImport.Status.APPLIED
                    pending.applied_at = timezone.now()
                    pending.created_count = result.created
                    pending.updated_count = result.updated
                    pending.skipped_count = result.skipped
                    pending.save()
            except ImportRejected as exc:
                messages.error(request, str(exc))
            except IntegrityError:
                messages.error(request, "The inventory changed during the import; nothing was written. Try again.")
            else:
                messages.success(
                    request,
                    f"Imported {pending.filename}: {result.created} created, {result.updated} updated, "
                    f"{result.unchanged} unchanged, {result.skipped} skipped.",
                )
                return redirect("devices:device-list")
        else:
            messages.error(request, "Choose to import all rows, only the valid rows, or discard.")
    plan = plan_import(pending.content)
    valid_rows = [row for row in plan.rows if row.ok]
    error_rows = plan.error_rows
    return render(
        request,
        "devices/import_preview.html",
        {
            "pending": pending,
            "plan": plan,
            "summary": plan.summary,
            "error_rows": error_rows[:PREVIEW_ERROR_ROWS],
            "more_error_rows": max(0, len(error_rows) - PREVIEW_ERROR_ROWS),
            "valid_rows": valid_rows[:PREVIEW_VALID_ROWS],
            "more_valid_rows": max(0, len(valid_rows) - PREVIEW_VALID_ROWS),
        },
    )
