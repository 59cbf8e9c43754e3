"""Constants and helpers shared by the upstream client tests (credentials, simulator control, leak checks)."""

from __future__ import annotations

import traceback

import requests

CLIENT_ID = "gearsdash-demo"
CLIENT_SECRET = "gearsdash-demo-secret"
STATIC_TOKEN = "static-9f1c2b7e-5d4a-4c3b-8a2e-1f0d9c8b7a6e"


def control(sim, method, name, body=None):
    response = requests.request(method, f"{sim.base_url}/_sim/{name}", json=body, timeout=5)
    assert response.status_code == 200, response.text
    return response.json()


def api_log(sim):
    """What the simulator received on /o/api/ (query values of secrets redacted)."""
    entries = control(sim, "GET", "stats")["request_log"]
    return [entry for entry in entries if entry["path"].startswith("/o/api/")]


def sim_device(sim, hwid):
    return next(device for device in control(sim, "GET", "devices")["devices"] if device["hwid"] == hwid)


def pick(sim, condition):
    return next(device for device in sim.state.devices if condition(device))


def request_lines(caplog):
    """urllib3's DEBUG request lines: the request target exactly as sent."""
    return [r.getMessage() for r in caplog.records if r.name == "urllib3.connectionpool"]


def assert_no_leak(error, caplog, *secrets):
    texts = [str(error), repr(error), "".join(traceback.format_exception(error)), caplog.text]
    texts += [record.getMessage() for record in caplog.records]
    for secret in secrets:
        assert len(secret) > 8
        for text in texts:
            assert secret not in text
    assert error.__cause__ is None and error.__suppress_context__
