"""The API's resources: devices (list, read, create, update, delete) and the cloud's budget.

Devices are written the page's way: validated by DeviceForm, saved and
audited by devices.inventory. The budget is devices.outbox.budget_view(), the
read-model the Upstream page shows; nothing here calls the cloud.
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_not_required
from django.db import IntegrityError
from django.db.models import QuerySet
from django.http import HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404
from django.utils.html import strip_tags
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import generics, status
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import CursorPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from devices import outbox
from devices.api.idempotency import PARAMETER as IDEMPOTENCY
from devices.api.idempotency import idempotent
from devices.api.problems import PROBLEM, TITLES
from devices.api.serializers import BudgetSerializer, DeviceSerializer, DeviceWriteSerializer, ProblemSerializer
from devices.filters import DeviceFilterSet
from devices.forms import DeviceForm
from devices.inventory import delete_device, save_device
from devices.models import ApiScope, Device

# Every error is a problem document (devices.api.problems), in its own media type.
ERRORS = {(code, PROBLEM): ProblemSerializer for code in (400, 401, 403, 404, 405, 406, 409, 415, 422, 429)}
READ, WRITE = ApiScope.DEVICES_READ, ApiScope.DEVICES_WRITE
DEVICE_SCOPES = {"GET": {READ}, "HEAD": {READ}, "OPTIONS": {READ}, "*": {WRITE}}


class DeviceCursor(CursorPagination):
    """Keyset pages in id order: a page costs the same at 100,000 devices as at 100 (no OFFSET)."""

    ordering = "id"
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500


# The page's selecting parameters but its sort: cursor pages need one fixed, unique order.
FILTER_PARAMETERS = [name for name in DeviceFilterSet.SELECTING if name != "sort"]


def device_filter(query, field: str | None = None) -> DeviceFilterSet:
    """The list's FilterSet for `query`, valid; a parameter that does not validate is a 400 (under `field`, if given)."""
    filterset = DeviceFilterSet({name: str(query[name]) for name in FILTER_PARAMETERS if name in query})
    if not filterset.is_valid():
        errors = {name: list(errors) for name, errors in filterset.errors.items()}
        raise ValidationError({field: [f"{name}: {m}" for name, ms in errors.items() for m in ms]} if field else errors)
    return filterset


def filtered_devices(query) -> QuerySet[Device]:
    """The devices the list's FilterSet selects for `query`, in no order yet."""
    return device_filter(query).qs.order_by()


def _form_errors(form: DeviceForm) -> dict[str, list[str]]:
    # The form's messages link the device that owns an identifier: plain text here.
    return {("non_field_errors" if name == "__all__" else name): [strip_tags(message) for message in messages]
            for name, messages in form.errors.items()}


def _write(request: Request, device: Device | None) -> Device:
    body = DeviceWriteSerializer(data=request.data)
    body.is_valid(raise_exception=True)
    form = DeviceForm(body.as_form_data(), instance=device)
    if not form.is_valid():
        raise ValidationError(_form_errors(form))
    try:
        return save_device(device, form.record(), user=request.user)
    except IntegrityError:
        form.full_clean()
        raise ValidationError(
            _form_errors(form) or {"non_field_errors": ["The device changed meanwhile; try again."]}) from None


@extend_schema_view(
    get=extend_schema(
        summary="List devices", operation_id="devices_list",
        parameters=[OpenApiParameter(name, OpenApiTypes.STR, description=str(DeviceFilterSet.base_filters[name].label))
                    for name in FILTER_PARAMETERS],
        responses={200: DeviceSerializer(many=True), **ERRORS},
    ),
    post=extend_schema(summary="Create a device", operation_id="devices_create", parameters=[IDEMPOTENCY], request=DeviceWriteSerializer,
                       responses={201: DeviceSerializer, **ERRORS}),
)
class DeviceList(generics.GenericAPIView):
    required_scopes = DEVICE_SCOPES
    serializer_class = DeviceSerializer
    pagination_class = DeviceCursor

    def get_queryset(self):
        return filtered_devices(self.request.query_params).prefetch_related("macs")

    def get(self, request: Request) -> Response:
        page = self.paginate_queryset(self.get_queryset().order_by("id"))
        return self.get_paginated_response(DeviceSerializer(page, many=True).data)

    @idempotent
    def post(self, request: Request) -> Response:
        device = _write(request, None)
        return Response(DeviceSerializer(Device.objects.prefetch_related("macs").get(pk=device.pk)).data,
                        status=status.HTTP_201_CREATED, headers={"Location": f"{request.path}{device.pk}/"})


@extend_schema_view(
    get=extend_schema(summary="Read a device", operation_id="devices_read", responses={200: DeviceSerializer, **ERRORS}),
    put=extend_schema(summary="Replace a device's values", operation_id="devices_update", request=DeviceWriteSerializer,
                      responses={200: DeviceSerializer, **ERRORS}),
    delete=extend_schema(summary="Delete a device", operation_id="devices_delete", responses={204: None, **ERRORS}),
)
class DeviceDetail(generics.GenericAPIView):
    required_scopes = DEVICE_SCOPES
    serializer_class = DeviceSerializer
    queryset = Device.objects.prefetch_related("macs")

    def _device(self, pk: int) -> Device:
        return get_object_or_404(self.get_queryset(), pk=pk)

    def get(self, request: Request, pk: int) -> Response:
        return Response(DeviceSerializer(self._device(pk)).data)

    def put(self, request: Request, pk: int) -> Response:
        device = _write(request, self._device(pk))
        return Response(DeviceSerializer(self._device(device.pk)).data)

    def delete(self, request: Request, pk: int) -> Response:
        delete_device(self._device(pk), user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class Budget(APIView):
    """The cloud's budget as the outbox sees it: what the API only ever queues into."""

    # Any token that may read devices may see the budget: it is what every script's ETA depends on.
    required_scopes = {READ}

    @extend_schema(summary="The cloud's request budget and the backlog", operation_id="budget_read", responses={200: BudgetSerializer, **ERRORS})
    def get(self, request: Request) -> Response:
        view = outbox.budget_view()
        return Response(BudgetSerializer({
            "limit": view.limit,
            "window_seconds": view.window,
            "used": view.used,
            "next_slot": view.bulk_slot,
            "click_slot": view.click_slot,
            "backlog_actions": view.backlog,
            "backlog_requests": view.backlog_calls,
            "drains_at": view.drained_at,
            "paused_until": view.blocked_until if view.paused else None,
            "pause_reason": view.block_reason if view.paused else "",
        }).data)


# Exempt from CSRF like every API view: a POST to no address is a 404, not the CSRF page.
@csrf_exempt
@login_not_required
def not_found(request, *args, **kwargs) -> HttpResponse:
    """No such API address: answered as a problem document, whoever asks."""
    body = {"type": "about:blank", "title": TITLES[404], "status": 404,
            "detail": "There is no API endpoint at this address; see /api/schema/."}
    return JsonResponse(body, status=404, content_type=PROBLEM)
