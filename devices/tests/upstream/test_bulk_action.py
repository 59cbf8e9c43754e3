"""Devices Action v2.0 (bulk) over real HTTP: against the simulator, and against a local server that
answers what the simulator never would (a result list of the wrong shape)."""

from __future__ import annotations

import json
from http.server import BaseHTTPRequestHandler

import pytest

from devices.tests.upstream.support import STATIC_TOKEN, api_log, assert_no_leak, control, pick, serving, sim_device
from devices.upstream import (
    BULK_ACTION_KINDS,
    BULK_PATH,
    OPT_HWID,
    OPT_MAC,
    BulkActionResult,
    GearsAuthError,
    GearsClient,
    GearsError,
    GearsRateLimited,
)


def test_each_item_gets_its_own_result_in_the_order_sent(client, token, simulator):
    known = [d for d in simulator.state.devices if d.persistent_agent][:3]
    hwids = [known[0].hwid, "UNKNOWN0000000000", known[1].hwid, known[2].hwid]
    result = client.bulk_device_action(token, "exempt_all", hwids, OPT_HWID)
    assert result == BulkActionResult(applied=(True, False, True, True), http_status=200,
                                      rate_limit=result.rate_limit)
    assert all(sim_device(simulator, d.hwid)["exempt"] == "all" for d in known)
    [entry] = api_log(simulator)
    assert (entry["method"], entry["path"], entry["query"]) == ("POST", BULK_PATH, {"access_token": "[redacted]"})


def test_macs_go_as_a_mac_list_with_opt_0(client, token, simulator):
    device = pick(simulator, lambda d: d.persistent_agent)
    result = client.bulk_device_action(token, "dhcprenew", [device.macs[0], "02:00:00:00:00:01"], OPT_MAC)
    assert result.applied == (True, False)
    assert sim_device(simulator, device.hwid)["dhcp_renewals"] == 1


def test_the_body_is_the_documented_json_and_the_token_stays_in_the_query():
    seen = {}

    def answer(handler: BaseHTTPRequestHandler) -> None:
        seen["target"] = handler.path
        seen["type"] = handler.headers.get("Content-Type")
        seen["body"] = json.loads(handler.rfile.read(int(handler.headers["Content-Length"])))
        body = json.dumps({"result": [1, 0]}).encode()
        handler.send_response(200)
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)

    with serving(answer) as base_url, GearsClient(base_url, timeout=2, connect_timeout=1) as gears:
        result = gears.bulk_device_action(STATIC_TOKEN, "unexempt", ("HWIDA", "HWIDB"), OPT_HWID)
    assert result.applied == (True, False)
    assert seen["target"] == f"{BULK_PATH}?access_token={STATIC_TOKEN}"
    assert seen["type"] == "application/json"
    assert seen["body"] == {"types": "unexempt", "HWID_list": ["HWIDA", "HWIDB"], "opt": 1}


@pytest.mark.parametrize(
    ("body", "why"),
    [
        ({"result": 1}, "result is not a list"),
        ({"result": [1]}, "1 results for 2 devices"),
        ({"result": [1, 0, 1]}, "3 results for 2 devices"),
        ({"result": [1, 2]}, "a result is neither 0 nor 1"),
        ({"result": [True, False]}, "a result is neither 0 nor 1"),
        ({"result": [1, "0"]}, "a result is neither 0 nor 1"),
        ({"msg": "OK"}, "result is not a list"),
        ([1, 0], "not a JSON object"),
    ],
)
def test_an_answer_that_cannot_be_matched_to_the_items_is_a_transient_ambiguous_error(body, why, logs):
    def answer(handler: BaseHTTPRequestHandler) -> None:
        handler.rfile.read(int(handler.headers["Content-Length"]))
        data = json.dumps(body).encode()
        handler.send_response(200)
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)

    with serving(answer) as base_url, GearsClient(base_url, timeout=2, connect_timeout=1) as gears:
        with pytest.raises(GearsError) as caught:
            gears.bulk_device_action(STATIC_TOKEN, "dhcprenew", ["HWIDA", "HWIDB"], OPT_HWID)
    error = caught.value
    assert str(error) == f"unexpected answer from the cloud (HTTP 200): {why}"
    assert (error.status, error.permanent, error.ambiguous) == (200, False, True)
    assert_no_leak(error, logs, STATIC_TOKEN)


