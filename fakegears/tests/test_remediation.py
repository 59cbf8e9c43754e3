"""Get Remediation Link v2.2 and its v2.0 alias, and the remediation page the links point to."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
import requests

from fakegears.data import SimDevice
from fakegears.server import RunningSimulator
from fakegears.tests.support import HTTP_TIMEOUT, GearsClient

LINK = re.compile(
    r"(?P<base>.+)/gears/remediation/(?P<account>[A-Z0-9]+)/(?P<value>[^/]+)/(?P<token>[A-Z0-9]+)/remediation\.html"
)


def test_device_with_issues_gets_a_link_in_the_documented_shape(
    client: GearsClient, device_with_issues: SimDevice
) -> None:
    response = client.remediation(device_with_issues.macs[0])
    assert response.status_code == 200
    assert list(response.json()) == ["remediation_link"]
    match = LINK.fullmatch(response.json()["remediation_link"])
    assert match
    assert match["base"] == client.base_url
    assert match["account"] == client.sim.state.account_id
    assert match["value"] == device_with_issues.macs[0]
    assert match["token"] == device_with_issues.remediation_token
    assert "X-RateLimit-Remaining" in response.headers


def test_link_uses_the_canonical_form_of_the_mac_given(
    client: GearsClient, device_with_issues: SimDevice
) -> None:
    mac = device_with_issues.macs[-1]
    response = client.remediation(mac.upper().replace(":", "-"))
    assert f"/{mac}/" in response.json()["remediation_link"]


def test_opt_1_looks_up_by_hwid_and_puts_the_hwid_in_the_link(
    client: GearsClient, device_with_issues: SimDevice
) -> None:
    link = client.remediation(device_with_issues.hwid, opt=1).json()["remediation_link"]
    assert LINK.fullmatch(link)["value"] == device_with_issues.hwid


def test_device_without_issues_is_200_result_0(client: GearsClient, device_without_issues: SimDevice) -> None:
    response = client.remediation(device_without_issues.macs[0])
    assert response.status_code == 200
    assert response.json() == {"result": 0, "msg": "Device has no issues"}


def test_unknown_device_is_200_device_not_found_on_v22(client: GearsClient) -> None:
    response = client.remediation("02:00:00:00:00:01")
    assert response.status_code == 200
    assert response.json() == {"result": 0, "msg": "Device not found"}


def test_unknown_device_is_404_on_v22_with_the_flag(
    start_sim: Callable[..., RunningSimulator], client_for: Callable[[RunningSimulator], GearsClient]
) -> None:
    client = client_for(start_sim(remediation_unknown_404=True))
    response = client.remediation("02:00:00:00:00:01")
    assert response.status_code == 404
    assert response.json() == {"result": 0, "msg": "Device not found"}


def test_v20_alias_answers_like_v22_but_unknown_is_404(
    client: GearsClient, device_with_issues: SimDevice, device_without_issues: SimDevice
) -> None:
    assert (
        client.remediation(device_with_issues.macs[0], version="v2").json()
        == client.remediation(device_with_issues.macs[0]).json()
    )
    assert client.remediation(device_without_issues.macs[0], version="v2").json() == {
        "result": 0,
        "msg": "Device has no issues",
    }
    unknown = client.remediation("02:00:00:00:00:01", version="v2")
    assert unknown.status_code == 404
    assert unknown.json() == {"result": 0, "msg": "Device not found"}


@pytest.mark.parametrize("opt", ["2", "abc"])
def test_bad_opt_is_400(client: GearsClient, device_with_issues: SimDevice, opt: str) -> None:
    response = client.remediation(device_with_issues.macs[0], opt=opt)
    assert response.status_code == 400
    assert response.json()["result"] == 0


def test_remediation_requires_a_valid_token(client: GearsClient, device_with_issues: SimDevice) -> None:
    response = client.request(
        "GET", f"/o/api/v2.2/devices/{device_with_issues.macs[0]}/remediation", with_token=False
    )
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_token"


def test_post_to_remediation_is_405(client: GearsClient, device_with_issues: SimDevice) -> None:
    assert (
        client.request("POST", f"/o/api/v2.2/devices/{device_with_issues.macs[0]}/remediation").status_code
        == 405
    )


def test_public_url_sets_the_link_base(
    start_sim: Callable[..., RunningSimulator], client_for: Callable[[RunningSimulator], GearsClient]
) -> None:
    client = client_for(start_sim(public_url="https://gears.example.test/"))
    device = next(d for d in client.sim.state.devices if d.issues)
    link = client.remediation(device.macs[0]).json()["remediation_link"]
    assert link.startswith("https://gears.example.test/gears/remediation/")


def test_account_segment_can_be_configured(
    start_sim: Callable[..., RunningSimulator], client_for: Callable[[RunningSimulator], GearsClient]
) -> None:
    client = client_for(start_sim(account_id="AKLOMFNH123518"))
    device = next(d for d in client.sim.state.devices if d.issues)
    assert (
        "/gears/remediation/AKLOMFNH123518/" in client.remediation(device.macs[0]).json()["remediation_link"]
    )


def test_link_leads_to_a_page_listing_hostname_and_issues(
    client: GearsClient, device_with_issues: SimDevice
) -> None:
    link = client.remediation(device_with_issues.macs[0]).json()["remediation_link"]
    page = requests.get(link, timeout=HTTP_TIMEOUT)
    assert page.status_code == 200
    assert page.headers["Content-Type"].startswith("text/html")
    assert device_with_issues.hostname in page.text
    for issue in device_with_issues.issues:
        assert issue in page.text


def test_page_needs_no_token_and_is_not_rate_limited(
    start_sim: Callable[..., RunningSimulator], client_for: Callable[[RunningSimulator], GearsClient]
) -> None:
    client = client_for(start_sim(limit=1, window=30))
    device = next(d for d in client.sim.state.devices if d.issues)
    link = client.remediation(device.macs[0]).json()["remediation_link"]
    assert client.remediation(device.macs[0]).status_code == 429  # the window is now full
    for _ in range(5):
        page = requests.get(link, timeout=HTTP_TIMEOUT)
        assert page.status_code == 200
        assert "X-RateLimit-Limit" not in page.headers


def test_page_escapes_hostile_hostnames_and_issues(
    client: GearsClient, device_with_issues: SimDevice
) -> None:
    with client.sim.state.lock:
        device_with_issues.hostname = "<script>alert('host')</script>"
        device_with_issues.issues = ['<img src=x onerror="alert(1)">']
    link = client.remediation(device_with_issues.macs[0]).json()["remediation_link"]
    page = requests.get(link, timeout=HTTP_TIMEOUT).text
    assert "<script>" not in page
    assert "<img" not in page
    assert "&lt;script&gt;" in page
    assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;" in page


@pytest.mark.parametrize("part", ["account", "value", "token"])
def test_page_with_a_wrong_path_part_is_404(
    client: GearsClient, device_with_issues: SimDevice, part: str
) -> None:
    link = client.remediation(device_with_issues.macs[0]).json()["remediation_link"]
    match = LINK.fullmatch(link)
    parts = {"account": match["account"], "value": match["value"], "token": match["token"]}
    parts[part] = "WRONG0000000000000" if part != "value" else "02:00:00:00:00:01"
    wrong = f"{match['base']}/gears/remediation/{parts['account']}/{parts['value']}/{parts['token']}/remediation.html"
    assert requests.get(wrong, timeout=HTTP_TIMEOUT).status_code == 404


def test_page_accepts_the_hwid_form_of_the_link(client: GearsClient, device_with_issues: SimDevice) -> None:
    link = client.remediation(device_with_issues.hwid, opt=1).json()["remediation_link"]
    assert requests.get(link, timeout=HTTP_TIMEOUT).status_code == 200


@pytest.mark.parametrize("hostile", ["javascript:alert(1)", "https://evil.example/phish?x=<b>"])
def test_remediation_link_override_forces_the_link_returned(
    client: GearsClient, device_with_issues: SimDevice, hostile: str
) -> None:
    assert client.control("POST", "faults", {"remediation_link_override": hostile}).status_code == 200
    assert client.remediation(device_with_issues.macs[0]).json() == {"remediation_link": hostile}
    listed = client.list_devices(limit=50).json()["devices"]
    assert {item["remediation_link"] for item in listed if item["total_issue"]} == {hostile}


def test_remediation_link_override_from_config(
    start_sim: Callable[..., RunningSimulator], client_for: Callable[[RunningSimulator], GearsClient]
) -> None:
    client = client_for(start_sim(remediation_link_override="https://evil.example/x"))
    device = next(d for d in client.sim.state.devices if d.issues)
    assert client.remediation(device.macs[0]).json()["remediation_link"] == "https://evil.example/x"


def test_device_without_issues_stays_without_link_under_override(
    client: GearsClient, device_without_issues: SimDevice
) -> None:
    client.control("POST", "faults", {"remediation_link_override": "javascript:alert(1)"})
    assert client.remediation(device_without_issues.macs[0]).json() == {
        "result": 0,
        "msg": "Device has no issues",
    }


# An exempt device answers the v2 APIs as if compliant; whether its link goes too is not documented
# (docs/upstream/api-notes.md §8), so the simulator plays both readings.


def exempt_with_issues(client: GearsClient) -> SimDevice:
    device = next(d for d in client.sim.state.devices if d.issues and d.exempt == "none")
    assert client.action(device.hwid, "exempt_all", opt=1).json() == {"result": 1, "msg": "OK"}
    return device


def listed_item(client: GearsClient, device: SimDevice) -> dict:
    return next(item for item in client.list_devices(limit=50).json()["devices"] if item["hwid"] == device.hwid)


def test_an_exempt_device_keeps_its_link_and_is_listed_compliant_by_default(client: GearsClient) -> None:
    device = exempt_with_issues(client)
    assert "remediation_link" in client.remediation(device.macs[0]).json()
    item = listed_item(client, device)
    assert item["status"] == 0 and item["remediation_link"]


def test_exempt_hides_issues_from_the_control_api_answers_no_issues_for_an_exempt_device_only(
    client: GearsClient,
) -> None:
    device = exempt_with_issues(client)
    other = next(d for d in client.sim.state.devices if d.issues and d.exempt == "none")
    assert client.control("POST", "faults", {"exempt_hides_issues": True}).status_code == 200
    assert client.remediation(device.macs[0]).json() == {"result": 0, "msg": "Device has no issues"}
    assert listed_item(client, device)["remediation_link"] == "" and listed_item(client, device)["status"] == 0
    assert "remediation_link" in client.remediation(other.macs[0]).json()
    assert client.action(device.hwid, "unexempt", opt=1).json()["result"] == 1
    assert "remediation_link" in client.remediation(device.macs[0]).json()


def test_exempt_hides_issues_from_config(
    start_sim: Callable[..., RunningSimulator], client_for: Callable[[RunningSimulator], GearsClient]
) -> None:
    client = client_for(start_sim(exempt_hides_issues=True))
    device = exempt_with_issues(client)
    assert client.remediation(device.macs[0]).json() == {"result": 0, "msg": "Device has no issues"}
