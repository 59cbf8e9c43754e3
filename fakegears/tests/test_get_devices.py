"""Get Devices v2.2: GET /o/api/v2.2/devices?limit=&page=."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from fakegears.data import SimDevice
from fakegears.tests.support import GearsClient

ITEM_KEYS = {
    "hwid",
    "hostname",
    "nickname",
    "agent_type",
    "agent_version",
    "status",
    "total_issue",
    "exempt",
    "remediation_link",
    "last_seen",
    "network_info",
}


def test_default_limit_is_one_device(client: GearsClient) -> None:
    response = client.list_devices()
    assert response.status_code == 200
    body = response.json()
    assert len(body["devices"]) == 1
    assert body["total"] == 40


def test_items_have_the_documented_fields(client: GearsClient, devices: list[SimDevice]) -> None:
    items = client.list_devices(limit=50).json()["devices"]
    assert len(items) == 40
    by_hwid = {d.hwid: d for d in devices}
    for item in items:
        assert ITEM_KEYS <= set(item)
        device = by_hwid[item["hwid"]]
        assert item["hostname"] == device.hostname
        assert item["network_info"] == [{"mac_addr": mac} for mac in device.macs]
        assert item["total_issue"] == len(device.issues)
        assert item["status"] in (0, 1)
        assert item["exempt"] in ("none", "critical", "all")
        assert item["agent_type"] in ("persistent", "on-demand")
        assert bool(item["remediation_link"]) == bool(device.issues)
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", item["last_seen"])
        seen = datetime.strptime(item["last_seen"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
        assert seen <= datetime.now(UTC)


def test_non_compliant_status_means_unexempted_issues(client: GearsClient) -> None:
    for item in client.list_devices(limit=50).json()["devices"]:
        assert item["status"] == (1 if item["total_issue"] and item["exempt"] == "none" else 0)


def test_pages_cover_every_device_once(client: GearsClient) -> None:
    seen: list[str] = []
    for page in range(1, 6):
        seen += [item["hwid"] for item in client.list_devices(limit=9, page=page).json()["devices"]]
    assert len(seen) == 40
    assert len(set(seen)) == 40


def test_page_past_the_end_is_413(client: GearsClient) -> None:
    assert client.list_devices(limit=10, page=4).status_code == 200
    response = client.list_devices(limit=10, page=5)
    assert response.status_code == 413
    assert response.json()["result"] == 0


def test_limit_over_50_is_406(client: GearsClient) -> None:
    assert client.list_devices(limit=50).status_code == 200
    response = client.list_devices(limit=51)
    assert response.status_code == 406
    assert response.json()["result"] == 0


@pytest.mark.parametrize(
    "params", [{"limit": 0}, {"limit": "x"}, {"page": 0}, {"page": "two"}, {"order": "up"}, {"GroupBy": "os"}]
)
def test_bad_paging_parameters_are_400(client: GearsClient, params: dict) -> None:
    assert client.list_devices(**params).status_code == 400


def test_order_asc_reverses_the_default_newest_first(client: GearsClient) -> None:
    newest_first = [i["hwid"] for i in client.list_devices(limit=50).json()["devices"]]
    oldest_first = [i["hwid"] for i in client.list_devices(limit=50, order="asc").json()["devices"]]
    assert sorted(newest_first) == sorted(oldest_first)
    assert newest_first[0] == oldest_first[-1]


def test_exemption_changes_show_in_the_listing(client: GearsClient, device_with_agent: SimDevice) -> None:
    client.action(device_with_agent.hwid, "exempt_critical", opt=1)
    items = client.list_devices(limit=50).json()["devices"]
    assert next(i for i in items if i["hwid"] == device_with_agent.hwid)["exempt"] == "critical"
