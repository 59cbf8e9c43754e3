"""Bulk jobs: queue one action for many devices, follow the job's progress, cancel what waits."""

from __future__ import annotations

from datetime import timedelta

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST
from django.views.decorators.vary import vary_on_headers
from django_htmx.http import HttpResponseStopPolling

from devices import outbox
from devices.models import DEVICE_KINDS, Action, ActionKind, BulkJob
from devices.views import polling
from devices.views.htmx import HtmxHttpRequest, wants_fragment
from devices.views.paging import page_number
from devices.views.selection import selected_devices


@require_POST
@permission_required("devices.trigger_actions", raise_exception=True)
def bulk_action(request: HtmxHttpRequest) -> HttpResponse:
    kind = request.POST.get("kind", "")
    selection = selected_devices(request)
    ids = list(selection.devices.values_list("pk", flat=True))
    description, back = selection.description, selection.back
    if kind not in DEVICE_KINDS:
        messages.error(request, "Choose an action for the selected devices; nothing was queued.")
        return redirect(back)
    if not ids:
        messages.warning(request, "No devices were selected; nothing was queued.")
        return redirect(back)
    if request.POST.get("confirm") != "yes":
        view = outbox.budget_view()
        with_hwid = selection.devices.filter(hwid__isnull=False).count()
        after = view.queue.plus_job(kind, with_hwid, len(ids) - with_hwid)
        finish = view.finish_of(after)
        return render(request, "devices/bulk/confirm.html", {
            "count": len(ids), "kind": kind, "label": ActionKind(kind).label, "description": description,
            "post": request.POST, "back": back, "budget": view, "finish": finish,
            "duration": finish - view.now, "requests": after.calls - view.queue.calls,
            "batched": outbox.batches(kind),
        })
    job = outbox.enqueue_bulk(ids, kind, user=request.user, description=description)
    messages.success(request, f"{ActionKind(kind).label}: {job.requested - job.already_queued} actions queued.")
    return redirect(job)


# The bar's segments, left to right: what each final state looks like.
OUTCOMES = (Action.Status.SUCCEEDED, Action.Status.FAILED, Action.Status.SUPERSEDED, Action.Status.CANCELLED)
ACTIONS_PER_PAGE = 50
JOBS_PER_PAGE = 25


def outcome_segments(counts: dict[str, int], total: int) -> list[dict]:
    """The bar's coloured parts: x and width in percent (one decimal) of each non-empty outcome."""
    segments, start = [], 0.0
    for status in OUTCOMES:
        n = counts.get(status, 0)
        if n and total:
            width = round(100 * n / total, 1)
            segments.append({"status": status.value, "label": status.label, "n": n,
                             "x": f"{start:.1f}", "width": f"{width:.1f}"})
            start = round(start + width, 1)
    return segments


def outcome_sentence(counts: dict[str, int]) -> str:
    """'3 succeeded, 1 failed, 2 cancelled before they were sent': what the job's actions came to."""
    parts = [f"{counts.get(Action.Status.SUCCEEDED, 0)} succeeded"]
    for status, words in ((Action.Status.FAILED, "failed"),
                          (Action.Status.SUPERSEDED, "superseded by a newer change"),
                          (Action.Status.CANCELLED, "cancelled before they were sent")):
        if counts.get(status, 0):
            parts.append(f"{counts[status]} {words}")
    return ", ".join(parts)


def bulk_context(job: BulkJob, query=None) -> dict:
    """The job's progress, its outcome, and one page of its actions (`query`: status filter, page)."""
    query = query or {}
    counts = job_counts(job.pk)
    total = sum(counts.values())
    done = sum(counts.get(s, 0) for s in Action.TERMINAL)
    pending = sum(counts.get(s, 0) for s in Action.OPEN)
    view = outbox.budget_view()
    status = query.get("status", "")
    status = status if status in Action.Status.values else ""
    actions = job.actions.select_related("device").order_by("device__name", "id")
    if status:
        actions = actions.filter(status=status)
    return {
        "job": job,
        "counts": [(label, counts.get(value, 0), value) for value, label in Action.Status.choices],
        "total": total,
        "done": done,
        "percent": round(100 * done / total) if total else 100,
        "pending": pending,
        "failed": counts.get(Action.Status.FAILED, 0),
        "segments": outcome_segments(counts, total),
        "outcome": outcome_sentence(counts),
        "status": status,
        "actions": Paginator(actions, ACTIONS_PER_PAGE).get_page(page_number(query.get("page"))),
        "eta": outbox.estimated_finish(job.actions.all(), view) if pending else None,
        "requests_left": outbox.waiting(view.batch_size, Q(bulk_job=job)).calls if pending else 0,
        "batched": outbox.batches(job.kind),
        "budget": view,
        # Sending or due now: the bar moves within seconds; waiting further off, a few polls until then.
        "poll_seconds": polling.POLL_FAST if counts.get(Action.Status.SENDING) or (pending and eta_is_near(view))
        else polling.POLL_SLOW,
        "poll_version": progress_digest(job.pk, counts) if pending else "",
    }


def eta_is_near(view: outbox.BudgetView) -> bool:
    return view.bulk_slot <= view.now + timedelta(seconds=polling.POLL_SLOW)


def progress_digest(job_id: int, counts: dict) -> str:
    """What the progress card shows: the job's counts by status, and the budget's attempts (its ETA moves with them)."""
    return polling.digest(job_id, sorted(counts.items()), polling.attempt_epoch())


def job_counts(job_id: int) -> dict:
    return dict(Action.objects.filter(bulk_job_id=job_id).values_list("status").annotate(n=Count("id"))
                .values_list("status", "n"))


@require_GET
@permission_required("devices.view_device", raise_exception=True)
@vary_on_headers("HX-Request")
def bulk_detail(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    if wants_fragment(request) and polling.unchanged(request, progress_digest(pk, job_counts(pk))):
        return polling.not_modified()
    job = get_object_or_404(BulkJob.objects.select_related("created_by"), pk=pk)
    context = bulk_context(job, request.GET)
    if wants_fragment(request):
        response = render(request, "devices/bulk/partials/progress.html", context)
        return HttpResponseStopPolling(response.content) if not context["pending"] else response
    return render(request, "devices/bulk/detail.html", context)


@require_POST
@permission_required("devices.trigger_actions", raise_exception=True)
def bulk_cancel(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    job = get_object_or_404(BulkJob, pk=pk)
    count = outbox.cancel_bulk(job, user=request.user)
    messages.info(request, f"Cancelled {count} waiting actions; those already sent keep their result.")
    return redirect(job)


@require_GET
@permission_required("devices.view_device", raise_exception=True)
def bulk_list(request: HtmxHttpRequest) -> HttpResponse:
    # By id too: jobs queued within the same clock tick must not swap pages between two requests.
    jobs = BulkJob.objects.select_related("created_by").order_by("-created_at", "-pk")
    page = Paginator(jobs, JOBS_PER_PAGE).get_page(page_number(request.GET.get("page")))
    return render(request, "devices/bulk/list.html", {"page": page})
