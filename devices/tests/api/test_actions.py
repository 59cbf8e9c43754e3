"""/api/v1/actions/: queued through the outbox (202, Location, position, ETA), followed, cancelled, retried;
the remediation link as stored; the audit log read with the page's filters."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from devices.cloudsync import pages
from devices.models import Action, ActionKind, AuditEntry, CloudSync, RemediationState, UpstreamAttempt
from devices.tests.api.conftest import bearer

ACTIONS = "/api/v1/actions/"


@pytest.fixture
def operator_api(client, operator, make_token, settings):
    settings.GEARS_KICK_DRAINER = False
    _, plain = make_token(operator, ["devices:read", "actions:write", "exemptions:write", "remediation:read", "audit:read"])
    client.defaults.update(bearer(plain))
    return client


def post(client, body):
    return client.post(ACTIONS, body, content_type="application/json")


def test_queueing_an_action_answers_202_with_where_to_follow_it(operator_api, sample_device, make_device):
    ahead = make_device("ws-ahead", hwid="C" * 16)
    post(operator_api, {"device": ahead.pk, "kind": "dhcprenew"})
    queued = post(operator_api, {"device": sample_device.pk, "kind": "dhcprenew"})
    assert queued.status_code == 202
    body = queued.json()
    assert (body["status"], body["queue_position"]) == ("queued", 1)
    assert body["eta"] is not None
    followed = operator_api.get(queued["Location"])
    assert followed.status_code == 200 and followed.json()["id"] == body["id"]
    action = Action.objects.get(pk=body["id"])
    assert (action.device, action.kind, action.requested_by.username) == (sample_device, "dhcprenew", "otto")
    assert AuditEntry.objects.filter(verb=AuditEntry.Verb.QUEUED, action=action).exists()


def test_the_same_action_twice_is_queued_once(operator_api, sample_device):
    first = post(operator_api, {"device": sample_device.pk, "kind": "dhcprenew"}).json()
    second = post(operator_api, {"device": sample_device.pk, "kind": "dhcprenew"}).json()
    assert first["id"] == second["id"]
    assert Action.objects.count() == 1


@pytest.mark.parametrize("body, field", [
    ({"device": 999999, "kind": "dhcprenew"}, "device"),
    ({"device": 1, "kind": "sync_page"}, "kind"),
    ({"device": "one", "kind": "dhcprenew"}, "device"),
    ({"kind": "dhcprenew"}, "device"),
])
def test_a_bad_action_request_is_a_400_and_queues_nothing(operator_api, sample_device, body, field):
    refused = post(operator_api, body)
    assert refused.status_code == 400
    assert field in refused.json()["errors"]
    assert not Action.objects.exists()


def test_an_exemption_needs_the_exemptions_scope_and_a_renewal_the_actions_scope(client, operator, make_token,
                                                                                 sample_device, settings):
    settings.GEARS_KICK_DRAINER = False
    _, actions_only = make_token(operator, ["actions:write"])
    _, exemptions_only = make_token(operator, ["exemptions:write"])
    exempt = {"device": sample_device.pk, "kind": "exempt_all"}
    renew = {"device": sample_device.pk, "kind": "dhcprenew"}
    assert client.post(ACTIONS, exempt, content_type="application/json", **bearer(actions_only)).status_code == 403
    assert client.post(ACTIONS, renew, content_type="application/json", **bearer(exemptions_only)).status_code == 403
    assert client.post(ACTIONS, exempt, content_type="application/json", **bearer(exemptions_only)).status_code == 202
    assert client.post(ACTIONS, renew, content_type="application/json", **bearer(actions_only)).status_code == 202


def test_a_waiting_action_is_cancelled_once_then_409(operator_api, sample_device):
    queued = post(operator_api, {"device": sample_device.pk, "kind": "dhcprenew"}).json()
    cancelled = operator_api.post(f"{ACTIONS}{queued['id']}/cancel/")
    assert (cancelled.status_code, cancelled.json()["status"]) == (200, "cancelled")
    again = operator_api.post(f"{ACTIONS}{queued['id']}/cancel/")
    assert again.status_code == 409
    assert again["Content-Type"] == "application/problem+json"


def test_a_cancelled_action_is_retried_as_a_new_one_and_a_waiting_one_cannot_be(operator_api, sample_device):
    queued = post(operator_api, {"device": sample_device.pk, "kind": "dhcprenew"}).json()
    assert operator_api.post(f"{ACTIONS}{queued['id']}/retry/").status_code == 409
    operator_api.post(f"{ACTIONS}{queued['id']}/cancel/")
    retried = operator_api.post(f"{ACTIONS}{queued['id']}/retry/")
    assert retried.status_code == 202
    assert retried.json()["id"] != queued["id"] and retried.json()["status"] == "queued"


def test_a_sync_page_call_is_not_an_action_a_script_can_see(operator_api, db):
    pages.start_sync(CloudSync.Trigger.COMMAND)
    page_call = Action.objects.get(kind=ActionKind.SYNC_PAGE)
    assert operator_api.get(f"{ACTIONS}{page_call.pk}/").status_code == 404


def test_the_remediation_link_is_the_stored_one_with_its_age_and_calls_nothing(operator_api, sample_device):
    fetched = timezone.now() - timedelta(minutes=5)
    type(sample_device).objects.filter(pk=sample_device.pk).update(
        remediation_state=RemediationState.LINK, remediation_link="https://gears.example/r/abc",
        remediation_fetched_at=fetched)
    body = operator_api.get(f"/api/v1/devices/{sample_device.pk}/remediation/").json()
    assert (body["state"], body["link"], body["stale"], body["fetch"]) == ("link", "https://gears.example/r/abc",
                                                                          False, None)
    assert 299 <= body["age_seconds"] <= 330
    assert not Action.objects.exists() and not UpstreamAttempt.objects.exists()


def test_a_fresh_remediation_fetch_is_a_queued_action_the_link_then_names(operator_api, sample_device):
    queued = post(operator_api, {"device": sample_device.pk, "kind": "remediation"}).json()
    body = operator_api.get(f"/api/v1/devices/{sample_device.pk}/remediation/").json()
    assert (body["state"], body["age_seconds"], body["stale"], body["fetch"]) == ("unknown", None, True, queued["id"])


def test_the_audit_log_is_read_newest_first_with_the_pages_filters(operator_api, sample_device, make_device):
    post(operator_api, {"device": sample_device.pk, "kind": "dhcprenew"})
    entries = operator_api.get("/api/v1/audit/", {"verb": "queued"}).json()["results"]
    assert [(e["verb"], e["device_name"], e["username"]) for e in entries] == [("queued", "ws-042", "otto")]
    everything = operator_api.get("/api/v1/audit/").json()["results"]
    assert [e["id"] for e in everything] == sorted((e["id"] for e in everything), reverse=True)
    refused = operator_api.get("/api/v1/audit/", {"since": "yesterday"})
    assert refused.status_code == 400 and "since" in refused.json()["errors"]