def test_a_malformed_200_from_the_simulator_is_the_same_error(client, token, simulator, logs):
    control(simulator, "POST", "faults", {"malformed_next": 1})
    with pytest.raises(GearsError) as caught:
        client.bulk_device_action(token, "dhcprenew", ["HWIDA"], OPT_HWID)
    assert str(caught.value) == "unexpected answer from the cloud (HTTP 200): not JSON"
    assert (caught.value.permanent, caught.value.ambiguous) == (False, True)
    assert_no_leak(caught.value, logs, token)


def test_http_errors_are_classed_as_for_the_other_calls(start_upstream, logs):
    sim = start_upstream(limit=1, window=60, static_token=STATIC_TOKEN)
    with GearsClient(sim.base_url, timeout=2, connect_timeout=1) as gears:
        assert gears.bulk_device_action(STATIC_TOKEN, "dhcprenew", ["HWIDA"], OPT_HWID).applied == (False,)
        with pytest.raises(GearsRateLimited) as limited:
            gears.bulk_device_action(STATIC_TOKEN, "dhcprenew", ["HWIDA"], OPT_HWID)
        assert limited.value.retry_after > 1 and not limited.value.ambiguous
        with pytest.raises(GearsAuthError) as refused:
            gears.bulk_device_action("not-a-token-we-were-given", "dhcprenew", ["HWIDA"], OPT_HWID)
        assert (refused.value.status, refused.value.permanent) == (401, False)
    sim = start_upstream(fail_next=1, static_token=STATIC_TOKEN)
    with GearsClient(sim.base_url, timeout=2, connect_timeout=1) as gears:
        with pytest.raises(GearsError) as failed:
            gears.bulk_device_action(STATIC_TOKEN, "dhcprenew", ["HWIDA"], OPT_HWID)
    assert (failed.value.status, failed.value.permanent, failed.value.ambiguous) == (500, False, True)
    for error in (limited.value, refused.value, failed.value):
        assert_no_leak(error, logs, STATIC_TOKEN)


def test_a_400_is_a_permanent_error_with_the_clouds_message(logs):
    def answer(handler: BaseHTTPRequestHandler) -> None:
        handler.rfile.read(int(handler.headers["Content-Length"]))
        data = json.dumps({"result": 0, "msg": "Malformed JSON body"}).encode()
        handler.send_response(400)
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)

    with serving(answer) as base_url, GearsClient(base_url, timeout=2, connect_timeout=1) as gears:
        with pytest.raises(GearsError) as caught:
            gears.bulk_device_action(STATIC_TOKEN, "dhcprenew", ["HWIDA"], OPT_HWID)
    error = caught.value
    assert str(error) == "HTTP 400 from the cloud: Malformed JSON body"
    assert (error.status, error.permanent, error.ambiguous) == (400, True, False)
    assert_no_leak(error, logs, STATIC_TOKEN)


def test_bad_arguments_are_refused_before_any_request(client, token, simulator):
    with pytest.raises(ValueError, match="kind must be one of"):
        client.bulk_device_action(token, "exempt_critical", ["HWIDA"], OPT_HWID)
    with pytest.raises(ValueError, match="opt must be"):
        client.bulk_device_action(token, "dhcprenew", ["HWIDA"], 2)
    with pytest.raises(ValueError, match="non-empty list"):
        client.bulk_device_action(token, "dhcprenew", [], OPT_HWID)
    with pytest.raises(ValueError, match="non-empty list"):
        client.bulk_device_action(token, "dhcprenew", ["HWIDA", ""], OPT_HWID)
    assert api_log(simulator) == []
    assert set(BULK_ACTION_KINDS) == {"dhcprenew", "exempt_all", "unexempt"}
