"""Idempotency-Key: a repeat answers what the first did and queues nothing; another body is 422; in flight is 409."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import connection, connections
from django.test import Client
from django.utils import timezone

from devices.models import Action, BulkJob, IdempotentRequest
from devices.tests.api.conftest import bearer

ACTIONS = "/api/v1/actions/"


@pytest.fixture
def token_and_client(client, operator, make_token, settings):
    settings.GEARS_KICK_DRAINER = False
    token, plain = make_token(operator, ["devices:read", "actions:write", "exemptions:write"])
    client.defaults.update(bearer(plain))
    return token, client


def post(client, url, body, key):
    return client.post(url, body, content_type="application/json", HTTP_IDEMPOTENCY_KEY=key)


def test_the_same_key_and_body_answer_the_first_answer_and_queue_nothing_more(token_and_client, sample_device):
    _, api = token_and_client
    first = post(api, ACTIONS, {"device": sample_device.pk, "kind": "dhcprenew"}, "k-1")
    api.post(f"{ACTIONS}{first.json()['id']}/cancel/")  # were it queued again, a new action would appear
    again = post(api, ACTIONS, {"device": sample_device.pk, "kind": "dhcprenew"}, "k-1")
    assert (again.status_code, again["Location"], again.json()) == (202, first["Location"], first.json())
    assert again["Idempotent-Replayed"] == "true"
    assert Action.objects.count() == 1


def test_the_same_key_with_another_body_is_422_and_queues_nothing(token_and_client, sample_device):
    _, api = token_and_client
    post(api, ACTIONS, {"device": sample_device.pk, "kind": "dhcprenew"}, "k-2")
    other = post(api, ACTIONS, {"device": sample_device.pk, "kind": "exempt_all"}, "k-2")
    assert (other.status_code, other["Content-Type"]) == (422, "application/problem+json")
    assert list(Action.objects.values_list("kind", flat=True)) == ["dhcprenew"]


def test_a_repeat_while_the_first_is_in_flight_is_409(token_and_client, sample_device):
    token, api = token_and_client

    body = {"kind": "dhcprenew", "device_ids": [sample_device.pk]}
    first = post(api, "/api/v1/bulk-jobs/", body, "k-3")
    # The first request's row as it stands while that request runs: claimed, not answered yet.
    IdempotentRequest.objects.filter(key="k-3").update(status_code=None, body=None)
    repeat = post(api, "/api/v1/bulk-jobs/", body, "k-3")
    assert repeat.status_code == 409
    assert BulkJob.objects.count() == 1 and first.status_code == 202


def test_keys_belong_to_their_token_and_are_forgotten_after_a_day(token_and_client, operator, make_token,
                                                                   sample_device, client):
    token, api = token_and_client
    body = {"device": sample_device.pk, "kind": "dhcprenew"}
    first = post(api, ACTIONS, body, "k-4").json()
    api.post(f"{ACTIONS}{first['id']}/cancel/")
    _, other = make_token(operator, ["actions:write"], name="other")
    fresh = client.post(ACTIONS, body, content_type="application/json", HTTP_IDEMPOTENCY_KEY="k-4", **bearer(other))
    assert fresh.json()["id"] != first["id"], "another token's key is another key"
    IdempotentRequest.objects.filter(token=token).update(created_at=timezone.now() - timedelta(hours=24, seconds=1))
    Action.objects.filter(status="queued").update(status="cancelled")
    later = post(api, ACTIONS, body, "k-4")
    assert later.json()["id"] not in (first["id"], fresh.json()["id"])


def test_a_request_that_failed_frees_its_key(token_and_client, sample_device):
    _, api = token_and_client
    assert post(api, ACTIONS, {"device": 999999, "kind": "dhcprenew"}, "k-5").status_code == 400
    assert post(api, ACTIONS, {"device": sample_device.pk, "kind": "dhcprenew"}, "k-5").status_code == 202


@pytest.mark.parametrize("key", ["", "x" * 256, "tab\there"])
def test_a_key_that_is_not_one_is_a_400(token_and_client, sample_device, key):
    _, api = token_and_client
    refused = post(api, ACTIONS, {"device": sample_device.pk, "kind": "dhcprenew"}, key)
    assert refused.status_code == 400 and "Idempotency-Key" in refused.json()["errors"]
    assert not Action.objects.exists()


@pytest.mark.skipif(connection.vendor != "postgresql", reason="concurrent writers need PostgreSQL (DATABASE_URL)")
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_concurrent_posts_with_one_key_make_one_bulk_job(operator, make_token, make_device, settings):
    settings.GEARS_KICK_DRAINER = False
    device = make_device("ws-race", hwid="R" * 16)
    _, plain = make_token(operator, ["actions:write"])
    barrier, answers, errors = threading.Barrier(2), [], []

    def send() -> None:
        try:
            barrier.wait(timeout=30)
            response = Client().post("/api/v1/bulk-jobs/", {"kind": "dhcprenew", "device_ids": [device.pk]},
                                     content_type="application/json", HTTP_IDEMPOTENCY_KEY="race", **bearer(plain))
            answers.append((response.status_code, response.json()))
        except Exception as exc:  # pragma: no cover - reported by the assertion below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=send) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors
    assert BulkJob.objects.count() == 1
    codes = sorted(code for code, _ in answers)
    assert codes in ([202, 202], [202, 409])
    if codes == [202, 202]:
        assert answers[0][1]["id"] == answers[1][1]["id"], "the second is the first's answer replayed"
