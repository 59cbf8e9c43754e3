"""The cloud sync: its page, the button that starts one, and the progress fragment that polls while it runs."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST
from django.views.decorators.vary import vary_on_headers
from django_htmx.http import HttpResponseStopPolling

from devices.cloudsync import pages
from devices.models import CloudSync
from devices.views.htmx import HtmxHttpRequest, wants_fragment
from devices.views.panels import sync_context

RECENT_SYNCS = 10


@require_GET
@permission_required("devices.view_device", raise_exception=True)
@vary_on_headers("HX-Request")
def sync_page(request: HtmxHttpRequest) -> HttpResponse:
    context = sync_context()
    if wants_fragment(request):
        response = render(request, "devices/sync/partials/progress.html", context)
        return response if context["sync"] else HttpResponseStopPolling(response.content)
    context["recent"] = CloudSync.objects.select_related("requested_by")[:RECENT_SYNCS]
    return render(request, "devices/sync/page.html", context)


@require_POST
@permission_required("devices.trigger_actions", raise_exception=True)
def sync_start(request: HtmxHttpRequest) -> HttpResponse:
    started = pages.start_sync(CloudSync.Trigger.OPERATOR, user=request.user)
    if started.created:
        text = f"Cloud sync #{started.sync.pk} started: its pages wait behind clicks and bulk actions."
    elif started.sync is not None:
        text = f"Cloud sync #{started.sync.pk} is already running; nothing new was started."
    else:
        text = "A cloud sync was running a moment ago; nothing new was started."
    if wants_fragment(request):
        return render(request, "devices/sync/partials/progress.html", {**sync_context(), "notice": text})
    messages.info(request, text)
    return redirect("devices:sync")
