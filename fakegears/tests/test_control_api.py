"""The /_sim/ control API: stats, request log (redacted), devices, reset, expire-tokens."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import requests

from fakegears.config import DEMO_CLIENT_SECRET
from fakegears.server import RunningSimulator
from fakegears.tests.support import HTTP_TIMEOUT, GearsClient, fetch_token

SimFactory = Callable[..., RunningSimulator]
ClientFactory = Callable[[RunningSimulator], GearsClient]


def test_stats_count_requests_per_endpoint_and_status(client: GearsClient) -> None:
    mac = client.sim.state.devices[0].macs[0]
    client.remediation(mac)
    client.remediation(mac)
    client.action(mac, "reboot")
    client.request("GET", "/o/api/v2.2/devices", with_token=False)
    stats = client.stats()
    by_endpoint = stats["requests_by_endpoint"]
    assert by_endpoint["GET /o/api/v2.2/devices/:value/remediation"] == {"200": 2}
    assert by_endpoint["POST /o/api/v2/devices/:id/action"] == {"400": 1}
    assert by_endpoint["GET /o/api/v2.2/devices"] == {"401": 1}
    assert by_endpoint["POST /o/oauth/token"] == {"200": 1}
    assert stats["requests_total"] == 5


def test_stats_report_429s_token_grants_and_the_window_measure(
    start_sim: SimFactory, client_for: ClientFactory
) -> None:
    client = client_for(start_sim(limit=3, window=30))
    fetch_token(client.sim)
    for _ in range(5):
        client.list_devices()
    stats = client.stats()
    assert stats["rate_limited"] == 2
    assert stats["token_grants"] == 2
    assert stats["token_grants_by_type"] == {"client_credentials": 2}
    assert stats["max_accepted_in_window"] == 3
    assert stats["max_accepted_in_window_by_key"] == {"account": 3}
    assert (stats["limit"], stats["window"], stats["per_endpoint"]) == (3, 30.0, False)


def test_request_log_entries_have_time_method_path_redacted_query_and_status(client: GearsClient) -> None:
    mac = client.sim.state.devices[0].macs[0]
    client.remediation(mac, opt=0)
    entry = client.stats()["request_log"][-1]
    assert entry["method"] == "GET"
    assert entry["path"] == f"/o/api/v2.2/devices/{mac}/remediation"
    assert entry["query"] == {"access_token": "[redacted]", "opt": "0"}
    assert entry["status"] == 200
    assert isinstance(entry["time"], float)
    assert entry["endpoint"] == "/o/api/v2.2/devices/:value/remediation"
    assert entry["counted"] is True


def test_request_log_keeps_the_last_10000_by_default(start_sim: SimFactory) -> None:
    assert start_sim().state.request_log.maxlen == 10_000
    small = start_sim(request_log_size=3)
    for _ in range(5):
        requests.get(small.base_url + "/o/api/v2.2/devices", timeout=HTTP_TIMEOUT)
    assert len(requests.get(small.base_url + "/_sim/stats", timeout=HTTP_TIMEOUT).json()["request_log"]) == 3


def test_control_api_is_not_logged_and_not_rate_limited(
    start_sim: SimFactory, client_for: ClientFactory
) -> None:
    client = client_for(start_sim(limit=1, window=30))
    for _ in range(10):
        assert client.control("GET", "health").status_code == 200
        assert "X-RateLimit-Limit" not in client.control("GET", "stats").headers
    assert [e["path"] for e in client.stats()["request_log"]] == ["/o/oauth/token"]


def test_devices_shows_exemption_mode_and_renewal_count(client: GearsClient) -> None:
    device = next(d for d in client.sim.state.devices if d.persistent_agent)
    client.action(device.macs[0], "dhcprenew")
    client.action(device.macs[0], "exempt_critical")
    listed = client.control("GET", "devices").json()["devices"]
    assert len(listed) == 40
    entry = next(d for d in listed if d["hwid"] == device.hwid)
    assert entry["exempt"] == "critical"
    assert entry["dhcp_renewals"] == 1
    assert entry["macs"] == device.macs
    assert {"hostname", "issues", "persistent_agent", "owner_name", "owner_email"} <= set(entry)


def test_device_count_and_seed_come_from_the_config(start_sim: SimFactory) -> None:
    sim = start_sim(devices=7, seed=99)
    listed = requests.get(sim.base_url + "/_sim/devices", timeout=HTTP_TIMEOUT).json()["devices"]
    assert len(listed) == 7
    from fakegears.data import generate_devices

    assert [d["hwid"] for d in listed] == [d.hwid for d in generate_devices(99, 7)]


def test_reset_clears_stats_log_faults_and_window_but_keeps_devices_and_tokens(
    start_sim: SimFactory, client_for: ClientFactory
) -> None:
    client = client_for(start_sim(limit=2, window=30))
    device = next(d for d in client.sim.state.devices if d.exempt == "none")
    client.action(device.macs[0], "exempt_all")
    client.control("POST", "faults", {"latency": 0.01, "remediation_link_override": "x"})
    client.list_devices()
    assert client.list_devices().status_code == 429
    response = client.control("POST", "reset")
    assert response.status_code == 200
    stats = client.stats()
    assert stats["request_log"] == []
    assert stats["requests_by_endpoint"] == {}
    assert stats["rate_limited"] == 0
    assert stats["max_accepted_in_window"] == 0
    assert stats["faults"]["latency"] == 0.0
    assert stats["faults"]["remediation_link_override"] is None
    assert client.list_devices().status_code == 200  # window cleared, token kept
    entry = next(d for d in client.control("GET", "devices").json()["devices"] if d["hwid"] == device.hwid)
    assert entry["exempt"] == "all"


@pytest.mark.parametrize(
    ("method", "name"), [("GET", "reset"), ("GET", "expire-tokens"), ("POST", "stats"), ("DELETE", "faults")]
)
def test_control_endpoints_reject_wrong_methods(client: GearsClient, method: str, name: str) -> None:
    assert client.control(method, name).status_code == 405


def test_unknown_control_endpoint_is_404(client: GearsClient) -> None:
    assert client.control("GET", "nothing").status_code == 404


def test_secrets_never_appear_in_stats_log_or_stderr(
    start_sim: SimFactory, client_for: ClientFactory, capfd: pytest.CaptureFixture[str]
) -> None:
    client = client_for(start_sim(static_token="static-secret-token", log_requests=True, limit=3, window=30))
    mac = client.sim.state.devices[0].macs[0]
    client.remediation(mac)
    client.action(mac, "reboot")
    client.request(
        "GET", "/o/api/v2.2/devices", with_token=False, params={"access_token": "static-secret-token"}
    )
    requests.get(
        client.base_url + "/o/oauth/token",
        params={
            "grant_type": "client_credentials",
            "client_id": "gearsdash-demo",
            "client_secret": DEMO_CLIENT_SECRET,
        },
        timeout=HTTP_TIMEOUT,
    )
    for _ in range(3):
        client.list_devices()  # includes 429s
    stats_text = requests.get(client.base_url + "/_sim/stats", timeout=HTTP_TIMEOUT).text
    captured = capfd.readouterr()
    for secret in (client.token, "static-secret-token", DEMO_CLIENT_SECRET):
        assert secret not in stats_text
        assert secret not in captured.err
        assert secret not in captured.out
    # log_requests writes one redacted line per request instead of wsgiref's raw line.
    assert "access_token=[redacted]" in captured.err
    assert "client_secret=[redacted]" in captured.err


def test_no_per_request_stderr_lines_by_default(
    client: GearsClient, capfd: pytest.CaptureFixture[str]
) -> None:
    client.list_devices()
    client.request("GET", "/o/api/v2.2/devices", with_token=False)
    assert capfd.readouterr().err == ""
