"""The budget readings the vendor leaves open, each played from a flag, the config and the control API:
bulk requests metered per device, another client on the account, Reset-Time as a Unix time, another Limit."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from fakegears.__main__ import build_parser, config_from_args
from fakegears.server import RunningSimulator
from fakegears.tests.support import GearsClient, ManualClock

SimFactory = Callable[..., RunningSimulator]
ClientFactory = Callable[[RunningSimulator], GearsClient]


def hwids(client: GearsClient, count: int) -> list[str]:
    return [device.hwid for device in client.sim.state.devices[:count]]


def test_by_default_a_bulk_request_costs_one_unit_whatever_its_size(start_sim: SimFactory, client_for: ClientFactory) -> None:
    client = client_for(start_sim(limit=10, window=30, devices=20))
    answer = client.bulk({"types": "exempt_all", "HWID_list": hwids(client, 12)})
    assert answer.status_code == 200
    assert answer.headers["X-RateLimit-Remaining"] == "9"


def test_per_item_metering_counts_each_device_and_refuses_a_batch_larger_than_what_remains(
    start_sim: SimFactory, client_for: ClientFactory
) -> None:
    client = client_for(start_sim(limit=10, window=30, devices=20, bulk_per_item=True))
    first = client.bulk({"types": "exempt_all", "HWID_list": hwids(client, 4)})
    assert (first.status_code, first.headers["X-RateLimit-Remaining"]) == (200, "6")
    too_big = client.bulk({"types": "exempt_all", "HWID_list": hwids(client, 7)})
    assert too_big.status_code == 429
    assert too_big.headers["X-RateLimit-Remaining"] == "6"  # a refused request uses nothing
    fits = client.bulk({"types": "exempt_all", "HWID_list": hwids(client, 6)})
    assert (fits.status_code, fits.headers["X-RateLimit-Remaining"]) == (200, "0")
    assert client.sim.state.stats()["max_accepted_in_window"] == 10


def test_per_item_metering_leaves_single_device_calls_at_one_unit(start_sim: SimFactory, client_for: ClientFactory) -> None:
    client = client_for(start_sim(limit=10, window=30, bulk_per_item=True))
    answer = client.action(hwids(client, 1)[0], "exempt_all", opt=1)
    assert answer.headers["X-RateLimit-Remaining"] == "9"


def test_another_client_spends_its_share_of_every_window(start_sim: SimFactory, client_for: ClientFactory) -> None:
    clock = ManualClock()
    client = client_for(start_sim(limit=10, window=30, other_client=3, clock=clock))
    remaining = [int(client.list_devices().headers["X-RateLimit-Remaining"]) for _ in range(8)]
    assert remaining == [6, 5, 4, 3, 2, 1, 0, 0]
    assert client.list_devices().status_code == 429
    clock.advance(30)  # a new period: the other client spends 3 again, our 7 have left the window
    assert client.list_devices().headers["X-RateLimit-Remaining"] == "6"
    stats = client.sim.state.stats()
    assert stats["other_client_requests"] == 6
    assert stats["max_accepted_in_window"] <= 10


def test_reset_time_is_a_unix_time_when_asked(start_sim: SimFactory, client_for: ClientFactory) -> None:
    client = client_for(start_sim(limit=10, window=30, reset_epoch=True))
    before = time.time()
    reset = int(client.list_devices().headers["X-RateLimit-Reset-Time"])
    assert before + 29 <= reset <= time.time() + 31


def test_the_limit_header_may_announce_another_limit_than_the_one_enforced(
    start_sim: SimFactory, client_for: ClientFactory
) -> None:
    client = client_for(start_sim(limit=2, window=30, limit_header=60))
    answers = [client.list_devices() for _ in range(3)]
    assert [a.headers["X-RateLimit-Limit"] for a in answers] == ["60"] * 3
    assert [a.status_code for a in answers] == [200, 200, 429]


def test_each_reading_is_switched_at_run_time_by_the_control_api(start_sim: SimFactory, client_for: ClientFactory) -> None:
    client = client_for(start_sim(limit=10, window=30, devices=20))
    settings = client.control("POST", "faults", {"bulk_per_item": True, "limit_header": 20}).json()
    assert (settings["bulk_per_item"], settings["limit_header"]) == (True, 20)
    answer = client.bulk({"types": "exempt_all", "HWID_list": hwids(client, 5)})
    assert (answer.headers["X-RateLimit-Remaining"], answer.headers["X-RateLimit-Limit"]) == ("5", "20")
    refused = client.control("POST", "faults", {"other_client": -1})
    assert refused.status_code == 400
    assert "other_client must be" in refused.json()["error_description"]


@pytest.mark.parametrize(
    ("flags", "field", "value"),
    [(["--bulk-per-item"], "bulk_per_item", True), (["--other-client", "3"], "other_client", 3),
     (["--reset-epoch"], "reset_epoch", True), (["--limit-header", "60"], "limit_header", 60)],
)
def test_each_reading_has_a_flag(flags: list[str], field: str, value: object) -> None:
    assert getattr(config_from_args(build_parser().parse_args(flags)), field) == value
    assert getattr(config_from_args(build_parser().parse_args([])), field) in (False, 0)
