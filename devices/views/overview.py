"""The overview at `/`: the inventory's counts, the budget used, the backlog, bulk jobs, the last sync, recent failures.

Every figure is an aggregate or a short slice, so the page costs the same
queries for a hundred devices or a hundred thousand. The activity section
(backlog, pause, bulk jobs, sync) refreshes itself; the rest is read on load.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.contrib.auth.decorators import permission_required
from django.db.models import Count, Exists, OuterRef, Q
from django.http import HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET
from django.views.decorators.vary import vary_on_headers

from devices import outbox
from devices.models import Action, BulkJob
from devices.overview.charts import bar_chart
from devices.overview.fleet import fleet_counts
from devices.overview.usage import Period, limit_per_minute, usage
from devices.views.htmx import HtmxHttpRequest, wants_fragment
from devices.views.panels import sync_context

RUNNING_SHOWN = 5
FAILURES_SHOWN = 5
FAILURES_SINCE = timedelta(hours=24)


def running_jobs() -> tuple[list[BulkJob], int]:
    """The oldest bulk jobs with actions still open (with their progress), and how many there are."""
    still_open = Exists(Action.objects.filter(bulk_job=OuterRef("pk"), status__in=Action.OPEN))
    jobs = BulkJob.objects.filter(still_open)
    shown = list(
        jobs.annotate(total=Count("actions"), done=Count("actions", filter=Q(actions__status__in=Action.TERMINAL)),
                      failed=Count("actions", filter=Q(actions__status=Action.Status.FAILED)))
        .order_by("created_at", "id")[:RUNNING_SHOWN]
    )
    return shown, (len(shown) if len(shown) < RUNNING_SHOWN else jobs.count())


def activity_context() -> dict:
    jobs, running = running_jobs()
    return {"budget": outbox.budget_view(), "jobs": jobs, "running": running}


def chart_context(periods: list[Period], limit: float, *, hourly: bool) -> dict:
    chart = bar_chart([(p.requests, p.failed) for p in periods], limit)
    return {"chart": chart, "rows": list(zip(periods, chart.bars, strict=True)), "hourly": hourly,
            "total": sum(p.total if hourly else p.requests for p in periods)}


def figures_context(now: datetime) -> dict:
    hour, day = usage(now)
    limit = limit_per_minute()
    failures = Action.objects.filter(status=Action.Status.FAILED, finished_at__gte=now - FAILURES_SINCE)
    return {
        "counts": fleet_counts(now),
        "hour": chart_context(hour, limit, hourly=False),
        "day": chart_context(day, limit, hourly=True),
        "failures": failures.select_related("device").order_by("-finished_at", "-id")[:FAILURES_SHOWN],
        "failure_count": failures.count(),
    }


@require_GET
@permission_required("devices.view_device", raise_exception=True)
@vary_on_headers("HX-Request")
def overview(request: HtmxHttpRequest) -> HttpResponse:
    context = activity_context()
    if wants_fragment(request):
        return render(request, "devices/overview/partials/activity.html", context)
    context.update(figures_context(context["budget"].now), **sync_context())
    return render(request, "devices/overview/page.html", context)
