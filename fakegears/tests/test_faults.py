"""Injected faults: 500s, malformed 200s, latency, hangs, down, refused connections; from config and /_sim/faults."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest
import requests

from fakegears.server import RunningSimulator
from fakegears.tests.support import HTTP_TIMEOUT, GearsClient, ManualClock, fetch_token

SimFactory = Callable[..., RunningSimulator]
ClientFactory = Callable[[RunningSimulator], GearsClient]


def test_fail_next_makes_exactly_the_next_k_api_requests_answer_500(client: GearsClient) -> None:
    assert client.control("POST", "faults", {"fail_next": 3}).json()["fail_next"] == 3
    responses = [client.list_devices() for _ in range(5)]
    assert [r.status_code for r in responses] == [500, 500, 500, 200, 200]
    assert responses[0].json() == {"result": 0, "msg": "Internal server error (simulated)"}
    assert client.control("GET", "faults").json()["fail_next"] == 0


def test_fail_next_from_config(start_sim: SimFactory, client_for: ClientFactory) -> None:
    client = client_for(start_sim(fail_next=1))
    assert [client.list_devices().status_code for _ in range(2)] == [500, 200]


def test_malformed_next_makes_the_next_k_api_requests_answer_200_with_html(client: GearsClient) -> None:
    device = next(d for d in client.sim.state.devices if d.persistent_agent)
    assert client.control("POST", "faults", {"malformed_next": 2}).json()["malformed_next"] == 2
    first = client.action(device.macs[0], "dhcprenew")
    second = client.list_devices()
    assert (first.status_code, second.status_code) == (200, 200)
    assert first.headers["Content-Type"].startswith("text/html")
    assert first.text == "<html>oops</html>"
    with pytest.raises(ValueError):
        first.json()
    assert "X-RateLimit-Remaining" in first.headers
    assert device.dhcp_renewals == 0  # a faulted request changes nothing
    assert client.list_devices().json()["devices"]  # the third is normal again
    assert client.control("GET", "faults").json()["malformed_next"] == 0
    api_log = [entry for entry in client.stats()["request_log"] if entry["path"].startswith("/o/api/")]
    assert [(entry["status"], entry["counted"]) for entry in api_log] == [(200, True)] * 3


def test_malformed_requests_use_quota(start_sim: SimFactory, client_for: ClientFactory) -> None:
    client = client_for(start_sim(limit=1, window=30))
    client.control("POST", "faults", {"malformed_next": 1})
    assert client.list_devices().text == "<html>oops</html>"
    assert client.list_devices().status_code == 429


def test_malformed_next_from_config_and_command_line(start_sim: SimFactory, client_for: ClientFactory) -> None:
    from fakegears.__main__ import build_parser, config_from_args

    assert config_from_args(build_parser().parse_args(["--malformed-next", "3"])).malformed_next == 3
    client = client_for(start_sim(malformed_next=1))
    assert [client.list_devices().headers["Content-Type"].split(";")[0] for _ in range(2)] == [
        "text/html",
        "application/json",
    ]


def test_failed_requests_have_no_side_effects(client: GearsClient) -> None:
    device = next(d for d in client.sim.state.devices if d.persistent_agent)
    client.control("POST", "faults", {"fail_next": 1})
    assert client.action(device.macs[0], "dhcprenew").status_code == 500
    assert device.dhcp_renewals == 0


def test_error_rate_one_fails_every_api_request_but_not_oauth_or_control(client: GearsClient) -> None:
    client.control("POST", "faults", {"error_rate": 1.0})
    assert {client.list_devices().status_code for _ in range(5)} == {500}
    fetch_token(client.sim)  # OAuth is unaffected
    assert client.control("GET", "stats").status_code == 200


def statuses_with_error_rate(sim: RunningSimulator, rate: float, count: int) -> list[int]:
    client = GearsClient(sim, fetch_token(sim))
    client.control("POST", "faults", {"error_rate": rate})
    return [client.list_devices().status_code for _ in range(count)]


def test_error_rate_is_reproducible_for_the_same_seed(start_sim: SimFactory) -> None:
    first = statuses_with_error_rate(start_sim(seed=5), 0.3, 40)
    second = statuses_with_error_rate(start_sim(seed=5), 0.3, 40)
    assert first == second
    assert 3 <= first.count(500) <= 25
    assert set(first) == {200, 500}


def test_error_rate_from_config(start_sim: SimFactory, client_for: ClientFactory) -> None:
    client = client_for(start_sim(error_rate=1.0))
    assert client.list_devices().status_code == 500


def test_latency_delays_api_responses(client: GearsClient) -> None:
    client.control("POST", "faults", {"latency": 0.3})
    started = time.monotonic()
    assert client.list_devices().status_code == 200
    assert time.monotonic() - started >= 0.3


def test_latency_delayed_requests_are_served_concurrently(
    start_sim: SimFactory, client_for: ClientFactory
) -> None:
    client = client_for(start_sim(latency=0.3))
    statuses: list[int] = []
    threads = [
        threading.Thread(target=lambda: statuses.append(client.list_devices().status_code)) for _ in range(6)
    ]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == [200] * 6
    assert time.monotonic() - started < 0.9  # served one after another they would take 1.8 s


def test_hang_next_makes_the_client_time_out(client: GearsClient) -> None:
    client.control("POST", "faults", {"hang_next": 1})
    with pytest.raises(requests.exceptions.ReadTimeout):
        client.request("GET", "/o/api/v2.2/devices", timeout=0.3)
    assert client.list_devices().status_code == 200


def test_hung_request_answers_504_after_hang_seconds(client: GearsClient) -> None:
    client.control("POST", "faults", {"hang_next": 1, "hang_seconds": 0.3})
    started = time.monotonic()
    response = client.list_devices()
    assert response.status_code == 504
    assert time.monotonic() - started >= 0.3
    assert "X-RateLimit-Limit" in response.headers


def test_hang_rate_one_hangs_every_request(start_sim: SimFactory, client_for: ClientFactory) -> None:
    # On a manual clock the hang takes no real time; the real-time hang is tested above.
    client = client_for(start_sim(hang_rate=1.0, hang_seconds=30, clock=ManualClock()))
    assert [client.list_devices().status_code for _ in range(2)] == [504, 504]


def test_stopping_the_server_releases_hung_requests_promptly(
    start_sim: SimFactory, client_for: ClientFactory
) -> None:
    client = client_for(start_sim(hang_seconds=30))
    client.control("POST", "faults", {"hang_next": 3})
    outcomes: list[object] = []

    def call() -> None:
        try:
            outcomes.append(client.list_devices().status_code)
        except requests.RequestException as problem:
            outcomes.append(type(problem).__name__)

    threads = [threading.Thread(target=call) for _ in range(3)]
    for thread in threads:
        thread.start()
    time.sleep(0.3)  # let them reach the hang
    started = time.monotonic()
    client.sim.stop()
    for thread in threads:
        thread.join(timeout=5)
    assert not any(thread.is_alive() for thread in threads)
    assert time.monotonic() - started < 2
    assert len(outcomes) == 3


def test_down_makes_api_and_oauth_answer_503(client: GearsClient) -> None:
    assert client.control("POST", "faults", {"down": True}).json()["down"] is True
    api = client.list_devices()
    assert api.status_code == 503
    assert api.json()["result"] == 0
    token = requests.post(
        client.base_url + "/o/oauth/token", data={"grant_type": "client_credentials"}, timeout=HTTP_TIMEOUT
    )
    assert token.status_code == 503
    assert token.json()["error"] == "temporarily_unavailable"
    authorize = requests.get(
        client.base_url + "/o/oauth/authorize", allow_redirects=False, timeout=HTTP_TIMEOUT
    )
    assert authorize.status_code == 503
    assert client.control("GET", "stats").status_code == 200  # the control API stays up
    client.control("POST", "faults", {"down": False})
    assert client.list_devices().status_code == 200


def test_down_requests_are_not_counted(start_sim: SimFactory, client_for: ClientFactory) -> None:
    client = client_for(start_sim(limit=1, window=30))
    client.control("POST", "faults", {"down": True})
    assert [client.list_devices().status_code for _ in range(3)] == [503] * 3
    client.control("POST", "faults", {"down": False})
    assert client.list_devices().status_code == 200


def test_down_from_config(start_sim: SimFactory) -> None:
    sim = start_sim(down=True)
    assert requests.post(sim.base_url + "/o/oauth/token", timeout=HTTP_TIMEOUT).status_code == 503


def test_refuse_and_accept_connections_on_the_same_port(client: GearsClient) -> None:
    port = client.sim.port
    client.sim.refuse_connections()
    with pytest.raises(requests.exceptions.ConnectionError):
        requests.get(client.base_url + "/_sim/health", timeout=2)
    client.sim.accept_connections()
    assert client.sim.port == port
    assert client.list_devices().status_code == 200  # same state: the token still works


def test_refuse_connections_twice_and_accept_twice_are_harmless(client: GearsClient) -> None:
    client.sim.refuse_connections()
    client.sim.refuse_connections()
    client.sim.accept_connections()
    client.sim.accept_connections()
    assert client.control("GET", "health").json() == {"ok": True}


def test_faults_update_is_partial_and_returns_all_settings(client: GearsClient) -> None:
    first = client.control("POST", "faults", {"latency": 0.01}).json()
    second = client.control("POST", "faults", {"error_rate": 0.0}).json()
    assert first["latency"] == second["latency"] == 0.01
    assert set(second) == {
        "error_rate",
        "fail_next",
        "latency",
        "hang_rate",
        "hang_next",
        "hang_seconds",
        "malformed_next",
        "down",
        "remediation_link_override",
        "devices_envelope",
        "devices_count",
        "past_end",
        "broken_device_next",
        "exempt_hides_issues",
        "bulk_per_item",
        "other_client",
        "reset_epoch",
        "limit_header",
    }
    assert second["hang_seconds"] == 30.0


@pytest.mark.parametrize(
    "body",
    [
        {"error_rate": 2},
        {"error_rate": "high"},
        {"fail_next": -1},
        {"fail_next": 1.5},
        {"malformed_next": -1},
        {"malformed_next": "2"},
        {"down": "yes"},
        {"latency": -1},
        {"no_such_setting": 1},
        {"hang_rate": True},
        {"remediation_link_override": 5},
    ],
)
def test_invalid_fault_settings_are_400_and_change_nothing(client: GearsClient, body: dict) -> None:
    before = client.control("GET", "faults").json()
    response = client.control("POST", "faults", body)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_setting"
    assert client.control("GET", "faults").json() == before


def test_faults_body_must_be_a_json_object(client: GearsClient) -> None:
    response = requests.post(client.base_url + "/_sim/faults", data=b"[1]", timeout=HTTP_TIMEOUT)
    assert response.status_code == 400
    response = requests.post(client.base_url + "/_sim/faults", data=b"{nope", timeout=HTTP_TIMEOUT)
    assert response.status_code == 400
