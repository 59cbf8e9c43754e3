"""Bulk jobs: queue one action for many devices, follow the job's progress, cancel what waits."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.paginator import Paginator
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST
from django.views.decorators.vary import vary_on_headers
from django_htmx.http import HttpResponseStopPolling

from devices import outbox
from devices.models import Action, ActionKind, BulkJob
from devices.views.htmx import wants_fragment
from devices.views.selection import selected_devices


@require_POST
@permission_required("devices.trigger_actions", raise_exception=True)
def bulk_action(request: HttpRequest) -> HttpResponse:
    kind = request.POST.get("kind", "")
    selection = selected_devices(request)
    ids = list(selection.devices.values_list("pk", flat=True))
    description, back = selection.description, selection.back
    if kind not in ActionKind.values:
        messages.error(request, "Choose an action for the selected devices; nothing was queued.")
        return redirect(back)
    if not ids:
        messages.warning(request, "No devices were selected; nothing was queued.")
        return redirect(back)
    if request.POST.get("confirm") != "yes":
        view = outbox.budget_view()
        finish = view.eta_for_rank(view.backlog + len(ids) - 1)
        return render(request, "devices/bulk/confirm.html", {
            "count": len(ids), "kind": kind, "label": ActionKind(kind).label, "description": description,
            "post": request.POST, "back": back, "budget": view, "finish": finish,
            "duration": finish - view.now,
        })
    job = outbox.enqueue_bulk(ids, kind, user=request.user, description=description)
    messages.success(request, f"{ActionKind(kind).label}: {job.requested - job.already_queued} actions queued.")
    return redirect(job)


def bulk_context(job: BulkJob) -> dict:
    counts = dict(job.actions.values_list("status").annotate(n=Count("id")).values_list("status", "n"))
    total = sum(counts.values())
    done = sum(counts.get(s, 0) for s in Action.TERMINAL)
    pending = sum(counts.get(s, 0) for s in (*Action.PENDING, Action.Status.SENDING))
    view = outbox.budget_view()
    last = job.actions.filter(status__in=Action.PENDING).order_by("-priority", "-not_before", "-id").first()
    return {
        "job": job,
        "counts": [(label, counts.get(value, 0), value) for value, label in Action.Status.choices],
        "total": total,
        "done": done,
        "percent": round(100 * done / total) if total else 100,
        "pending": pending,
        "eta": outbox.estimated_send_time(last, view) if last else None,
        "budget": view,
    }


@require_GET
@permission_required("devices.view_device", raise_exception=True)
@vary_on_headers("HX-Request")
def bulk_detail(request: HttpRequest, pk: int) -> HttpResponse:
    job = get_object_or_404(BulkJob.objects.select_related("created_by"), pk=pk)
    context = bulk_context(job)
    if wants_fragment(request):
        response = render(request, "devices/bulk/partials/progress.html", context)
        return HttpResponseStopPolling(response.content) if not context["pending"] else response
    return render(request, "devices/bulk/detail.html", context)


@require_POST
@permission_required("devices.trigger_actions", raise_exception=True)
def bulk_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    job = get_object_or_404(BulkJob, pk=pk)
    count = outbox.cancel_bulk(job, user=request.user)
    messages.info(request, f"Cancelled {count} waiting actions; those already sent keep their result.")
    return redirect(job)


@require_GET
@permission_required("devices.view_device", raise_exception=True)
def bulk_list(request: HttpRequest) -> HttpResponse:
    page = Paginator(BulkJob.objects.select_related("created_by"), 25).get_page(request.GET.get("page"))
    return render(request, "devices/bulk/list.html", {"page": page})
