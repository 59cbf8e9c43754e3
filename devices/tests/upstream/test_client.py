"""The upstream client over real HTTP against the simulator (fakegears).

Every error path also checks that the access token (or client secret) shows
in neither the exception's text, its repr, its formatted traceback, nor any
log line, with every logger, urllib3's included, at DEBUG.
"""

from __future__ import annotations

import logging

import pytest
import requests

from devices.tests.upstream.support import (
    CLIENT_ID,
    CLIENT_SECRET,
    STATIC_TOKEN,
    api_log,
    assert_no_leak,
    control,
    pick,
    request_lines,
    sim_device,
)
from devices.upstream import (
    ACTION_KINDS,
    OPT_HWID,
    OPT_MAC,
    ActionResult,
    GearsAuthError,
    GearsClient,
    GearsError,
    GearsNotFound,
    GearsRateLimited,
    RemediationResult,
    Token,
)


def test_fetch_token_returns_a_token_the_api_accepts(client, simulator):
    token = client.fetch_token(CLIENT_ID, CLIENT_SECRET)
    assert isinstance(token, Token)
    assert token.expires_in == 43199
    assert token.refresh_token is None
    device = pick(simulator, lambda d: d.persistent_agent)
    assert client.device_action(token.access_token, device.hwid, OPT_HWID, "dhcprenew").ok


def test_a_bad_client_secret_is_a_permanent_auth_error_naming_invalid_client(client, logs):
    wrong_secret = "not-the-right-secret-42"
    with pytest.raises(GearsAuthError) as caught:
        client.fetch_token(CLIENT_ID, wrong_secret)
    error = caught.value
    assert str(error).startswith("token request refused: invalid_client")
    assert (error.status, error.permanent, error.ambiguous) == (401, True, False)
    assert_no_leak(error, logs, wrong_secret, CLIENT_SECRET)


def test_a_token_request_during_an_outage_is_transient(start_upstream, logs):
    sim = start_upstream(down=True)
    with GearsClient(sim.base_url) as gears, pytest.raises(GearsError) as caught:
        gears.fetch_token(CLIENT_ID, CLIENT_SECRET)
    assert (caught.value.status, caught.value.permanent, caught.value.ambiguous) == (503, False, False)
    assert_no_leak(caught.value, logs, CLIENT_SECRET)


@pytest.mark.parametrize(
    ("kind", "field", "before", "after"),
    [
        ("exempt_critical", "exempt", "none", "critical"),
        ("exempt_all", "exempt", "none", "all"),
        ("unexempt", "exempt", "all", "none"),
        ("dhcprenew", "dhcp_renewals", 0, 1),
    ],
)
def test_each_action_kind_succeeds_and_changes_the_simulated_device(
    client, token, simulator, kind, field, before, after
):
    device = pick(simulator, lambda d: d.persistent_agent and getattr(d, field) == before)
    result = client.device_action(token, device.hwid, OPT_HWID, kind)
    assert result == ActionResult(ok=True, msg="OK", http_status=200, rate_limit=result.rate_limit)
    assert sim_device(simulator, device.hwid)[field] == after


def test_the_tests_cover_every_action_kind():
    assert set(ACTION_KINDS) == {"dhcprenew", "exempt_critical", "exempt_all", "unexempt"}


def test_a_hwid_is_sent_with_opt_1(client, token, simulator, logs):
    device = pick(simulator, lambda d: d.persistent_agent)
    client.device_action(token, device.hwid, OPT_HWID, "exempt_all")
    [entry] = api_log(simulator)
    assert (entry["method"], entry["path"]) == ("POST", f"/o/api/v2/devices/{device.hwid}/action")
    assert entry["query"] == {"types": "exempt_all", "opt": "1", "access_token": "[redacted]"}
    assert entry["status"] == 200
    sent = f"/o/api/v2/devices/{device.hwid}/action?types=exempt_all&opt=1&access_token=[redacted]"
    assert any(sent in line for line in request_lines(logs))
    assert token not in logs.text


