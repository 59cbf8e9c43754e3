"""CSV import: upload a file, preview what it would change, then apply or discard it."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from devices import audit
from devices.csv_io import (
    COLUMNS,
    CsvFormatError,
    ImportInterrupted,
    ImportRejected,
    apply_import,
    check_readable,
    decode_upload,
    plan_import,
)
from devices.forms import CsvUploadForm
from devices.models import DeviceImport
from devices.views.htmx import HtmxHttpRequest
from gearsdash.body_limit import body_limit, upload_limit

PREVIEW_VALID_ROWS = 200
PREVIEW_ERROR_ROWS = 500


@body_limit(upload_limit)
@require_http_methods(["GET", "POST"])
@permission_required(["devices.import_devices", "devices.add_device", "devices.change_device"], raise_exception=True)
def import_upload(request: HtmxHttpRequest) -> HttpResponse:
    form = CsvUploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            text = decode_upload(upload.read())
            check_readable(text)
        except CsvFormatError as exc:
            form.add_error("file", str(exc))
        else:
            pending = DeviceImport.objects.create(
                uploaded_by=request.user, filename=upload.name[:255], content=text
            )
            return redirect("devices:import-preview", pk=pending.pk)
    return render(request, "devices/imports/upload.html", {"form": form, "columns": COLUMNS})


def pending_import(request: HtmxHttpRequest, pk) -> DeviceImport:
    """The user's import that still awaits a decision, or a 404 that says why there is none."""
    found = DeviceImport.objects.filter(pk=pk, uploaded_by=request.user).first()
    if found is None:
        raise Http404("There is no import preview with this number among your uploads: "
                      "upload the file again.")
    if found.status == DeviceImport.Status.APPLIED:
        raise Http404(f"This preview of {found.filename} was already imported "
                      f"({timezone.localtime(found.applied_at):%Y-%m-%d %H:%M}): "
                      "the device list shows the result. To import the file again, upload it again.")
    if found.status != DeviceImport.Status.PREVIEW:
        raise Http404(f"This preview of {found.filename} was discarded: nothing was imported. "
                      "To import the file, upload it again.")
    return found


@require_http_methods(["GET", "POST"])
@permission_required(["devices.import_devices", "devices.add_device", "devices.change_device"], raise_exception=True)
def import_preview(request: HtmxHttpRequest, pk) -> HttpResponse:
    pending = pending_import(request, pk)
    if request.method == "POST":
        mode = request.POST.get("mode")
        if mode == "discard":
            pending.discard()
            messages.info(request, f"Discarded {pending.filename}; nothing was imported.")
            return redirect("devices:import-upload")
        if mode in ("all", "valid"):
            # No transaction around it: the import commits batch by batch, so
            # clicks and the cluster can write in between.
            try:
                result = apply_import(pending.content, valid_rows_only=(mode == "valid"),
                                      on_written=audit.import_recorder(request.user, pending))
            except (ImportRejected, ImportInterrupted) as exc:
                messages.error(request, str(exc))
            else:
                pending.mark_applied(result, timezone.now())
                messages.success(
                    request,
                    f"Imported {pending.filename}: {result.created} created, {result.updated} updated, "
                    f"{result.unchanged} unchanged, {result.skipped} skipped.",
                )
                return redirect("devices:device-list")
        else:
            messages.error(request, "Choose to import all rows, only the valid rows, or discard.")
    # The plan keeps every row with errors and the first valid ones, and counts the rest.
    plan = plan_import(pending.content, keep=max(PREVIEW_VALID_ROWS, PREVIEW_ERROR_ROWS))
    summary = plan.summary
    valid_rows = [row for row in plan.rows if row.ok]
    error_rows = plan.error_rows
    # Listed apart, all of them up to the cap: in the valid rows they could sit past the preview's end.
    removing_rows = [row for row in valid_rows if row.removes_identifiers][:PREVIEW_ERROR_ROWS]
    return render(
        request,
        "devices/imports/preview.html",
        {
            "pending": pending,
            "plan": plan,
            "summary": summary,
            "error_rows": error_rows[:PREVIEW_ERROR_ROWS],
            "more_error_rows": max(0, summary["errors"] - PREVIEW_ERROR_ROWS),
            "removing_rows": removing_rows,
            "more_removing_rows": max(0, summary["removing"] - len(removing_rows)),
            "valid_rows": valid_rows[:PREVIEW_VALID_ROWS],
            "more_valid_rows": max(0, plan.valid_count - PREVIEW_VALID_ROWS),
        },
    )
