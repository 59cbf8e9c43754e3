"""Devices Action v2.0 (bulk): POST /o/api/v2/devices/action with a JSON body."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import requests

from fakegears.data import SimDevice
from fakegears.server import RunningSimulator
from fakegears.tests.support import GearsClient


def modes(client: GearsClient) -> dict[str, str]:
    return {d["hwid"]: d["exempt"] for d in client.control("GET", "devices").json()["devices"]}


def test_bulk_by_mac_returns_one_result_per_entry_in_order(
    client: GearsClient, devices: list[SimDevice]
) -> None:
    first, second = devices[0], devices[1]
    response = client.bulk(
        {
            "types": "exempt_all",
            "MAC_list": [first.macs[0], "02:00:00:00:00:01", "not-a-mac", second.macs[0].upper()],
        }
    )
    assert response.status_code == 200
    assert response.json() == {"result": [1, 0, 0, 1]}
    assert modes(client)[first.hwid] == "all"
    assert modes(client)[second.hwid] == "all"


def test_bulk_by_hwid(client: GearsClient, devices: list[SimDevice]) -> None:
    client.bulk({"types": "exempt_all", "HWID_list": [devices[2].hwid]})
    response = client.bulk(
        {"types": "unexempt", "HWID_list": [devices[2].hwid, "NOSUCHHWID000000"], "opt": 1}
    )
    assert response.json() == {"result": [1, 0]}
    assert modes(client)[devices[2].hwid] == "none"


def test_bulk_dhcprenew_fails_only_for_devices_without_agent(
    client: GearsClient, device_with_agent: SimDevice, device_without_agent: SimDevice
) -> None:
    response = client.bulk(
        {"types": "dhcprenew", "MAC_list": [device_with_agent.macs[0], device_without_agent.macs[0]]}
    )
    assert response.json() == {"result": [1, 0]}


def test_bulk_non_string_entries_are_failures(client: GearsClient) -> None:
    assert client.bulk({"types": "unexempt", "MAC_list": [None, 5, ["x"]]}).json() == {"result": [0, 0, 0]}


def test_bulk_empty_list_gives_empty_result(client: GearsClient) -> None:
    assert client.bulk({"types": "unexempt", "MAC_list": []}).json() == {"result": []}


def test_bulk_exempt_critical_is_400(client: GearsClient, devices: list[SimDevice]) -> None:
    response = client.bulk({"types": "exempt_critical", "MAC_list": [devices[0].macs[0]]})
    assert response.status_code == 400
    assert response.json()["result"] == 0
    assert "exempt_critical" in response.json()["msg"]


@pytest.mark.parametrize("types", [None, "reboot", 1])
def test_bulk_bad_types_is_400(client: GearsClient, devices: list[SimDevice], types: object) -> None:
    assert client.bulk({"types": types, "MAC_list": [devices[0].macs[0]]}).status_code == 400


@pytest.mark.parametrize("raw", [b"{not json", b"", b"\xff\xfe", b"[1, 2]", b'"text"'])
def test_bulk_bad_json_is_400(client: GearsClient, raw: bytes) -> None:
    response = client.bulk(data=raw, headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert response.json()["result"] == 0


def test_bulk_with_both_lists_is_400(client: GearsClient, devices: list[SimDevice]) -> None:
    body = {"types": "unexempt", "MAC_list": [devices[0].macs[0]], "HWID_list": [devices[0].hwid]}
    response = client.bulk(body)
    assert response.status_code == 400
    assert "exactly one" in response.json()["msg"]


def test_bulk_with_neither_list_is_400(client: GearsClient) -> None:
    assert client.bulk({"types": "unexempt"}).status_code == 400


def test_bulk_list_that_is_not_a_list_is_400(client: GearsClient, devices: list[SimDevice]) -> None:
    assert client.bulk({"types": "unexempt", "MAC_list": devices[0].macs[0]}).status_code == 400


@pytest.mark.parametrize("opt", [2, "x", True, 1])
def test_bulk_bad_or_contradicting_opt_is_400(
    client: GearsClient, devices: list[SimDevice], opt: object
) -> None:
    # opt 1 means HWID, which contradicts MAC_list.
    assert client.bulk({"types": "unexempt", "MAC_list": [devices[0].macs[0]], "opt": opt}).status_code == 400


def test_bulk_with_matching_opt_is_accepted(client: GearsClient, devices: list[SimDevice]) -> None:
    assert client.bulk({"types": "unexempt", "MAC_list": [devices[0].macs[0]], "opt": 0}).json() == {
        "result": [1]
    }


def test_bulk_without_content_type_still_parses_json(client: GearsClient, devices: list[SimDevice]) -> None:
    raw = ('{"types": "unexempt", "MAC_list": ["%s"]}' % devices[0].macs[0]).encode()
    assert client.bulk(data=raw).json() == {"result": [1]}


def test_bulk_needs_a_token(client: GearsClient, devices: list[SimDevice]) -> None:
    response = client.request(
        "POST", "/o/api/v2/devices/action", with_token=False, json={"types": "unexempt", "MAC_list": []}
    )
    assert response.status_code == 401


def test_bulk_get_is_405(client: GearsClient) -> None:
    assert client.request("GET", "/o/api/v2/devices/action").status_code == 405


def test_one_bulk_call_counts_as_one_request(
    start_sim: Callable[..., RunningSimulator], client_for: Callable[[RunningSimulator], GearsClient]
) -> None:
    client = client_for(start_sim(limit=3, window=30))
    all_macs = [mac for device in client.sim.state.devices for mac in device.macs]
    response = client.bulk({"types": "unexempt", "MAC_list": all_macs})
    assert response.status_code == 200
    assert len(response.json()["result"]) == len(all_macs)
    assert response.headers["X-RateLimit-Remaining"] == "2"
    assert [client.bulk({"types": "unexempt", "MAC_list": all_macs}).status_code for _ in range(3)] == [
        200,
        200,
        429,
    ]


def test_bulk_rejected_by_limit_changes_nothing(
    start_sim: Callable[..., RunningSimulator], client_for: Callable[[RunningSimulator], GearsClient]
) -> None:
    client = client_for(start_sim(limit=1, window=30))
    device = client.sim.state.devices[0]
    assert client.bulk({"types": "unexempt", "MAC_list": []}).status_code == 200
    assert client.bulk({"types": "exempt_all", "HWID_list": [device.hwid]}).status_code == 429
    assert (
        requests.get(client.base_url + "/_sim/devices", timeout=5).json()["devices"][0]["exempt"]
        == device.exempt
    )