def test_a_mac_is_sent_with_opt_0_and_its_colons_as_documented(client, token, simulator, logs):
    device = pick(simulator, lambda d: d.persistent_agent)
    mac = device.macs[0]
    assert client.device_action(token, mac, OPT_MAC, "dhcprenew").ok
    [entry] = api_log(simulator)
    assert entry["path"] == f"/o/api/v2/devices/{mac}/action"
    assert entry["query"] == {"types": "dhcprenew", "opt": "0", "access_token": "[redacted]"}
    # The target as sent: "00:0c:29:..." and not "00%3A0c%3A29...".
    sent = f'"POST /o/api/v2/devices/{mac}/action?types=dhcprenew&opt=0&access_token=[redacted] '
    assert any(sent in line for line in request_lines(logs))
    assert sim_device(simulator, device.hwid)["dhcp_renewals"] == 1


def test_an_identifier_needing_percent_encoding_reaches_the_simulator_intact(client, token, simulator, logs):
    with pytest.raises(GearsNotFound) as caught:
        client.device_action(token, "x?y#z %41", OPT_HWID, "exempt_all")
    assert caught.value.upstream_msg == "Device not found"
    # With a "/" too. wsgiref decodes %2F before routing, so the simulator
    # answers "Unknown API endpoint" (still a 404), but the path it logged and
    # the query prove that nothing was cut at "?" or "#".
    with pytest.raises(GearsNotFound) as caught_slash:
        client.device_action(token, "a/b?c#d e", OPT_HWID, "exempt_all")
    first, second = api_log(simulator)
    assert first["path"] == "/o/api/v2/devices/x?y#z %41/action"
    assert second["path"] == "/o/api/v2/devices/a/b?c#d e/action"
    for entry in (first, second):
        assert entry["query"] == {"types": "exempt_all", "opt": "1", "access_token": "[redacted]"}
        assert entry["status"] == 404
    sent = "/o/api/v2/devices/a%2Fb%3Fc%23d%20e/action?types=exempt_all&opt=1&"
    assert any(sent in line for line in request_lines(logs))
    for error in (caught.value, caught_slash.value):
        assert_no_leak(error, logs, token)


def test_an_unknown_device_raises_gears_not_found(client, token, logs):
    with pytest.raises(GearsNotFound) as caught:
        client.device_action(token, "00:00:5e:00:53:01", OPT_MAC, "exempt_all")
    error = caught.value
    assert str(error) == "HTTP 404 from the cloud: Device not found"
    assert (error.status, error.permanent, error.ambiguous) == (404, True, False)
    assert_no_leak(error, logs, token)


def test_dhcprenew_without_a_persistent_agent_is_a_failed_result_not_an_error(client, token, simulator):
    device = pick(simulator, lambda d: not d.persistent_agent)
    result = client.device_action(token, device.hwid, OPT_HWID, "dhcprenew")
    assert (result.ok, result.msg, result.http_status) == (False, "Device has no persistent agent", 200)
    assert sim_device(simulator, device.hwid)["dhcp_renewals"] == 0


def test_a_malformed_mac_is_a_permanent_error_with_the_clouds_msg(client, token, logs):
    with pytest.raises(GearsError) as caught:
        client.device_action(token, "not-a-mac", OPT_MAC, "unexempt")
    error = caught.value
    assert str(error) == "HTTP 400 from the cloud: Invalid MAC address"
    assert (error.status, error.permanent, error.ambiguous) == (400, True, False)
    assert_no_leak(error, logs, token)


@pytest.mark.parametrize(
    ("identifier", "opt", "kind"),
    [
        ("00:0c:29:f2:7a:29", OPT_MAC, "reboot"),
        ("00:0c:29:f2:7a:29", OPT_MAC, "DHCPRENEW"),
        ("00:0c:29:f2:7a:29", 2, "dhcprenew"),
        ("00:0c:29:f2:7a:29", True, "dhcprenew"),
        ("00:0c:29:f2:7a:29", "1", "dhcprenew"),
        ("", OPT_MAC, "dhcprenew"),
        ("..", OPT_HWID, "dhcprenew"),
    ],
)
def test_a_bad_kind_opt_or_identifier_raises_value_error_and_sends_nothing(
    client, token, simulator, identifier, opt, kind
):
    with pytest.raises(ValueError):
        client.device_action(token, identifier, opt, kind)
    assert api_log(simulator) == []


