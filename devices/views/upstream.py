"""The Upstream page: the call budget, the backlog, recent errors, resuming after a pause, and testing the connection."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.db.models import Count, Max
from django.http import HttpResponse
from django.shortcuts import redirect
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST
from django.views.decorators.vary import vary_on_headers

from devices import audit, cloudcheck, outbox
from devices.models import Action, ActionKind, AuditEntry, UpstreamAttempt
from devices.views import polling
from devices.views.htmx import HtmxHttpRequest, render_page_or_fragment

# The button's check must end well inside gunicorn's timeout (30 s by
# default): a short wait for a free request of the budget, and two calls
# (the grant, the page) of at most CHECK_CONNECT_TIMEOUT + CHECK_TIMEOUT each.
CHECK_WAIT = 3.0
CHECK_CONNECT_TIMEOUT, CHECK_TIMEOUT = 3.0, 8.0


def status_digest() -> str:
    """What the status panel shows: the pause and the cloud's word, the attempts, and what waits."""
    waiting = Action.objects.filter(status__in=Action.OPEN).aggregate(n=Count("id"), last=Max("id"))
    return polling.digest(polling.pause_state(), polling.attempt_epoch(), waiting["n"], waiting["last"])


def _page_context() -> dict:
    budget = outbox.budget_view()
    in_flight = Action.objects.filter(status=Action.Status.SENDING).count()
    # Work waiting, in flight or paused changes the panel within seconds; an idle console seldom.
    busy = in_flight or budget.backlog or budget.paused
    return {
        "poll_seconds": polling.POLL_FAST if busy else polling.POLL_SLOW,
        "poll_version": status_digest(),
        "budget": budget,
        "state": outbox.upstream_state(),
        "errors": UpstreamAttempt.objects.exclude(outcome__in=[UpstreamAttempt.Outcome.OK, UpstreamAttempt.Outcome.IN_FLIGHT]).select_related("action__device")[:15],
        "sent_last_hour": UpstreamAttempt.objects.filter(started_at__gte=timezone.now() - timedelta(hours=1)).count(),
        "in_flight": in_flight,
        "batch_kinds": [ActionKind(kind).label for kind in outbox.batched_kinds()],
        "cloud_word_on": settings.GEARS_CLOUD_WORD,
        "our_limit": settings.GEARS_RATE_LIMIT,
    }


@require_GET
@permission_required("devices.view_device", raise_exception=True)
@vary_on_headers("HX-Request")
def upstream_page(request: HtmxHttpRequest) -> HttpResponse:
    if request.htmx and not request.htmx.boosted and polling.unchanged(request, status_digest()):
        return polling.not_modified()
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
def upstream_check(request: HtmxHttpRequest) -> HttpResponse:
    """Run the connection check (one request of the budget) and show its report: in place for htmx, else on the page."""
    client = outbox.upstream_client(max_timeout=CHECK_TIMEOUT, max_connect_timeout=CHECK_CONNECT_TIMEOUT)
    report = cloudcheck.run_check(max_wait=CHECK_WAIT, client=client)
    audit.record(AuditEntry.Verb.CHECKED_CLOUD, request.user, detail=report.summary)
    return render_page_or_fragment(request, "devices/upstream/page.html", "devices/upstream/partials/check_report.html",
                                   {**_page_context(), "check": report})
