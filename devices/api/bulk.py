"""Bulk jobs as resources: one action over devices by ids or by the list's filter, followed, and cancelled.

Queued with the outbox's enqueue_bulk, as the page's bulk form does: at bulk
priority, coalesced per device, within the cloud's budget; DELETE cancels what
still waits and leaves what was sent with its result.
"""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from django.urls import reverse
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import generics, serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import CursorPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from devices import outbox
from devices.api.actions import queueing_request, scope_for
from devices.api.auth import demand
from devices.api.idempotency import PARAMETER as IDEMPOTENCY
from devices.api.idempotency import idempotent
from devices.api.serializers import BulkJobRequestSerializer, BulkJobSerializer, BulkResultSerializer
from devices.api.views import ERRORS, device_filter
from devices.models import Action, ApiScope, BulkJob, Device


def _selection(data) -> tuple[list[int], str]:
    if "device_ids" in data:
        wanted = list(dict.fromkeys(data["device_ids"]))
        found = set(Device.objects.filter(pk__in=wanted).values_list("pk", flat=True))
        unknown = [pk for pk in wanted if pk not in found]
        if unknown:
            raise ValidationError({"device_ids": [f"No device has the id(s) {', '.join(map(str, unknown[:20]))}"
                                                  f"{' and more' if len(unknown) > 20 else ''}; nothing was queued."]})
        return wanted, f"{len(wanted)} devices by id (API)"
    filterset = device_filter(data["filter"], field="filter")
    words = filterset.describe()
    ids = list(filterset.qs.order_by().values_list("pk", flat=True))
    return ids, (f"all devices where {words}" if words else "all devices (no filter)") + " (API)"


class BulkJobList(APIView):
    required_scopes: dict = {"POST": set()}  # the kind decides (scope_for)

    @extend_schema(summary="Queue one action for many devices", operation_id="bulk_jobs_create", parameters=[IDEMPOTENCY],
                   request=BulkJobRequestSerializer, responses={202: BulkJobSerializer, **ERRORS})
    @idempotent
    def post(self, request: Request) -> Response:
        data = queueing_request(request, BulkJobRequestSerializer)
        kind = data["kind"]
        ids, description = _selection(data)
        if not ids:
            raise ValidationError({"filter": ["No device matches this filter; nothing was queued."]})
        job = outbox.enqueue_bulk(ids, kind, user=request.user, description=description)
        return Response(BulkJobSerializer(job).data, status=status.HTTP_202_ACCEPTED,
                        headers={"Location": reverse("api-bulk-job-detail", args=[job.pk])})


class BulkJobDetail(APIView):
    required_scopes = {"GET": {ApiScope.DEVICES_READ}, "DELETE": set()}

    def _job(self, pk: int) -> BulkJob:
        return get_object_or_404(BulkJob.objects.select_related("created_by"), pk=pk)

    @extend_schema(summary="Follow a bulk job", operation_id="bulk_jobs_read",
                   responses={200: BulkJobSerializer, **ERRORS})
    def get(self, request: Request, pk: int) -> Response:
        return Response(BulkJobSerializer(self._job(pk)).data)

    @extend_schema(summary="Cancel what still waits of a bulk job", operation_id="bulk_jobs_cancel",
                   responses={200: inline_serializer("BulkCancelled", {"cancelled": serializers.IntegerField()}),
                              **ERRORS})
    def delete(self, request: Request, pk: int) -> Response:
        job = self._job(pk)
        demand(request, scope_for(job.kind))
        return Response({"cancelled": outbox.cancel_bulk(job, user=request.user)})


class ResultCursor(CursorPagination):
    ordering = "id"
    page_size = 100
    page_size_query_param = "page_size"
    max_page_size = 1000


class BulkJobResults(generics.GenericAPIView):
    required_scopes = {ApiScope.DEVICES_READ}
    serializer_class = BulkResultSerializer
    pagination_class = ResultCursor

    @extend_schema(summary="A bulk job's result per device", operation_id="bulk_jobs_results",
                   parameters=[OpenApiParameter("status", enum=Action.Status.values, required=False)],
                   responses={200: BulkResultSerializer(many=True), **ERRORS})
    def get(self, request: Request, pk: int) -> Response:
        job = get_object_or_404(BulkJob, pk=pk)
        wanted = request.query_params.get("status", "")
        if wanted and wanted not in Action.Status.values:
            raise ValidationError({"status": [f"Choose one of {', '.join(Action.Status.values)}."]})
        actions = job.actions.select_related("device")
        page = self.paginate_queryset(actions.filter(status=wanted) if wanted else actions)
        return self.get_paginated_response(BulkResultSerializer(page, many=True).data)
