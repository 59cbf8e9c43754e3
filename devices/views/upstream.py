"""The Upstream page: the call budget, the backlog, recent errors, and resuming after a pause."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST
from django.views.decorators.vary import vary_on_headers

from devices import outbox
from devices.models import BULK_ENDPOINT_KINDS, Action, ActionKind, UpstreamAttempt
from devices.views.htmx import render_page_or_fragment


@require_GET
@permission_required("devices.view_device", raise_exception=True)
@vary_on_headers("HX-Request")
def upstream_page(request: HttpRequest) -> HttpResponse:
    state = outbox.upstream_state()
    context = {
        "budget": outbox.budget_view(),
        "state": state,
        "errors": UpstreamAttempt.objects.exclude(outcome__in=[UpstreamAttempt.Outcome.OK, UpstreamAttempt.Outcome.IN_FLIGHT]).select_related("action__device")[:15],
        "sent_last_hour": UpstreamAttempt.objects.filter(started_at__gte=timezone.now() - timedelta(hours=1)).count(),
        "in_flight": Action.objects.filter(status=Action.Status.SENDING).count(),
        "batch_kinds": [ActionKind(kind).label for kind in BULK_ENDPOINT_KINDS],
        "cloud_word_on": settings.GEARS_CLOUD_WORD,
        "our_limit": settings.GEARS_RATE_LIMIT,
    }
    return render_page_or_fragment(request, "devices/upstream/page.html", "devices/upstream/partials/upstream_status.html", context)


@require_POST
@permission_required("devices.trigger_actions", raise_exception=True)
def upstream_resume(request: HttpRequest) -> HttpResponse:
    outbox.resume(user=request.user)
    messages.info(request, "Sending resumed: the next call is a probe.")
    return redirect("devices:upstream")
