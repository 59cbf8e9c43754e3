"""The audit log: who did what to which device, filtered, paged and exported."""

from __future__ import annotations

from django.contrib.auth.decorators import permission_required
from django.core.paginator import Paginator
from django.http import HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from devices.filters import AuditFilterSet
from devices.timeline import changes_text, readable_changes
from devices.views.csv_response import csv_response
from devices.views.htmx import HtmxHttpRequest
from devices.views.paging import page_number

EXPORT_COLUMNS = ("time", "user", "verb", "action", "device", "action_id", "bulk_job_id", "detail", "changes")


@require_GET
@permission_required("devices.view_device", raise_exception=True)
def audit_log(request: HtmxHttpRequest) -> HttpResponse:
    filterset = AuditFilterSet(request.GET)
    page = Paginator(filterset.qs, 50).get_page(page_number(request.GET.get("page")))
    page.object_list = list(page.object_list)
    for entry in page.object_list:
        entry.readable_changes = readable_changes(entry.changes)
    return render(
        request, "devices/audit/log.html", {"form": filterset.form, "problems": filterset.problems(), "page": page}
    )


@require_GET
@permission_required("devices.view_device", raise_exception=True)
def audit_export(request: HtmxHttpRequest) -> StreamingHttpResponse:
    """The entries the log shows for these parameters, every page."""
    entries = AuditFilterSet(request.GET).qs
    rows = (
        (e.at.isoformat(), e.username, e.verb, e.kind, e.device_name, e.action_id or "", e.bulk_job_id or "", e.detail,
         changes_text(e.changes))
        for e in entries.iterator(chunk_size=2000)
    )
    return csv_response("audit", EXPORT_COLUMNS, rows)
