"""The rate limit over real HTTP: strict sliding window at arrival, 429 shape, scope, concurrency."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable

import pytest
import requests

from fakegears.ratelimit import max_in_any_window
from fakegears.server import RunningSimulator
from fakegears.tests.support import HTTP_TIMEOUT, GearsClient, ManualClock

RATE_HEADERS = ("X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset-Time")


SimFactory = Callable[..., RunningSimulator]
ClientFactory = Callable[[RunningSimulator], GearsClient]


def limited(start_sim: SimFactory, client_for: ClientFactory, **settings: object) -> GearsClient:
    return client_for(start_sim(**settings))


def any_mac(client: GearsClient) -> str:
    return client.sim.state.devices[0].macs[0]


def test_eleventh_request_in_a_window_is_429_with_body_and_headers(
    start_sim: SimFactory, client_for: ClientFactory
) -> None:
    client = limited(start_sim, client_for, limit=10, window=30)
    responses = [client.remediation(any_mac(client)) for _ in range(11)]
    assert [r.status_code for r in responses] == [200] * 10 + [429]
    assert [r.headers["X-RateLimit-Remaining"] for r in responses[:10]] == [str(n) for n in range(9, -1, -1)]
    rejected = responses[10]
    assert rejected.headers["Content-Type"] == "application/json"
    assert rejected.json() == {"result": 0, "msg": "Rate limit exceeded"}
    assert rejected.headers["X-RateLimit-Limit"] == "10"
    assert rejected.headers["X-RateLimit-Remaining"] == "0"
    reset = int(rejected.headers["X-RateLimit-Reset-Time"])
    assert 29 <= reset <= 30
    assert rejected.headers["Retry-After"] == str(reset)


def test_reset_time_rounds_up_for_fractional_windows(
    start_sim: SimFactory, client_for: ClientFactory
) -> None:
    client = limited(start_sim, client_for, limit=1, window=1.5)
    assert client.list_devices().headers["X-RateLimit-Reset-Time"] == "2"
    assert client.list_devices().headers["X-RateLimit-Reset-Time"] in ("1", "2")


def test_waiting_reset_time_frees_a_slot(start_sim: SimFactory, client_for: ClientFactory) -> None:
    clock = ManualClock()
    client = limited(start_sim, client_for, limit=2, window=30, clock=clock)
    client.list_devices()
    clock.advance(10)
    client.list_devices()
    rejected = client.list_devices()
    assert rejected.status_code == 429
    # Counted from the oldest request in the window, not the newest.
    assert rejected.headers["Retry-After"] == "20"
    clock.advance(19.9)
    assert client.list_devices().status_code == 429
    clock.advance(0.1)
    assert client.list_devices().status_code == 200


def test_rejected_requests_do_not_use_quota(start_sim: SimFactory, client_for: ClientFactory) -> None:
    clock = ManualClock()
    client = limited(start_sim, client_for, limit=2, window=10, clock=clock)
    assert [client.list_devices().status_code for _ in range(2)] == [200, 200]
    for _ in range(50):
        clock.advance(0.19)
        assert client.list_devices().status_code == 429
    clock.advance(10 - 50 * 0.19)
    # Had the 429s been counted, the window would still be full now.
    assert client.list_devices().status_code == 200


def test_requests_failing_auth_are_not_counted_but_carry_headers(
    start_sim: SimFactory, client_for: ClientFactory
) -> None:
    client = limited(start_sim, client_for, limit=2, window=30)
    for _ in range(5):
        response = client.request(
            "GET", "/o/api/v2.2/devices", with_token=False, params={"access_token": "bogus"}
        )
        assert response.status_code == 401
        assert response.headers["X-RateLimit-Remaining"] == "2"
        assert response.headers["X-RateLimit-Limit"] == "2"
    assert [client.list_devices().status_code for _ in range(3)] == [200, 200, 429]
    after = client.request("GET", "/o/api/v2.2/devices", with_token=False)
    assert after.status_code == 401  # auth is checked before the limit


def test_check_order_is_401_then_429_then_400_then_404(
    start_sim: SimFactory, client_for: ClientFactory
) -> None:
    client = limited(start_sim, client_for, limit=2, window=30)
    assert client.action("02:00:00:00:00:01", "reboot").status_code == 400  # 400 before 404
    assert client.action("02:00:00:00:00:01", "dhcprenew").status_code == 404
    assert client.action("02:00:00:00:00:01", "reboot").status_code == 429  # 429 before 400
    bad_token = client.request(
        "POST", "/o/api/v2/devices/x/action", with_token=False, params={"types": "reboot"}
    )
    assert bad_token.status_code == 401  # 401 before 429


def test_every_api_response_carries_the_rate_headers(
    start_sim: SimFactory, client_for: ClientFactory
) -> None:
    client = limited(start_sim, client_for, limit=12, window=30)
    device = client.sim.state.devices[0]
    responses = {
        "200": client.remediation(device.macs[0]),
        "400": client.action(device.macs[0], "reboot"),
        "404": client.action("02:00:00:00:00:01", "dhcprenew"),
        "405": client.request("GET", f"/o/api/v2/devices/{device.macs[0]}/action"),
        "406": client.list_devices(limit=99),
        "413": client.list_devices(limit=50, page=9),
        "401": client.request("GET", "/o/api/v2.2/devices", with_token=False),
    }
    client.control("POST", "faults", {"fail_next": 1})
    responses["500"] = client.list_devices()
    client.control("POST", "faults", {"down": True})
    responses["503"] = client.list_devices()
    client.control("POST", "faults", {"down": False})
    while "429" not in responses:
        response = client.list_devices()
        if response.status_code == 429:
            responses["429"] = response
    for status, response in responses.items():
        assert str(response.status_code) == status
        for header in RATE_HEADERS:
            assert header in response.headers, (status, header)
        assert response.headers["X-RateLimit-Limit"] == "12"


def test_all_endpoints_share_one_account_window_by_default(
    start_sim: SimFactory, client_for: ClientFactory
) -> None:
    client = limited(start_sim, client_for, limit=4, window=30)
    mac = any_mac(client)
    assert client.action(mac, "unexempt").status_code == 200
    assert client.remediation(mac).status_code == 200
    assert client.remediation(mac, version="v2").status_code == 200
    assert client.list_devices().status_code == 200
    assert client.bulk({"types": "unexempt", "MAC_list": [mac]}).status_code == 429
    assert client.remediation(mac).status_code == 429


def test_a_second_token_shares_the_account_window(start_sim: SimFactory, client_for: ClientFactory) -> None:
    sim = start_sim(limit=2, window=30)
    first, second = client_for(sim), client_for(sim)
    assert first.list_devices().status_code == 200
    assert second.list_devices().status_code == 200
    assert first.list_devices().status_code == 429
    assert second.list_devices().status_code == 429


def test_per_endpoint_mode_keys_by_template_including_version(
    start_sim: SimFactory, client_for: ClientFactory
) -> None:
    client = limited(start_sim, client_for, limit=2, window=30, per_endpoint=True)
    mac = any_mac(client)
    assert [client.remediation(mac).status_code for _ in range(3)] == [200, 200, 429]
    # v2.0 is another template, and other endpoints have their own windows.
    assert [client.remediation(mac, version="v2").status_code for _ in range(3)] == [200, 200, 429]
    assert client.action(mac, "unexempt").status_code == 200
    assert client.list_devices().status_code == 200
    # Different ids share the template's window.
    other = client.sim.state.devices[1].macs[0]
    assert client.action(other, "unexempt").status_code == 200
    assert client.action(other, "unexempt").status_code == 429


def test_injected_failures_are_counted(start_sim: SimFactory, client_for: ClientFactory) -> None:
    client = limited(start_sim, client_for, limit=3, window=30)
    client.control("POST", "faults", {"fail_next": 2})
    assert [client.list_devices().status_code for _ in range(4)] == [500, 500, 200, 429]


def test_arrival_time_is_taken_before_injected_latency(
    start_sim: SimFactory, client_for: ClientFactory
) -> None:
    clock = ManualClock()
    client = limited(start_sim, client_for, limit=1, window=1.0, latency=0.8, clock=clock)
    sent_at = clock.now()
    assert client.list_devices().status_code == 200
    assert clock.now() == pytest.approx(sent_at + 0.8)  # the latency was served
    # It arrived at sent_at, so it leaves the window at sent_at + 1.0,
    # not at sent_at + 1.8 as it would had it been counted after the latency.
    clock.advance(0.2)
    assert client.list_devices().status_code == 200
    arrivals = [e["time"] for e in client.stats()["request_log"] if e["counted"]]
    assert arrivals[1] - arrivals[0] == pytest.approx(1.0)


def test_fifty_simultaneous_requests_get_exactly_limit_accepted(
    start_sim: SimFactory, client_for: ClientFactory
) -> None:
    client = limited(start_sim, client_for, limit=10, window=30)
    device = client.sim.state.devices[0]
    barrier = threading.Barrier(50)
    statuses: list[int] = []
    lock = threading.Lock()

    def worker(index: int) -> None:
        barrier.wait()
        # A mix of endpoints and outcomes (200 and 404) sharing one window.
        if index % 2:
            response = client.remediation(device.macs[0])
        else:
            response = client.action("02:00:00:00:00:%02x" % index, "dhcprenew")
        with lock:
            statuses.append(response.status_code)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(50)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started
    assert len(statuses) == 50
    assert sum(status != 429 for status in statuses) == 10
    assert statuses.count(429) == 40
    assert set(statuses) <= {200, 404, 429}
    stats = client.stats()
    assert stats["rate_limited"] == 40
    assert stats["max_accepted_in_window"] == 10
    assert elapsed < 5, f"the burst took {elapsed:.2f}s"
    print(f"\n50-request burst served in {elapsed * 1000:.0f} ms")


def test_saturating_clients_get_limit_per_window_and_never_more(
    start_sim: SimFactory, client_for: ClientFactory
) -> None:
    """Randomized soak: 4 threads hammer for 1.2 s against 5 per 0.2 s (six windows)."""
    limit, window, duration = 5, 0.2, 1.2
    client = limited(start_sim, client_for, limit=limit, window=window)
    mac = any_mac(client)
    rng = random.Random(1234)
    pauses = [[rng.choice([0.0, 0.0, 0.001, 0.003, 0.01]) for _ in range(5000)] for _ in range(4)]
    counts = {"accepted": 0, "rejected": 0, "other": 0}
    lock = threading.Lock()
    deadline = time.monotonic() + duration

    def hammer(my_pauses: list[float]) -> None:
        session = requests.Session()
        index = 0
        while time.monotonic() < deadline:
            response = session.get(
                f"{client.base_url}/o/api/v2.2/devices/{mac}/remediation",
                params={"access_token": client.token},
                timeout=HTTP_TIMEOUT,
            )
            outcome = (
                "accepted"
                if response.status_code == 200
                else "rejected" if response.status_code == 429 else "other"
            )
            with lock:
                counts[outcome] += 1
            time.sleep(my_pauses[index % len(my_pauses)])
            index += 1

    threads = [threading.Thread(target=hammer, args=(p,)) for p in pauses]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started

    stats = client.stats()
    accepted_times = [e["time"] for e in stats["request_log"] if e["counted"] and e["status"] != 429]
    assert counts["other"] == 0
    assert len(accepted_times) == counts["accepted"]
    # Never more than N in any W (server's own measure and an independent one from the log).
    assert stats["max_accepted_in_window"] == limit
    # (1 µs less than W: the log's epoch floats carry sub-µs rounding.)
    assert max_in_any_window(accepted_times, window - 1e-6) <= limit
    # ...while a saturating client still gets N per W: the whole run is covered.
    windows = round(duration / window)
    assert counts["accepted"] >= limit * (windows - 1)
    assert counts["accepted"] <= limit * (windows + 1)
    assert counts["rejected"] > counts["accepted"]
    assert stats["rate_limited"] == counts["rejected"]
    total = counts["accepted"] + counts["rejected"]
    print(
        f"\nsoak: {total} requests in {elapsed:.2f}s ({total / elapsed:.0f} req/s), {counts['accepted']} accepted"
    )
