"""Device actions: buttons, live status, bulk jobs, the Upstream page, the audit log.

Viewers see all of it; only operators (devices.trigger_actions) can press it.
"""

from __future__ import annotations

import csv
from datetime import timedelta

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.paginator import Paginator
from django.db.models import Count
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST
from django.views.decorators.vary import vary_on_headers
from django_htmx.http import HttpResponseStopPolling

from devices import outbox
from devices.csv_io import Echo, escape_cell
from devices.models import DEVICE_ACTIONS, EXEMPT_MODE_OF, Action, ActionKind, AuditEntry, BulkJob, Device, UpstreamAttempt
from devices.views import render_page_or_fragment, selected_devices, wants_fragment

HISTORY_ROWS = 20
# Actions that change what the cloud enforces ask first.
CONFIRM_KINDS = {ActionKind.EXEMPT_ALL}


def device_actions_context(device: Device, view: outbox.BudgetView | None = None) -> dict:
    """The device page's actions panel: exemption mode, history with ETAs."""
    view = view or outbox.budget_view()
    history = list(
        device.actions.exclude(kind=ActionKind.REMEDIATION)
        .select_related("requested_by")
        .order_by("-created_at", "-id")[:HISTORY_ROWS]
    )
    for action in history:
        action.eta = outbox.estimated_send_time(action, view)
    pending_exemption = next(
        (a for a in history if a.is_pending or a.status == Action.Status.SENDING if a.kind in EXEMPT_MODE_OF), None
    )
    return {
        "device": device,
        "history": history,
        "pending_mode": EXEMPT_MODE_OF[pending_exemption.kind] if pending_exemption else None,
        "pending_exemption": pending_exemption,
        "budget": view,
        "kinds": DEVICE_ACTIONS,
        "confirm_kinds": CONFIRM_KINDS,
    }


@require_POST
@login_required
@permission_required("devices.trigger_actions", raise_exception=True)
def action_create(request: HttpRequest, pk: int) -> HttpResponse:
    device = get_object_or_404(Device, pk=pk)
    kind = request.POST.get("kind", "")
    if kind not in ActionKind.values:
        messages.error(request, f"Unknown action {kind[:40]!r}; nothing was queued.")
        return redirect(device)
    if kind in CONFIRM_KINDS and not request.htmx and request.POST.get("confirm") != "yes":
        # Without JavaScript there is no hx-confirm dialog: ask on a page.
        return render(request, "devices/action_confirm.html", {"device": device, "kind": kind, "label": ActionKind(kind).label})
    queued = outbox.enqueue(device, kind, user=request.user)
    label = ActionKind(kind).label
    if queued.created:
        text = f"{label} queued for {device.name}."
        if queued.superseded:
            text += f" It replaces the waiting “{ActionKind(queued.superseded.kind).label}”."
    else:
        text = f"{label} was already waiting for {device.name}; it is queued once."
    if request.htmx and request.htmx.target == "device-actions":
        context = device_actions_context(device)
        context["notice"] = text
        return render(request, "devices/partials/device_actions.html", context)
    if request.htmx:
        return render(request, "devices/partials/notice.html", {"notice": text})
    messages.success(request, text)
    return redirect(device)


def _action_for_row(pk: int) -> Action:
    return get_object_or_404(Action.objects.select_related("device", "requested_by"), pk=pk)


@require_GET
@login_required
@permission_required("devices.view_device", raise_exception=True)
def action_row(request: HttpRequest, pk: int) -> HttpResponse:
    """One history row; polling stops once the action is final."""
    action = _action_for_row(pk)
    action.eta = outbox.estimated_send_time(action)
    response = render(request, "devices/partials/action_row.html", {"action": action})
    return HttpResponseStopPolling(response.content) if action.is_terminal else response


@require_POST
@login_required
@permission_required("devices.trigger_actions", raise_exception=True)
def action_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    action = _action_for_row(pk)
    if outbox.cancel(action, user=request.user):
        text = f"Cancelled {action.get_kind_display()} for {action.device.name}."
    else:
        text = f"{action.get_kind_display()} for {action.device.name} is no longer waiting ({action.get_status_display().lower()}); nothing changed."
    return _after_change(request, action, text)


@require_POST
@login_required
@permission_required("devices.trigger_actions", raise_exception=True)
def action_retry(request: HttpRequest, pk: int) -> HttpResponse:
    action = _action_for_row(pk)
    try:
        queued = outbox.retry(action, user=request.user)
    except ValueError:
        text = f"Only a failed or cancelled action can be retried; this one is {action.get_status_display().lower()}."
    else:
        text = f"{action.get_kind_display()} queued again for {action.device.name} (#{queued.action.pk})."
    return _after_change(request, action, text)


