"""Actions as resources: POST queues one through the outbox (202 and where to follow it), GET follows it,
cancel and retry while the outbox allows; a device's remediation link as last fetched; the audit log.

An exemption change needs exemptions:write, any other action actions:write: the
need depends on the body, so these views check it themselves (auth.demand).
"""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, status
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import CursorPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from devices import outbox, remediation
from devices.api.auth import demand
from devices.api.idempotency import PARAMETER as IDEMPOTENCY
from devices.api.idempotency import idempotent
from devices.api.problems import PROBLEM, problem
from devices.api.serializers import (
    ActionRequestSerializer,
    ActionSerializer,
    AuditEntrySerializer,
    RemediationSerializer,
)
from devices.api.views import ERRORS
from devices.filters import AuditFilterSet
from devices.models import EXEMPT_MODE_OF, Action, ApiScope, Device

CONFLICT = {(409, PROBLEM): ERRORS[(400, PROBLEM)]}


def scope_for(kind: str) -> str:
    return ApiScope.EXEMPTIONS_WRITE if kind in EXEMPT_MODE_OF else ApiScope.ACTIONS_WRITE


def queueing_request(request: Request, serializer_class) -> dict:
    """The validated body of a request that queues `kind`, once the token holds the scope that kind needs."""
    body = serializer_class(data=request.data)
    body.is_valid(raise_exception=True)
    demand(request, scope_for(body.validated_data["kind"]))
    return body.validated_data


def _action(pk: int) -> Action:
    # A sync's page calls concern no device: they are the outbox's own business, not a script's.
    return get_object_or_404(Action.objects.select_related("device"), pk=pk, device__isnull=False)


def _answer(request: Request, action: Action, code: int = status.HTTP_200_OK) -> Response:
    body = ActionSerializer(action, context={"budget": outbox.budget_view()}).data
    headers = {"Location": reverse("api-action-detail", args=[action.pk])} if code == status.HTTP_202_ACCEPTED else None
    return Response(body, status=code, headers=headers)


class ActionList(APIView):
    required_scopes: dict = {"POST": set()}  # the kind decides (scope_for)

    @extend_schema(summary="Queue an action for a device", operation_id="actions_create", parameters=[IDEMPOTENCY],
                   request=ActionRequestSerializer, responses={202: ActionSerializer, **ERRORS})
    @idempotent
    def post(self, request: Request) -> Response:
        data = queueing_request(request, ActionRequestSerializer)
        kind = data["kind"]
        device = Device.objects.filter(pk=data["device"]).first()
        if device is None:
            raise ValidationError({"device": ["There is no device with this id."]})
        # Coalescing as on the page: the same action already waiting is answered, not queued twice.
        queued = outbox.enqueue(device, kind, user=request.user)
        return _answer(request, queued.action, status.HTTP_202_ACCEPTED)


class ActionDetail(APIView):
    required_scopes = {ApiScope.DEVICES_READ}

    @extend_schema(summary="Follow an action", operation_id="actions_read", responses={200: ActionSerializer, **ERRORS})
    def get(self, request: Request, pk: int) -> Response:
        return _answer(request, _action(pk))


class ActionCancel(APIView):
    required_scopes: dict = {"POST": set()}

    @extend_schema(summary="Cancel a waiting action", operation_id="actions_cancel", parameters=[IDEMPOTENCY], request=None,
                   responses={200: ActionSerializer, **ERRORS, **CONFLICT})
    @idempotent
    def post(self, request: Request, pk: int) -> Response:
        action = _action(pk)
        demand(request, scope_for(action.kind))
        if not outbox.cancel(action, user=request.user):
            return _conflict(f"The action is {action.get_status_display().lower()}, no longer waiting; nothing changed.")
        return _answer(request, action)


class ActionRetry(APIView):
    required_scopes: dict = {"POST": set()}

    @extend_schema(summary="Queue a failed or cancelled action again", operation_id="actions_retry", parameters=[IDEMPOTENCY], request=None,
                   responses={202: ActionSerializer, **ERRORS, **CONFLICT})
    @idempotent
    def post(self, request: Request, pk: int) -> Response:
        action = _action(pk)
        demand(request, scope_for(action.kind))
        try:
            queued = outbox.retry(action, user=request.user)
        except ValueError:
            return _conflict(f"Only a failed or cancelled action can be retried; this one is "
                             f"{action.get_status_display().lower()}.")
        return _answer(request, queued.action, status.HTTP_202_ACCEPTED)


def _conflict(detail: str) -> Response:
    return problem(status.HTTP_409_CONFLICT, detail)


class Remediation(APIView):
    """The link as last fetched, with its age. A fresh fetch is a queued action (POST /actions/, kind remediation)."""

    required_scopes = {ApiScope.REMEDIATION_READ}

    @extend_schema(summary="A device's remediation link as last fetched", operation_id="remediation_read",
                   responses={200: RemediationSerializer, **ERRORS})
    def get(self, request: Request, pk: int) -> Response:
        device = get_object_or_404(Device, pk=pk)
        now = outbox.db_now()
        fetch = remediation.open_remediation_fetch(device)
        fetched = device.remediation_fetched_at
        return Response(RemediationSerializer({
            "device": device.pk, "state": device.remediation_state, "link": device.remediation_link,
            "fetched_at": fetched, "age_seconds": (now - fetched).total_seconds() if fetched else None,
            "stale": remediation.remediation_is_stale(device, now), "error": device.remediation_error,
            "fetch": fetch.pk if fetch else None,
        }).data)


class AuditCursor(CursorPagination):
    ordering = "-id"
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500


AUDIT_FILTERS = ["user", "verb", "since", "until", "device"]


class AuditList(generics.GenericAPIView):
    required_scopes = {ApiScope.AUDIT_READ}
    serializer_class = AuditEntrySerializer
    pagination_class = AuditCursor

    @extend_schema(summary="The audit log, newest first", operation_id="audit_list",
                   parameters=[OpenApiParameter(name, OpenApiTypes.STR) for name in AUDIT_FILTERS],
                   responses={200: AuditEntrySerializer(many=True), **ERRORS})
    def get(self, request: Request) -> Response:
        query = request.query_params
        filterset = AuditFilterSet({name: query[name] for name in AUDIT_FILTERS if name in query})
        if not filterset.is_valid():
            raise ValidationError({name: list(errors) for name, errors in filterset.errors.items()})
        page = self.paginate_queryset(filterset.qs.order_by("-id"))
        return self.get_paginated_response(AuditEntrySerializer(page, many=True).data)