@pytest.mark.parametrize(
    ("identifier", "opt"), [("00:0c:29:f2:7a:29", -1), ("00:0c:29:f2:7a:29", None), ("", OPT_MAC)]
)
def test_a_bad_remediation_opt_or_identifier_raises_value_error_and_sends_nothing(
    client, token, simulator, identifier, opt
):
    with pytest.raises(ValueError):
        client.remediation_link(token, identifier, opt)
    assert api_log(simulator) == []


def test_a_device_with_issues_gets_its_remediation_link(client, token, simulator):
    device = pick(simulator, lambda d: d.issues)
    result = client.remediation_link(token, device.hwid, OPT_HWID)
    assert result.state == "link"
    assert result.link.startswith(f"{simulator.base_url}/gears/remediation/")
    assert result.link.endswith(f"/{device.hwid}/{device.remediation_token}/remediation.html")
    assert requests.get(result.link, timeout=5).status_code == 200
    [entry] = api_log(simulator)
    assert entry["path"] == f"/o/api/v2.2/devices/{device.hwid}/remediation"
    assert entry["query"] == {"opt": "1", "access_token": "[redacted]"}


def test_a_device_without_issues_has_no_remediation_link(client, token, simulator):
    device = pick(simulator, lambda d: not d.issues)
    result = client.remediation_link(token, device.macs[0], OPT_MAC)
    assert result == RemediationResult("no_issues", None, "Device has no issues", 200, result.rate_limit)
    assert api_log(simulator)[0]["query"]["opt"] == "0"


def test_remediation_for_an_unknown_device_is_not_found(client, token):
    result = client.remediation_link(token, "00:00:5e:00:53:02", OPT_MAC)
    assert (result.state, result.link, result.http_status) == ("not_found", None, 200)
    assert result.msg == "Device not found"


def test_remediation_answered_with_404_device_not_found_is_not_found_too(start_upstream):
    sim = start_upstream(remediation_unknown_404=True, static_token=STATIC_TOKEN)
    with GearsClient(sim.base_url) as gears:
        result = gears.remediation_link(STATIC_TOKEN, "NOSUCHHWID000001", OPT_HWID)
    assert (result.state, result.http_status) == ("not_found", 404)


def test_a_hostile_remediation_link_is_returned_as_given(start_upstream):
    sim = start_upstream(remediation_link_override="javascript:alert(1)", static_token=STATIC_TOKEN)
    device = pick(sim, lambda d: d.issues)
    with GearsClient(sim.base_url) as gears:
        result = gears.remediation_link(STATIC_TOKEN, device.hwid, OPT_HWID)
    assert (result.state, result.link) == ("link", "javascript:alert(1)")


def test_an_expired_token_raises_a_transient_auth_error(client, token, simulator, logs):
    control(simulator, "POST", "expire-tokens")
    device = pick(simulator, lambda d: d.persistent_agent)
    for call in (
        lambda: client.device_action(token, device.hwid, OPT_HWID, "exempt_all"),
        lambda: client.remediation_link(token, device.hwid, OPT_HWID),
    ):
        with pytest.raises(GearsAuthError) as caught:
            call()
        error = caught.value
        assert (error.status, error.permanent, error.ambiguous) == (401, False, False)
        assert "invalid_token" in str(error)
        assert_no_leak(error, logs, token)


def test_over_the_rate_limit_raises_rate_limited_with_retry_after(start_upstream, logs):
    sim = start_upstream(limit=1, window=30, static_token=STATIC_TOKEN)
    device = pick(sim, lambda d: d.persistent_agent)
    with GearsClient(sim.base_url) as gears:
        first = gears.device_action(STATIC_TOKEN, device.hwid, OPT_HWID, "exempt_all")
        assert (first.rate_limit.limit, first.rate_limit.remaining) == (1, 0)
        assert 0 < first.rate_limit.reset_seconds <= 30
        with pytest.raises(GearsRateLimited) as caught:
            gears.remediation_link(STATIC_TOKEN, device.hwid, OPT_HWID)
    error = caught.value
    assert 0 < error.retry_after <= 30
    assert (error.status, error.permanent, error.ambiguous) == (429, False, False)
    assert str(error) == "HTTP 429 from the cloud: Rate limit exceeded"
    assert_no_leak(error, logs, STATIC_TOKEN)


