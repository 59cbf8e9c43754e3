"""The in-process server, the WSGI app on its own, and the public interface names."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from dataclasses import fields
from typing import Any

import pytest
import requests

from fakegears.app import create_app
from fakegears.server import RunningSimulator, SimulatorConfig, start_simulator
from fakegears.tests.support import HTTP_TIMEOUT

SimFactory = Callable[..., RunningSimulator]


def test_simulator_config_has_every_documented_setting() -> None:
    names = {f.name for f in fields(SimulatorConfig)}
    assert {
        "host",
        "port",
        "seed",
        "devices",
        "limit",
        "window",
        "per_endpoint",
        "client_id",
        "client_secret",
        "token_lifetime",
        "static_token",
        "public_url",
        "strict_ids",
        "remediation_unknown_404",
        "error_rate",
        "latency",
        "hang_rate",
        "hang_seconds",
        "down",
        "fail_next",
        "hang_next",
        "remediation_link_override",
        "limit_token_endpoint",
    } <= names
    defaults = SimulatorConfig()
    assert (defaults.host, defaults.port, defaults.limit, defaults.window) == ("127.0.0.1", 0, 10, 60.0)
    assert (defaults.client_id, defaults.client_secret) == ("gearsdash-demo", "gearsdash-demo-secret")
    assert defaults.token_lifetime == 43199
    assert defaults.hang_seconds == 30


def test_start_simulator_listens_on_loopback_ephemeral_port(start_sim: SimFactory) -> None:
    sim = start_sim()
    assert sim.base_url == f"http://127.0.0.1:{sim.port}"
    assert sim.port > 0
    assert requests.get(sim.base_url + "/_sim/health", timeout=HTTP_TIMEOUT).json() == {"ok": True}
    assert sim.state.devices and sim.state.request_log is not None


def test_context_manager_stops_the_server() -> None:
    with start_simulator(SimulatorConfig()) as sim:
        base_url = sim.base_url
        assert requests.get(base_url + "/_sim/health", timeout=HTTP_TIMEOUT).status_code == 200
    with pytest.raises(requests.exceptions.ConnectionError):
        requests.get(base_url + "/_sim/health", timeout=2)


def test_accept_connections_after_stop_is_refused(start_sim: SimFactory) -> None:
    sim = start_sim()
    sim.stop()
    with pytest.raises(RuntimeError):
        sim.accept_connections()


def test_two_simulators_are_independent(start_sim: SimFactory) -> None:
    first, second = start_sim(limit=1, window=30), start_sim(limit=1, window=30)
    assert first.port != second.port
    assert first.state is not second.state


def test_invalid_config_is_rejected() -> None:
    for bad in ({"limit": 0}, {"window": 0}, {"error_rate": 1.5}, {"devices": -1}, {"token_lifetime": 0}):
        with pytest.raises(ValueError):
            start_simulator(SimulatorConfig(**bad))


def test_unknown_paths_are_404(start_sim: SimFactory) -> None:
    sim = start_sim()
    assert requests.get(sim.base_url + "/nothing/here", timeout=HTTP_TIMEOUT).status_code == 404


def call_wsgi(
    app: Any, method: str, path: str, query: str = "", body: bytes = b"", host: str = "sim.test:80"
) -> tuple[str, dict[str, str], bytes]:
    environ = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "QUERY_STRING": query,
        "CONTENT_LENGTH": str(len(body)),
        "CONTENT_TYPE": "application/x-www-form-urlencoded",
        "HTTP_HOST": host,
        "SERVER_NAME": "sim.test",
        "SERVER_PORT": "80",
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(body),
    }
    captured: dict[str, Any] = {}

    def start_response(status: str, headers: list[tuple[str, str]]) -> None:
        captured["status"], captured["headers"] = status, dict(headers)

    chunks = app(environ, start_response)
    return captured["status"], captured["headers"], b"".join(chunks)


def test_create_app_is_a_plain_wsgi_callable() -> None:
    app = create_app(SimulatorConfig(limit=5, window=60))
    status, headers, body = call_wsgi(
        app,
        "POST",
        "/o/oauth/token",
        body=b"grant_type=client_credentials&client_id=gearsdash-demo&client_secret=gearsdash-demo-secret",
    )
    assert status == "200 OK"
    token = json.loads(body)["access_token"]
    device = app.state.devices[0]
    status, headers, body = call_wsgi(
        app, "GET", f"/o/api/v2.2/devices/{device.macs[0]}/remediation", f"access_token={token}"
    )
    assert status == "200 OK"
    assert headers["X-RateLimit-Limit"] == "5"
    assert headers["Content-Type"] == "application/json"


def test_create_app_without_server_builds_links_from_the_host_header() -> None:
    app = create_app(SimulatorConfig())
    _, _, body = call_wsgi(
        app,
        "GET",
        "/o/oauth/token",
        "grant_type=client_credentials&client_id=gearsdash-demo&client_secret=gearsdash-demo-secret",
    )
    token = json.loads(body)["access_token"]
    device = next(d for d in app.state.devices if d.issues)
    _, _, body = call_wsgi(
        app, "GET", f"/o/api/v2.2/devices/{device.hwid}/remediation", f"access_token={token}&opt=1"
    )
    assert json.loads(body)["remediation_link"].startswith("http://sim.test:80/gears/remediation/")


def test_create_app_defaults_to_the_demo_config() -> None:
    app = create_app()
    assert len(app.state.devices) == 40
    assert app.state.config.limit == 10


def test_a_simulator_bug_answers_500_json_with_rate_headers(
    start_sim: SimFactory, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    sim = start_sim(static_token="bug-test-token")

    def broken_lookup(value: str, opt: int) -> None:
        raise RuntimeError("simulated bug")

    monkeypatch.setattr(sim.state, "find_device", broken_lookup)
    response = requests.get(
        sim.base_url + "/o/api/v2.2/devices/00:0c:29:f2:7a:29/remediation",
        params={"access_token": "bug-test-token"},
        timeout=HTTP_TIMEOUT,
    )
    assert response.status_code == 500
    assert response.json() == {"result": 0, "msg": "Internal simulator error"}
    assert "X-RateLimit-Limit" in response.headers
    assert requests.get(sim.base_url + "/_sim/health", timeout=HTTP_TIMEOUT).status_code == 200
    err = capfd.readouterr().err
    assert "simulated bug" in err
    assert "bug-test-token" not in err
