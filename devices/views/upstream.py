"""The Upstream page: the call budget, the backlog, recent errors, resuming after a pause, and testing the connection."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.http import HttpResponse
from django.shortcuts import redirect
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST
from django.views.decorators.vary import vary_on_headers

from devices import audit, cloudcheck, outbox
from devices.models import Action, ActionKind, AuditEntry, UpstreamAttempt
from devices.views.htmx import HtmxHttpRequest, render_page_or_fragment

# The button's check must end well inside gunicorn's timeout (30 s by
# default): a short wait for a free request of the budget, and two calls
# (the grant, the page) of at most CHECK_CONNECT_TIMEOUT + CHECK_TIMEOUT each.
CHECK_WAIT = 3.0
CHECK_CONNECT_TIMEOUT, CHECK_TIMEOUT = 3.0, 8.0


def _page_context() -> dict:
    return {
        "budget": outbox.budget_view(),
        "state": outbox.upstream_state(),
        "errors": UpstreamAttempt.objects.exclude(outcome__in=[UpstreamAttempt.Outcome.OK, UpstreamAttempt.Outcome.IN_FLIGHT]).select_related("action__device")[:15],
        "sent_last_hour": UpstreamAttempt.objects.filter(started_at__gte=timezone.now() - timedelta(hours=1)).count(),
        "in_flight": Action.objects.filter(status=Action.Status.SENDING).count(),
        "batch_kinds": [ActionKind(kind).label for kind in outbox.batched_kinds()],
        "cloud_word_on": settings.GEARS_CLOUD_WORD,
        "our_limit": settings.GEARS_RATE_LIMIT,
    }


@require_GET
@permission_required("devices.view_device", raise_exception=True)
@vary_on_headers("HX-Request")
def upstream_page(request: HtmxHttpRequest) -> HttpResponse:
    return render_page_or_fragment(request, "devices/upstream/page.html", "devices/upstream/partials/upstream_status.html", _page_context())


@require_POST
@permission_required("devices.trigger_actions", raise_exception=True)
def upstream_resume(request: HtmxHttpRequest) -> HttpResponse:
    outbox.resume(user=request.user)
    messages.info(request, "Sending resumed: the next call is a probe.")
    return redirect("devices:upstream")


@require_POST
@permission_required("devices.check_cloud", raise_exception=True)
@vary_on_headers("HX-Request")
def upstream_check(request: HttpRequest) -> HttpResponse:
    """Run the connection check (one request of the budget) and show its report: in place for htmx, else on the page."""
    client = outbox.upstream_client(max_timeout=CHECK_TIMEOUT, max_connect_timeout=CHECK_CONNECT_TIMEOUT)
    report = cloudcheck.run_check(max_wait=CHECK_WAIT, client=client)
    audit.record(AuditEntry.Verb.CHECKED_CLOUD, request.user, detail=report.summary)
    return render_page_or_fragment(request, "devices/upstream/page.html", "devices/upstream/partials/check_report.html",
                                   {**_page_context(), "check": report})