def test_an_injected_500_is_transient_and_ambiguous(client, token, simulator, logs):
    control(simulator, "POST", "faults", {"fail_next": 1})
    device = pick(simulator, lambda d: d.persistent_agent)
    with pytest.raises(GearsError) as caught:
        client.device_action(token, device.hwid, OPT_HWID, "dhcprenew")
    error = caught.value
    assert str(error) == "HTTP 500 from the cloud: Internal server error (simulated)"
    assert (error.status, error.permanent, error.ambiguous) == (500, False, True)
    assert error.rate_limit is not None
    assert_no_leak(error, logs, token)


def test_a_hang_times_out_as_transient_and_ambiguous(start_upstream, logs):
    sim = start_upstream(static_token=STATIC_TOKEN, hang_next=1)
    device = pick(sim, lambda d: d.persistent_agent)
    with GearsClient(sim.base_url, timeout=0.5, connect_timeout=2) as gears:
        with pytest.raises(GearsError) as caught:
            gears.device_action(STATIC_TOKEN, device.hwid, OPT_HWID, "dhcprenew")
    error = caught.value
    assert str(error) == "timed out after 0.5 s waiting for the cloud"
    assert (error.status, error.permanent, error.ambiguous) == (None, False, True)
    assert_no_leak(error, logs, STATIC_TOKEN)


def test_a_refused_connection_is_transient_and_not_ambiguous(client, token, simulator, logs):
    simulator.refuse_connections()
    with pytest.raises(GearsError) as caught:
        client.device_action(token, "00:0c:29:f2:7a:29", OPT_MAC, "unexempt")
    with pytest.raises(GearsError) as caught_token:
        client.fetch_token(CLIENT_ID, CLIENT_SECRET)
    for error in (caught.value, caught_token.value):
        assert str(error).startswith(f"cannot connect to the cloud at {simulator.base_url}")
        assert (error.status, error.permanent, error.ambiguous) == (None, False, False)
        assert_no_leak(error, logs, token, CLIENT_SECRET)


def test_an_outage_503_is_transient_and_not_ambiguous(client, token, simulator, logs):
    control(simulator, "POST", "faults", {"down": True})
    with pytest.raises(GearsError) as caught:
        client.remediation_link(token, "00:0c:29:f2:7a:29", OPT_MAC)
    error = caught.value
    assert str(error) == "HTTP 503 from the cloud: Service unavailable (simulated outage)"
    assert (error.status, error.permanent, error.ambiguous) == (503, False, False)
    assert_no_leak(error, logs, token)


def test_a_malformed_200_is_a_transient_ambiguous_unexpected_answer(client, token, simulator, logs):
    control(simulator, "POST", "faults", {"malformed_next": 2})
    device = pick(simulator, lambda d: d.issues and d.persistent_agent)
    for call in (
        lambda: client.device_action(token, device.hwid, OPT_HWID, "dhcprenew"),
        lambda: client.remediation_link(token, device.hwid, OPT_HWID),
    ):
        with pytest.raises(GearsError) as caught:
            call()
        error = caught.value
        assert str(error) == "unexpected answer from the cloud (HTTP 200): not JSON"
        assert (error.status, error.permanent, error.ambiguous) == (200, False, True)
        assert_no_leak(error, logs, token)


def test_each_call_logs_one_info_line_with_path_status_and_duration(client, simulator, logs):
    token = client.fetch_token(CLIENT_ID, CLIENT_SECRET).access_token
    device = pick(simulator, lambda d: d.persistent_agent)
    client.device_action(token, device.hwid, OPT_HWID, "unexempt")
    client.remediation_link(token, device.hwid, OPT_HWID)
    lines = [r for r in logs.records if r.name == "devices.upstream.client"]
    assert [r.levelno for r in lines] == [logging.INFO] * 3
    messages = [r.getMessage() for r in lines]
    assert messages[0].startswith("POST /o/oauth/token 200 ")
    assert messages[1].startswith(f"POST /o/api/v2/devices/{device.hwid}/action 200 ")
    assert messages[2].startswith(f"GET /o/api/v2.2/devices/{device.hwid}/remediation 200 ")
    assert all(message.endswith(" ms") and "?" not in message for message in messages)
    assert token not in logs.text and CLIENT_SECRET not in logs.text


def test_a_base_url_that_is_not_http_is_refused():
    with pytest.raises(ValueError):
        GearsClient("localhost:8001")
    with pytest.raises(ValueError):
        GearsClient("https://gears.opswat.com", timeout=0)
