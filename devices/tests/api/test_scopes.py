"""Every endpoint × every scope × each role: a token does what its one scope allows, and only while its owner's role does."""

from __future__ import annotations

import pytest

from devices import outbox
from devices.models import Action, ApiScope, scopes_allowed
from devices.tests.api.conftest import bearer

ROLES = ["viewer", "operator", "admin_user"]

# (name, method, url template, body, the scope it needs)
ENDPOINTS = [
    ("list devices", "get", "/api/v1/devices/", None, "devices:read"),
    ("create a device", "post", "/api/v1/devices/", {"name": "new", "hwid": "N" * 16}, "devices:write"),
    ("read a device", "get", "/api/v1/devices/{device}/", None, "devices:read"),
    ("update a device", "put", "/api/v1/devices/{device}/", {"name": "renamed", "hwid": "D" * 16}, "devices:write"),
    ("delete a device", "delete", "/api/v1/devices/{device}/", None, "devices:write"),
    ("read remediation", "get", "/api/v1/devices/{device}/remediation/", None, "remediation:read"),
    ("queue a renewal", "post", "/api/v1/actions/", {"device": "{device}", "kind": "dhcprenew"}, "actions:write"),
    ("queue an exemption", "post", "/api/v1/actions/", {"device": "{device}", "kind": "exempt_all"}, "exemptions:write"),
    ("queue a remediation fetch", "post", "/api/v1/actions/", {"device": "{device}", "kind": "remediation"},
     "actions:write"),
    ("follow an action", "get", "/api/v1/actions/{waiting}/", None, "devices:read"),
    ("cancel an action", "post", "/api/v1/actions/{waiting}/cancel/", None, "actions:write"),
    ("retry an action", "post", "/api/v1/actions/{cancelled}/retry/", None, "actions:write"),
    ("queue a bulk job", "post", "/api/v1/bulk-jobs/", {"kind": "dhcprenew", "filter": {}}, "actions:write"),
    ("follow a bulk job", "get", "/api/v1/bulk-jobs/{job}/", None, "devices:read"),
    ("read a bulk job's results", "get", "/api/v1/bulk-jobs/{job}/results/", None, "devices:read"),
    ("cancel a bulk job", "delete", "/api/v1/bulk-jobs/{job}/", None, "actions:write"),
    ("read the budget", "get", "/api/v1/budget/", None, "devices:read"),
    ("read the audit log", "get", "/api/v1/audit/", None, "audit:read"),
]


def _fill(value, ids):
    if isinstance(value, str):
        return ids[value[1:-1]] if value.startswith("{") and value.endswith("}") else value
    if isinstance(value, dict):
        return {key: _fill(item, ids) for key, item in value.items()}
    return value


@pytest.fixture
def world(make_device, settings, admin_user):
    settings.GEARS_KICK_DRAINER = False
    device = make_device("ws-1", hwid="D" * 16)
    other = make_device("ws-2", hwid="E" * 16)
    waiting = outbox.enqueue(other, "dhcprenew", user=admin_user).action
    cancelled = outbox.enqueue(other, "exempt_critical", user=admin_user).action
    outbox.cancel(cancelled, user=admin_user)
    cancelled.kind = "dhcprenew"  # a renewal to retry: its scope is actions:write
    Action.objects.filter(pk=cancelled.pk).update(kind="dhcprenew", coalesce_key="dhcprenew-retry")
    job = outbox.enqueue_bulk([device.pk, other.pk], "unexempt", user=admin_user)
    Action.objects.filter(bulk_job=job).update(kind="dhcprenew")  # cancelling it needs actions:write
    job.__class__.objects.filter(pk=job.pk).update(kind="dhcprenew")
    return {"device": device.pk, "waiting": waiting.pk, "cancelled": cancelled.pk, "job": job.pk}


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("scope", ApiScope.values)
@pytest.mark.parametrize("name, method, url, body, needs", ENDPOINTS, ids=[e[0] for e in ENDPOINTS])
def test_a_single_scope_token_does_only_what_its_scope_and_role_allow(
        request, client, make_token, world, role, scope, name, method, url, body, needs):
    owner = request.getfixturevalue(role)
    _, plain = make_token(owner, [scope])
    call = getattr(client, method)
    kwargs = {"content_type": "application/json"} if body is not None else {}
    response = call(url.format(**world), _fill(body, world) if body is not None else None, **kwargs, **bearer(plain))
    allowed = scope == needs and scope in scopes_allowed(owner)
    if allowed:
        assert 200 <= response.status_code < 300, response.content
    else:
        assert response.status_code == 403, response.content
        assert response["Content-Type"] == "application/problem+json"
