"""Device Action v2.0: POST /o/api/v2/devices/<id>/action?types=&opt=&access_token=."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import requests

from fakegears.data import SimDevice
from fakegears.server import RunningSimulator
from fakegears.tests.support import HTTP_TIMEOUT, GearsClient


def device_state(sim: RunningSimulator, hwid: str) -> dict:
    devices = requests.get(sim.base_url + "/_sim/devices", timeout=HTTP_TIMEOUT).json()["devices"]
    return next(device for device in devices if device["hwid"] == hwid)


@pytest.mark.parametrize(
    ("action", "mode"), [("exempt_critical", "critical"), ("exempt_all", "all"), ("unexempt", "none")]
)
def test_exempt_actions_answer_ok_and_set_the_exemption_mode(
    client: GearsClient, device_with_agent: SimDevice, action: str, mode: str
) -> None:
    if action == "unexempt":
        assert client.action(device_with_agent.macs[0], "exempt_all").status_code == 200
    response = client.action(device_with_agent.macs[0], action)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json"
    assert response.json() == {"result": 1, "msg": "OK"}
    assert device_state(client.sim, device_with_agent.hwid)["exempt"] == mode


def test_dhcprenew_answers_ok_and_counts_renewals(client: GearsClient, device_with_agent: SimDevice) -> None:
    for expected in (1, 2):
        response = client.action(device_with_agent.macs[0], "dhcprenew")
        assert response.json() == {"result": 1, "msg": "OK"}
        assert device_state(client.sim, device_with_agent.hwid)["dhcp_renewals"] == expected


def test_dhcprenew_without_persistent_agent_is_200_result_0(
    client: GearsClient, device_without_agent: SimDevice
) -> None:
    response = client.action(device_without_agent.macs[0], "dhcprenew")
    assert response.status_code == 200
    assert response.json() == {"result": 0, "msg": "Device has no persistent agent"}
    assert device_state(client.sim, device_without_agent.hwid)["dhcp_renewals"] == 0


def test_exempt_works_on_a_device_without_persistent_agent(
    client: GearsClient, device_without_agent: SimDevice
) -> None:
    assert client.action(device_without_agent.macs[0], "exempt_all").json() == {"result": 1, "msg": "OK"}


def test_opt_1_looks_up_by_hwid(client: GearsClient, device_with_agent: SimDevice) -> None:
    response = client.action(device_with_agent.hwid, "exempt_all", opt=1)
    assert response.json() == {"result": 1, "msg": "OK"}
    assert device_state(client.sim, device_with_agent.hwid)["exempt"] == "all"


def test_every_mac_of_a_device_finds_it(client: GearsClient, devices: list[SimDevice]) -> None:
    device = next(d for d in devices if len(d.macs) >= 2 and d.persistent_agent)
    for mac in device.macs:
        assert client.action(mac, "dhcprenew").json()["result"] == 1


def test_hwid_lookup_is_exact(client: GearsClient, devices: list[SimDevice]) -> None:
    device = next(d for d in devices if len(d.hwid) == 32)
    response = client.action(device.hwid.upper(), "exempt_all", opt=1)
    assert response.status_code == 404


def test_a_mac_given_with_opt_1_is_not_found(client: GearsClient, device_with_agent: SimDevice) -> None:
    assert client.action(device_with_agent.macs[0], "exempt_all", opt=1).status_code == 404


def test_unknown_device_is_404_device_not_found(client: GearsClient) -> None:
    response = client.action("02:00:00:00:00:01", "dhcprenew")
    assert response.status_code == 404
    assert response.json() == {"result": 0, "msg": "Device not found"}
    assert client.action("NOSUCHHWID000000", "dhcprenew", opt=1).status_code == 404


@pytest.mark.parametrize("types", ["", "reboot", "DHCPRENEW", "exempt"])
def test_bad_types_is_400_with_a_message(
    client: GearsClient, device_with_agent: SimDevice, types: str
) -> None:
    response = client.action(device_with_agent.macs[0], types)
    assert response.status_code == 400
    body = response.json()
    assert body["result"] == 0
    assert "types" in body["msg"]


def test_missing_types_is_400(client: GearsClient, device_with_agent: SimDevice) -> None:
    response = client.request("POST", f"/o/api/v2/devices/{device_with_agent.macs[0]}/action")
    assert response.status_code == 400
    assert response.json() == {"result": 0, "msg": "Missing required parameter: types"}


@pytest.mark.parametrize("opt", ["2", "-1", "x", "1.0", "", "0x1"])
def test_bad_opt_is_400_with_a_message(client: GearsClient, device_with_agent: SimDevice, opt: str) -> None:
    response = client.action(device_with_agent.macs[0], "dhcprenew", opt=opt)
    assert response.status_code == 400
    body = response.json()
    assert body["result"] == 0
    assert "opt" in body["msg"]


def test_opt_defaults_to_mac(client: GearsClient, device_with_agent: SimDevice) -> None:
    assert client.action(device_with_agent.macs[0], "dhcprenew").status_code == 200
    assert client.action(device_with_agent.macs[0], "dhcprenew", opt=0).status_code == 200


def test_malformed_mac_is_400(client: GearsClient) -> None:
    response = client.action("not-a-mac", "dhcprenew")
    assert response.status_code == 400
    assert response.json() == {"result": 0, "msg": "Invalid MAC address"}


def test_bad_types_is_checked_before_unknown_device(client: GearsClient) -> None:
    assert client.action("02:00:00:00:00:01", "reboot").status_code == 400


@pytest.mark.parametrize(
    "transform", [str.upper, lambda m: m.replace(":", "-"), lambda m: m.replace(":", "")]
)
def test_non_canonical_mac_forms_are_normalised(
    client: GearsClient, device_with_agent: SimDevice, transform: Callable[[str], str]
) -> None:
    assert client.action(transform(device_with_agent.macs[0]), "dhcprenew").json() == {
        "result": 1,
        "msg": "OK",
    }


def test_cisco_dotted_mac_is_normalised(client: GearsClient, device_with_agent: SimDevice) -> None:
    digits = device_with_agent.macs[0].replace(":", "")
    dotted = ".".join(digits[i : i + 4] for i in range(0, 12, 4))
    assert client.action(dotted, "dhcprenew").status_code == 200


def test_strict_ids_treats_non_canonical_mac_as_not_found(
    start_sim: Callable[..., RunningSimulator], client_for: Callable[[RunningSimulator], GearsClient]
) -> None:
    strict = client_for(start_sim(strict_ids=True))
    device = next(d for d in strict.sim.state.devices if d.persistent_agent)
    assert strict.action(device.macs[0], "dhcprenew").status_code == 200
    upper = strict.action(device.macs[0].upper(), "dhcprenew")
    assert upper.status_code == 404
    assert upper.json() == {"result": 0, "msg": "Device not found"}
    assert strict.action(device.macs[0].replace(":", "-"), "dhcprenew").status_code == 404


def test_bearer_header_is_accepted_instead_of_query_token(
    client: GearsClient, device_with_agent: SimDevice
) -> None:
    response = requests.post(
        f"{client.base_url}/o/api/v2/devices/{device_with_agent.macs[0]}/action",
        params={"types": "dhcprenew"},
        headers={"Authorization": f"Bearer {client.token}"},
        timeout=HTTP_TIMEOUT,
    )
    assert response.json() == {"result": 1, "msg": "OK"}


def test_missing_token_is_401_invalid_token(client: GearsClient, device_with_agent: SimDevice) -> None:
    response = client.request(
        "POST",
        f"/o/api/v2/devices/{device_with_agent.macs[0]}/action",
        with_token=False,
        params={"types": "dhcprenew"},
    )
    assert response.status_code == 401
    body = response.json()
    assert body["error"] == "invalid_token"
    assert body["error_description"]


def test_unknown_token_is_401_and_is_not_echoed(client: GearsClient, device_with_agent: SimDevice) -> None:
    bogus = "00000000-0000-4000-8000-000000000000"
    response = client.request(
        "POST",
        f"/o/api/v2/devices/{device_with_agent.macs[0]}/action",
        with_token=False,
        params={"types": "dhcprenew", "access_token": bogus},
    )
    assert response.status_code == 401
    assert response.json() == {"error": "invalid_token", "error_description": "Invalid access token"}
    assert bogus not in response.text


def test_wrong_http_method_is_405(client: GearsClient, device_with_agent: SimDevice) -> None:
    response = client.request(
        "GET", f"/o/api/v2/devices/{device_with_agent.macs[0]}/action", params={"types": "dhcprenew"}
    )
    assert response.status_code == 405
    assert response.headers["Allow"] == "POST"
    assert "X-RateLimit-Limit" in response.headers


def test_unknown_api_path_is_404(client: GearsClient) -> None:
    response = client.request("GET", "/o/api/v9/nothing")
    assert response.status_code == 404
    assert response.json()["result"] == 0


def test_failed_actions_do_not_change_the_device(client: GearsClient, device_with_agent: SimDevice) -> None:
    before = device_state(client.sim, device_with_agent.hwid)
    client.action(device_with_agent.macs[0], "reboot")
    client.action(device_with_agent.macs[0], "exempt_all", opt=7)
    assert device_state(client.sim, device_with_agent.hwid) == before
