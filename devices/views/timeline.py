"""A device's timeline: the older entries below the device page's first ones, page by page."""

from __future__ import annotations

from django.contrib.auth.decorators import permission_required
from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from django.views.decorators.http import require_GET
from django.views.decorators.vary import vary_on_headers

from devices.models import Device
from devices.timeline import device_timeline, parse_cursor
from devices.views.htmx import HtmxHttpRequest, render_page_or_fragment


@require_GET
@permission_required("devices.view_device", raise_exception=True)
@vary_on_headers("HX-Request")
def timeline_page(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    device = get_object_or_404(Device, pk=pk)
    before = request.GET.get("before", "")
    cursor = parse_cursor(before) if before else None
    problems = []
    if before and cursor is None:
        problems.append(f"Ignored before={before[:40]!r}: not a place in the timeline; showing the newest entries.")
    context = {"device": device, "timeline": device_timeline(device, cursor), "problems": problems}
    return render_page_or_fragment(
        request, "devices/timeline/page.html", "devices/timeline/partials/entries.html", context
    )
