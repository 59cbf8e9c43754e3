"""/healthz: a load balancer's probe, without a login, that says only what it must."""

from __future__ import annotations

import json
import logging
import socket
import subprocess
import sys
from datetime import timedelta

import pytest
from django.db import connection

from devices import outbox
from devices.models import Action, Device
from devices.tests.launchers import free_port as closed_port  # nothing listens once it is free
from devices.tests.test_settings_env import ROOT, clean_env

# Every key the body may hold: nothing else (no host, URL, error text or count) may appear.
BODY_KEYS = {"status", "database", "broker", "outbox"}
OUTBOX_KEYS = {"last_drain_age_s", "oldest_due_age_s", "paused", "pause_kind", "stalled"}


def probe(client):
    response = client.get("/healthz")
    return response, json.loads(response.content)


def test_a_healthy_node_answers_200_without_a_login(client, db):
    response, body = probe(client)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert "no-cache" in response["Cache-Control"]
    assert body["status"] == "ok" and body["database"] == "ok" and body["broker"] == "ok"
    assert set(body) == BODY_KEYS and set(body["outbox"]) == OUTBOX_KEYS
    assert body["outbox"] == {"last_drain_age_s": None, "oldest_due_age_s": None, "paused": False,
                              "pause_kind": None, "stalled": False}


def test_the_probe_is_cheap(client, db, django_assert_max_num_queries):
    with django_assert_max_num_queries(5):
        probe(client)


def test_the_probe_over_plain_http_is_not_redirected_to_https_in_production(tmp_path):
    # The production settings (HTTPS on): the load balancer probes each node over plain HTTP.
    script = ("from django.test import Client; c = Client(HTTP_HOST='localhost'); "
              "print(c.get('/healthz').status_code, c.get('/accounts/login/').status_code)")
    result = subprocess.run([sys.executable, "manage.py", "shell", "-c", script], cwd=ROOT,
                            env=clean_env(tmp_path), capture_output=True, text=True, timeout=60)
    probe_status, login_status = result.stdout.split()[-2:]
    assert login_status == "301"  # everything else goes to HTTPS
    assert probe_status == "503"  # answered (no tables in this empty database), not redirected


def probe_in_a_process(tmp_path, **env) -> tuple[int, dict]:
    """/healthz answered by a fresh process with the given environment."""
    script = ("from django.test import Client; r = Client(HTTP_HOST='localhost').get('/healthz'); "
              "print(r.status_code, r.content.decode())")
    result = subprocess.run([sys.executable, "manage.py", "shell", "-c", script], cwd=ROOT,
                            env=clean_env(tmp_path, DJANGO_HTTPS="0", **env), capture_output=True, text=True, timeout=60)
    status, _, body = result.stdout.strip().splitlines()[-1].partition(" ")
    return int(status), json.loads(body)


@pytest.mark.parametrize("database_url", [
    "sqlite:////nonexistent/directory/gearsdash.sqlite3",  # a file that cannot be opened
    "postgres://postgres@127.0.0.1:{port}/gearsdash",  # a server that does not answer
])
def test_a_database_that_cannot_be_reached_answers_503(tmp_path, database_url):
    status, body = probe_in_a_process(tmp_path, DATABASE_URL=database_url.format(port=closed_port()))
    assert status == 503
    assert body == {"status": "unavailable", "database": "down", "broker": "down"}  # the ORM broker is the database


def test_a_redis_broker_that_cannot_be_reached_answers_503(client, db, settings):
    settings.Q_CLUSTER = {**settings.Q_CLUSTER, "redis": f"redis://127.0.0.1:{closed_port()}/0"}
    settings.Q_CLUSTER.pop("orm", None)
    response, body = probe(client)
    assert response.status_code == 503
    assert (body["status"], body["database"], body["broker"]) == ("unavailable", "ok", "down")
    assert str(settings.Q_CLUSTER["redis"].split(":")[2]) not in response.content.decode()


def test_a_reachable_redis_broker_is_reported_ok(client, db, settings, redis_url):
    settings.Q_CLUSTER = {**settings.Q_CLUSTER, "redis": redis_url}
    response, body = probe(client)
    assert response.status_code == 200 and body["broker"] == "ok"


def test_paused_sending_is_reported_with_its_kind_and_still_answers_200(client, db, settings):
    outbox.breaker.pause("3 failures in a row, the last: connection refused at secret-host.example:8443", 600)
    response, body = probe(client)
    assert response.status_code == 200
    assert body["status"] == "degraded"
    assert body["outbox"]["paused"] is True and body["outbox"]["pause_kind"] == "failures"
    assert "secret-host" not in response.content.decode()  # the kind, never the message


def test_a_rate_limited_pause_is_reported_as_its_kind(client, db):
    outbox.breaker.pause("429", 60, kind=outbox.breaker.PauseKind.RATE_LIMITED)
    assert probe(client)[1]["outbox"]["pause_kind"] == "rate_limited"


def test_an_old_backlog_with_no_call_is_reported_stalled(client, operator, frozen_clock):
    device = Device.objects.create(name="ws-001", hwid="HWID000000000001")
    queued = outbox.enqueue(device, "dhcprenew", user=operator).action
    Action.objects.filter(pk=queued.pk).update(not_before=frozen_clock - timedelta(minutes=20))
    response, body = probe(client)
    assert response.status_code == 200
    assert body["outbox"]["oldest_due_age_s"] == pytest.approx(1200, abs=1)
    assert body["outbox"]["last_drain_age_s"] is None
    assert body["outbox"]["stalled"] is True and body["status"] == "degraded"


def test_work_due_a_moment_ago_is_not_stalled(client, operator, frozen_clock):
    device = Device.objects.create(name="ws-001", hwid="HWID000000000001")
    outbox.enqueue(device, "dhcprenew", user=operator)
    body = probe(client)[1]
    assert body["outbox"]["oldest_due_age_s"] == 0 and body["outbox"]["stalled"] is False
    assert body["status"] == "ok"


def test_the_body_names_no_host_url_or_count(client, db, settings):
    settings.GEARS_BASE_URL = "https://gears.internal.example:8443"
    settings.GEARS_ACCESS_TOKEN = "tok-very-secret"
    Device.objects.bulk_create(Device(name=f"ws-{i}", hwid=f"HWID{i:012d}") for i in range(3))
    text = probe(client)[0].content.decode()
    for secret in ("gears.internal", "tok-very-secret", socket.gethostname(), connection.settings_dict["NAME"]):
        assert str(secret) not in text


def test_probes_are_not_logged_at_info(client, db, caplog):
    with caplog.at_level(logging.INFO):
        for _ in range(5):
            probe(client)
    assert [r for r in caplog.records if r.levelno >= logging.INFO] == []