def _after_change(request: HttpRequest, action: Action, text: str) -> HttpResponse:
    if request.htmx:
        context = device_actions_context(action.device)
        context["notice"] = text
        return render(request, "devices/partials/device_actions.html", context)
    messages.info(request, text)
    return redirect(action.device)


# ---------------------------------------------------------------- bulk


@require_POST
@login_required
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
        return render(request, "devices/bulk_confirm.html", {
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
@login_required
@permission_required("devices.view_device", raise_exception=True)
@vary_on_headers("HX-Request")
def bulk_detail(request: HttpRequest, pk: int) -> HttpResponse:
    job = get_object_or_404(BulkJob.objects.select_related("created_by"), pk=pk)
    context = bulk_context(job)
    if wants_fragment(request):
        response = render(request, "devices/partials/bulk_progress.html", context)
        return HttpResponseStopPolling(response.content) if not context["pending"] else response
    return render(request, "devices/bulk_detail.html", context)


@require_POST
@login_required
@permission_required("devices.trigger_actions", raise_exception=True)
def bulk_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    job = get_object_or_404(BulkJob, pk=pk)
    count = outbox.cancel_bulk(job, user=request.user)
    messages.info(request, f"Cancelled {count} waiting actions; those already sent keep their result.")
    return redirect(job)


@require_GET
@login_required
@permission_required("devices.view_device", raise_exception=True)
def bulk_list(request: HttpRequest) -> HttpResponse:
    page = Paginator(BulkJob.objects.select_related("created_by"), 25).get_page(request.GET.get("page"))
    return render(request, "devices/bulk_list.html", {"page": page})


# ---------------------------------------------------------------- upstream


@require_GET
@login_required
@permission_required("devices.view_device", raise_exception=True)
@vary_on_headers("HX-Request")
def upstream(request: HttpRequest) -> HttpResponse:
    state = outbox.upstream_state()
    context = {
        "budget": outbox.budget_view(),
        "state": state,
        "errors": UpstreamAttempt.objects.exclude(outcome__in=[UpstreamAttempt.Outcome.OK, UpstreamAttempt.Outcome.IN_FLIGHT]).select_related("action__device")[:15],
        "sent_last_hour": UpstreamAttempt.objects.filter(started_at__gte=timezone.now() - timedelta(hours=1)).count(),
        "in_flight": Action.objects.filter(status=Action.Status.SENDING).count(),
    }
    return render_page_or_fragment(request, "devices/upstream.html", "devices/partials/upstream_status.html", context)


@require_POST
@login_required
@permission_required("devices.trigger_actions", raise_exception=True)
def upstream_resume(request: HttpRequest) -> HttpResponse:
    outbox.resume(user=request.user)
    messages.info(request, "Sending resumed: the next call is a probe.")
    return redirect("devices:upstream")


# ---------------------------------------------------------------- audit


class AuditFilterForm(forms.Form):
    user = forms.CharField(required=False, max_length=150)
    verb = forms.ChoiceField(required=False, choices=[("", "Any")] + list(AuditEntry.Verb.choices))
    since = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    device = forms.CharField(required=False, max_length=253)


def _audit_entries(params) -> tuple[AuditFilterForm, object]:
    form = AuditFilterForm(params)
    entries = AuditEntry.objects.all()
    if form.is_valid():
        data = form.cleaned_data
        if data["user"]:
            entries = entries.filter(username__icontains=data["user"])
        if data["verb"]:
            entries = entries.filter(verb=data["verb"])
        if data["device"]:
            entries = entries.filter(device_name__icontains=data["device"])
        if data["since"]:
            entries = entries.filter(at__date__gte=data["since"])
        if data["until"]:
            entries = entries.filter(at__date__lte=data["until"])
    return form, entries


@require_GET
@login_required
@permission_required("devices.view_device", raise_exception=True)
def audit_log(request: HttpRequest) -> HttpResponse:
    form, entries = _audit_entries(request.GET)
    page = Paginator(entries, 50).get_page(request.GET.get("page"))
    return render(request, "devices/audit_log.html", {"form": form, "page": page})


@require_GET
@login_required
@permission_required("devices.view_device", raise_exception=True)
def audit_export(request: HttpRequest) -> StreamingHttpResponse:
    _, entries = _audit_entries(request.GET)
    writer = csv.writer(Echo(), lineterminator="\r\n")

    def rows():
        yield writer.writerow(["time", "user", "verb", "action", "device", "action_id", "bulk_job_id", "detail"])
        for e in entries.iterator(chunk_size=2000):
            values = [e.at.isoformat(), e.username, e.verb, e.kind, e.device_name, e.action_id or "", e.bulk_job_id or "", e.detail]
            yield writer.writerow([escape_cell(str(v)) for v in values])

    response = StreamingHttpResponse(rows(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="audit-{timezone.now():%Y%m%d-%H%M%S}.csv"'
    return response
