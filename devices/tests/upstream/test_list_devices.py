"""Get Devices v2.2 over real HTTP against the simulator, and the page's shape checked strictly."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from devices.tests.upstream.support import CLIENT_ID, CLIENT_SECRET, api_log, assert_no_leak, control
from devices.upstream import (
    EXEMPT_FLAG,
    DevicePage,
    GearsAuthError,
    GearsClient,
    GearsError,
    GearsPastEnd,
    GearsRateLimited,
)
from devices.upstream.listing import parse_page


@pytest.fixture
def cloud(start_upstream):
    return start_upstream(devices=120)


@pytest.fixture
def gears(cloud):
    with GearsClient(cloud.base_url, timeout=5, connect_timeout=2) as client:
        yield client


@pytest.fixture
def cloud_token(gears):
    return gears.fetch_token(CLIENT_ID, CLIENT_SECRET).access_token


def test_a_page_lists_fifty_devices_with_what_the_cloud_says_of_each(cloud, gears, cloud_token):
    page = gears.list_devices(cloud_token, 1)
    assert isinstance(page, DevicePage)
    assert (page.total, page.page, page.limit, page.pages_total, len(page.devices)) == (120, 1, 50, 3, 50)
    simulated = {device["hwid"]: device for device in control(cloud, "GET", "devices")["devices"]}
    now = datetime.now(timezone.utc)
    for device in page.devices:
        sim = simulated[device.hwid]
        assert device.hostname == sim["hostname"]
        assert device.status == sim["status"]
        assert device.exempt == sim["exempt"]
        assert device.macs == tuple(sim["macs"])
        assert bool(device.remediation_link) == bool(sim["issues"])
        expected_seen = now - timedelta(seconds=sim["last_seen_seconds_ago"])
        assert abs(device.last_seen - expected_seen) < timedelta(seconds=30)
    (request,) = api_log(cloud)
    assert request["path"] == "/o/api/v2.2/devices"
    assert (request["query"]["limit"], request["query"]["page"]) == ("50", "1")


def test_the_pages_together_list_every_device_once(cloud, gears, cloud_token):
    listed = [device.hwid for number in (1, 2, 3) for device in gears.list_devices(cloud_token, number).devices]
    assert len(listed) == len(set(listed)) == 120


def test_a_page_past_the_end_is_a_permanent_past_end_error(gears, cloud_token, logs):
    with pytest.raises(GearsPastEnd) as caught:
        gears.list_devices(cloud_token, 4)
    assert (caught.value.status, caught.value.permanent) == (413, True)
    assert_no_leak(caught.value, logs, cloud_token)


def test_a_page_or_limit_the_endpoint_cannot_take_is_refused_before_any_request(cloud, gears, cloud_token):
    for page, limit in ((0, 50), (1, 51), (1, 0), (True, 50)):
        with pytest.raises(ValueError):
            gears.list_devices(cloud_token, page, limit)
    assert api_log(cloud) == []


@pytest.mark.parametrize(
    ("fault", "status", "words"),
    [("fail_next", 500, "HTTP 500"), ("malformed_next", 200, "not JSON")],
)
def test_a_server_error_or_a_malformed_body_is_transient(cloud, gears, cloud_token, logs, fault, status, words):
    control(cloud, "POST", "faults", {fault: 1})
    with pytest.raises(GearsError) as caught:
        gears.list_devices(cloud_token, 1)
    error = caught.value
    assert (error.status, error.permanent) == (status, False)
    assert words in str(error)
    assert_no_leak(error, logs, cloud_token)
    assert len(gears.list_devices(cloud_token, 1).devices) == 50  # the fault was one request


def test_over_the_limit_is_rate_limited_and_a_bad_token_is_an_auth_error(start_upstream, logs):
    cloud = start_upstream(devices=10, limit=1, window=60)
    with GearsClient(cloud.base_url, timeout=5, connect_timeout=2) as gears:
        token = gears.fetch_token(CLIENT_ID, CLIENT_SECRET).access_token
        gears.list_devices(token, 1)
        with pytest.raises(GearsRateLimited) as limited:
            gears.list_devices(token, 1)
        assert limited.value.retry_after > 0
        with pytest.raises(GearsAuthError) as refused:
            gears.list_devices("not-a-token-of-the-cloud", 1)
    assert refused.value.status == 401
    assert_no_leak(limited.value, logs, token)


GOOD_ITEM = {
    "hwid": "1dc0aaaa292ce801f5379042d68bb6cb", "hostname": "ws-1", "status": 1, "exempt": 1,
    "remediation_link": "", "last_seen": "2014-07-18T08:59:00Z",
    "network_info": [{"mac_addr": "00:0c:29:f2:7a:29"}, {"ipv4_addr": "10.0.0.2"}],
}


def test_the_documented_fields_are_read_and_the_v2_exempt_flag_is_passed_on():
    total, (device,) = parse_page({"total": 1, "page": 1, "devices": [GOOD_ITEM]}, 1, 50)
    assert total == 1
    assert device.exempt == EXEMPT_FLAG
    assert device.last_seen == datetime(2014, 7, 18, 8, 59, tzinfo=timezone.utc)
    assert device.macs == ("00:0c:29:f2:7a:29",)
    assert device.remediation_link == ""
    _, (unexempt,) = parse_page({"total": 1, "devices": [{**GOOD_ITEM, "exempt": 0}]}, 1, 50)
    assert unexempt.exempt == "none"
    _, (bare,) = parse_page({"total": 1, "devices": [{"hwid": "H1", "status": 0}]}, 1, 50)
    assert (bare.exempt, bare.remediation_link, bare.last_seen, bare.macs) == (None, None, None, ())


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({"devices": []}, "total"),
        ({"total": -1, "devices": []}, "total"),
        ({"total": 1, "page": 2, "devices": []}, "page 1 was asked for"),
        ({"total": 1, "devices": {}}, "devices is not a list"),
        ({"total": 1, "devices": ["x"]}, "not an object"),
        ({"total": 1, "devices": [{**GOOD_ITEM, "hwid": ""}]}, "hwid"),
        ({"total": 1, "devices": [{**GOOD_ITEM, "status": "1"}]}, "status"),
        ({"total": 1, "devices": [{**GOOD_ITEM, "status": True}]}, "status"),
        ({"total": 1, "devices": [{**GOOD_ITEM, "exempt": "some"}]}, "exempt"),
        ({"total": 1, "devices": [{**GOOD_ITEM, "last_seen": "yesterday"}]}, "last_seen"),
        ({"total": 1, "devices": [{**GOOD_ITEM, "remediation_link": 5}]}, "remediation_link"),
        ({"total": 1, "devices": [{**GOOD_ITEM, "network_info": [{"mac_addr": 7}]}]}, "mac_addr"),
        ({"total": 60, "devices": [GOOD_ITEM] * 51}, "51 devices on a page of 50"),
    ],
)
def test_a_page_that_does_not_fit_the_shape_is_refused_whole(body, words):
    with pytest.raises(ValueError, match=words):
        parse_page(body, 1, 50)
