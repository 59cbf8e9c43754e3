"""Get Devices v2.2 over real HTTP against the simulator, in every envelope it can play, and each page checked."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

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
    assert (page.count, page.page, page.limit, page.pages_total, len(page.devices)) == (120, 1, 50, 3, 50)
    assert (page.envelope, page.skipped, page.is_last) == ("devices", (), False)
    simulated = {device["hwid"]: device for device in control(cloud, "GET", "devices")["devices"]}
    now = datetime.now(UTC)
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
    assert (error.status, error.permanent, error.unreadable) == (status, False, fault == "malformed_next")
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
    parsed = parse_page({"total": 1, "page": 1, "devices": [GOOD_ITEM]}, 1, 50)
    (device,) = parsed.devices
    assert (parsed.envelope, parsed.count, parsed.skipped) == ("devices", 1, ())
    assert device.exempt == EXEMPT_FLAG
    assert device.last_seen == datetime(2014, 7, 18, 8, 59, tzinfo=UTC)
    assert device.macs == ("00:0c:29:f2:7a:29",)
    assert device.remediation_link == ""
    (unexempt,) = parse_page({"total": 1, "devices": [{**GOOD_ITEM, "exempt": 0}]}, 1, 50).devices
    assert unexempt.exempt == "none"
    (bare,) = parse_page({"total": 1, "devices": [{"hwid": "H1", "status": 0}]}, 1, 50).devices
    assert (bare.exempt, bare.remediation_link, bare.last_seen, bare.macs) == (None, None, None, ())


@pytest.mark.parametrize(
    ("body", "envelope", "count"),
    [
        ([GOOD_ITEM, GOOD_ITEM], "array", None),
        ({"devices": [GOOD_ITEM, GOOD_ITEM]}, "devices", None),
        ({"total": 7, "devices": [GOOD_ITEM, GOOD_ITEM]}, "devices", 7),
        ({"total_count": 7, "page": 1, "devices": [GOOD_ITEM, GOOD_ITEM]}, "devices", 7),
        ({"results": [GOOD_ITEM, GOOD_ITEM]}, "results", None),
        ({"total_count": 7, "limit": 50, "results": [GOOD_ITEM, GOOD_ITEM]}, "results", 7),
        # A count is a hint: one that is no count is ignored, never a reason to refuse the page.
        ({"total": -1, "devices": [GOOD_ITEM, GOOD_ITEM]}, "devices", None),
        ({"total": "7", "results": [GOOD_ITEM, GOOD_ITEM]}, "results", None),
    ],
)
def test_a_page_is_read_from_each_envelope_with_or_without_a_count(body, envelope, count):
    parsed = parse_page(body, 1, 50)
    assert (parsed.envelope, parsed.count, len(parsed.devices), parsed.skipped) == (envelope, count, 2, ())


def test_an_empty_list_in_any_envelope_is_an_empty_page():
    for body in ([], {"devices": []}, {"results": [], "total": 0}):
        assert parse_page(body, 3, 50).devices == ()


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({"total": 1}, "the cloud's page had no list of devices"),
        ({"total": 1, "items": []}, "the cloud's page had no list of devices"),
        ("devices", "the cloud's page had no list of devices"),
        (None, "the cloud's page had no list of devices"),
        (7, "the cloud's page had no list of devices"),
        ({"total": 1, "page": 2, "devices": []}, "page 1 was asked for"),
        ({"total": 1, "devices": {}}, "devices is not a list"),
        ({"results": "none"}, "results is not a list"),
        ({"total": 60, "devices": [GOOD_ITEM] * 51}, "51 devices on a page of 50"),
        ([GOOD_ITEM] * 51, "51 devices on a page of 50"),
    ],
)
def test_a_page_whose_envelope_does_not_fit_is_refused_whole(body, words):
    with pytest.raises(ValueError, match=words):
        parse_page(body, 1, 50)


@pytest.mark.parametrize(
    ("item", "words"),
    [
        ("x", "device 2 on the page is not an object"),
        ({**GOOD_ITEM, "hwid": ""}, "device 2 on the page: hwid"),
        ({**GOOD_ITEM, "hostname": 5}, "device 2 on the page: hostname"),
        ({**GOOD_ITEM, "status": "1"}, "device 2 on the page: status"),
        ({**GOOD_ITEM, "status": True}, "device 2 on the page: status"),
        ({**GOOD_ITEM, "exempt": "some"}, "device 2 on the page: exempt"),
        ({**GOOD_ITEM, "last_seen": "yesterday"}, "device 2 on the page: last_seen"),
        ({**GOOD_ITEM, "remediation_link": 5}, "device 2 on the page: remediation_link"),
        ({**GOOD_ITEM, "network_info": [{"mac_addr": 7}]}, "device 2 on the page: a mac_addr"),
    ],
)
def test_a_device_that_does_not_fit_is_skipped_with_a_note_and_the_rest_of_the_page_stands(item, words):
    good = {**GOOD_ITEM, "hwid": "GOOD2"}
    parsed = parse_page({"devices": [GOOD_ITEM, item, good]}, 1, 50)
    assert [device.hwid for device in parsed.devices] == [GOOD_ITEM["hwid"], "GOOD2"]
    (note,) = parsed.skipped
    assert note.startswith(words) and note.endswith("skipped")
    assert "yesterday" not in note and "some" not in note  # positions and fields, never values


@pytest.mark.parametrize(
    ("settings", "envelope", "count"),
    [
        ({"devices_envelope": "array"}, "array", None),
        ({"devices_envelope": "devices", "devices_count": "none"}, "devices", None),
        ({"devices_envelope": "devices", "devices_count": "total_count"}, "devices", 120),
        ({"devices_envelope": "results", "devices_count": "none"}, "results", None),
        ({"devices_envelope": "results", "devices_count": "total"}, "results", 120),
    ],
)
def test_each_envelope_the_simulator_plays_is_read_over_http_to_the_short_last_page(
        cloud, gears, cloud_token, settings, envelope, count):
    control(cloud, "POST", "faults", settings)
    pages = [gears.list_devices(cloud_token, number) for number in (1, 2, 3)]
    assert [(page.envelope, page.count, len(page.devices), page.is_last) for page in pages] == [
        (envelope, count, 50, False), (envelope, count, 50, False), (envelope, count, 20, True)]
    assert len({device.hwid for page in pages for device in page.devices}) == 120


def test_past_the_end_as_an_empty_page_is_read_as_the_last_page(cloud, gears, cloud_token):
    control(cloud, "POST", "faults", {"past_end": "empty", "devices_envelope": "array"})
    page = gears.list_devices(cloud_token, 9)
    assert (page.devices, page.is_last, page.http_status) == ((), True, 200)


def test_an_answer_without_a_list_of_devices_is_unreadable_and_names_what_did_not_fit(
        start_upstream, cloud, gears, cloud_token, logs):
    control(cloud, "POST", "faults", {"malformed_next": 1})
    with pytest.raises(GearsError) as caught:
        gears.list_devices(cloud_token, 1)
    error = caught.value
    assert (error.unreadable, error.permanent, error.status) == (True, False, 200)
    assert "the cloud's page had no list of devices" in str(error)
    assert_no_leak(error, logs, cloud_token)


def test_a_page_with_a_broken_device_reads_the_other_49_over_http(cloud, gears, cloud_token):
    control(cloud, "POST", "faults", {"broken_device_next": 1})
    page = gears.list_devices(cloud_token, 1)
    assert (len(page.devices), page.listed, page.is_last) == (49, 50, False)
    assert page.skipped == ("device 1 on the page: hwid is not a non-empty string: skipped",)
