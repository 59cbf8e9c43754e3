"""`manage.py check_cloud`: a first day's connection check against the simulator, over real HTTP."""

from __future__ import annotations

import io
import re
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command

from devices.models import PauseKind, UpstreamAttempt, UpstreamState
from devices.outbox import db_now
from devices.tests.cloudcheck.conftest import issued_tokens
from devices.tests.launchers import free_port
from devices.tests.upstream.support import CLIENT_SECRET, STATIC_TOKEN, api_log, control
from gearsdash.env import RateLimit

pytestmark = pytest.mark.django_db

WRONG_SECRET = "not-the-secret-7d1e4c"


def check(*args) -> tuple[str, str]:
    """Run the command: (its output, "" when it passed, else its error message)."""
    out = io.StringIO()
    try:
        call_command("check_cloud", *args, stdout=out)
    except CommandError as failed:
        return out.getvalue(), str(failed)
    return out.getvalue(), ""


def line(output: str, topic: str) -> str:
    return "\n".join(row for row in output.splitlines() if row.startswith(topic + ":"))


def assert_no_secret(text: str, *secrets: str) -> None:
    for secret in (CLIENT_SECRET, *secrets):
        assert secret not in text
    assert "access_token" not in text and "?" not in text  # no token, no URL with its query


def test_a_good_cloud_passes_and_spends_exactly_one_request_of_the_budget(cloud):
    output, problem = check()
    assert problem == ""
    assert "HTTP 200" in line(output, "Answered")
    assert "not used" in line(output, "TLS")
    assert "GEARS_CLIENT_ID and GEARS_CLIENT_SECRET accepted: a token for 43,199 s (11 h 59 min)" in line(output, "Credentials")
    assert 'an object with the list under "devices", with a count of 40 devices in all' in line(output, "Page")
    assert re.search(r"X-RateLimit-Limit 10, X-RateLimit-Remaining \d+, X-RateLimit-Reset-Time [\d.]+ s from now",
                     line(output, "Rate limit"))
    assert "Date header" in line(output, "Clock")
    assert output.rstrip().endswith("The connection to the cloud works.")
    attempt = UpstreamAttempt.objects.get()
    assert attempt.connection_check and attempt.outcome == UpstreamAttempt.Outcome.OK and attempt.finished_at
    assert [entry["path"] for entry in api_log(cloud)] == ["/o/api/v2.2/devices"]
    assert_no_secret(output, *issued_tokens(cloud))


def test_with_a_static_token_the_check_skips_the_grant_and_says_so(start_upstream, upstream, settings):
    cloud = upstream(static_token=STATIC_TOKEN)
    settings.GEARS_ACCESS_TOKEN = STATIC_TOKEN
    output, problem = check()
    assert problem == ""
    assert "GEARS_ACCESS_TOKEN is set: no token grant" in output and "GEARS_ACCESS_TOKEN accepted" in output
    assert cloud.state.token_grants == {}
    assert_no_secret(output, STATIC_TOKEN)


def test_refused_client_credentials_fail_naming_the_variables_and_spend_nothing(cloud, settings):
    settings.GEARS_CLIENT_SECRET = WRONG_SECRET
    output, problem = check()
    assert "The cloud refused the credentials" in problem
    assert "GEARS_CLIENT_ID and GEARS_CLIENT_SECRET" in problem
    assert not UpstreamAttempt.objects.exists()  # the grant is no call of the budget, and no page was asked for
    assert_no_secret(output + problem, WRONG_SECRET)


def test_a_refused_static_token_fails_naming_the_token_variable(upstream, settings):
    upstream(static_token=STATIC_TOKEN)
    settings.GEARS_ACCESS_TOKEN = "static-wrong-0b7c9d2e-4f1a"
    output, problem = check()
    assert "The cloud refused GEARS_ACCESS_TOKEN" in problem and "GEARS_CLIENT_ID and GEARS_CLIENT_SECRET" in problem
    assert UpstreamAttempt.objects.get().outcome == UpstreamAttempt.Outcome.AUTH
    assert_no_secret(output + problem, settings.GEARS_ACCESS_TOKEN, STATIC_TOKEN)


def test_a_closed_port_fails_saying_the_host_could_not_be_reached_and_what_to_check(cloud, settings):
    settings.GEARS_BASE_URL = f"http://127.0.0.1:{free_port()}"
    _, problem = check()
    assert problem.startswith("The cloud could not be reached")
    assert "refused the connection" in problem and "host and port in GEARS_BASE_URL" in problem


def test_an_unknown_host_name_fails_pointing_at_the_name_and_dns(cloud, settings):
    settings.GEARS_BASE_URL = "http://gears.invalid"  # .invalid never resolves (RFC 2606)
    _, problem = check()
    assert "host name of http://gears.invalid was not found" in problem and "DNS" in problem


def test_a_certificate_of_an_unknown_ca_fails_pointing_at_the_ca_bundle_setting(start_upstream, upstream, settings,
                                                                                 self_signed):
    upstream()
    cert, key = self_signed
    sim = start_upstream(tls_cert=cert, tls_key=key)
    settings.GEARS_BASE_URL = sim.base_url
    _, problem = check()
    assert problem.startswith("TLS failed") and "could not be verified (self-signed certificate)" in problem
    assert "set GEARS_CA_BUNDLE to the path of a PEM file" in problem
    assert not UpstreamAttempt.objects.exists()


def test_with_the_ca_bundle_set_the_check_passes_and_reports_tls_verified(start_upstream, upstream, settings,
                                                                          self_signed):
    upstream()
    cert, key = self_signed
    sim = start_upstream(tls_cert=cert, tls_key=key)
    settings.GEARS_BASE_URL, settings.GEARS_CA_BUNDLE = sim.base_url, cert
    output, problem = check()
    assert problem == ""
    assert "verified against the bundle GEARS_CA_BUNDLE names" in line(output, "TLS")


def test_an_answer_it_cannot_read_fails_with_a_clear_message(cloud):
    control(cloud, "POST", "faults", {"malformed_next": 1})
    _, problem = check()
    assert "The cloud answered, but not in a way the console can read" in problem and "not JSON" in problem
    assert "GEARS_BASE_URL" in problem
    assert UpstreamAttempt.objects.get().outcome == UpstreamAttempt.Outcome.UNREADABLE  # the cloud answered: no outage


def full_window() -> timedelta:
    """Fill the budget (10 per second) with answered calls: the next slot is a window away."""
    now = db_now()
    UpstreamAttempt.objects.bulk_create([UpstreamAttempt(started_at=now, finished_at=now, worker="w") for _ in range(10)])
    return timedelta(seconds=1.02)  # the window and its margin


def test_with_the_budget_taken_the_check_waits_for_the_next_slot_a_click_could_take_and_says_so(cloud):
    frees = db_now() + full_window()
    output, problem = check()
    assert problem == ""
    assert "no request of the budget is free now: waiting until" in line(output, "Budget")
    assert UpstreamAttempt.objects.get(connection_check=True).started_at >= frees - timedelta(milliseconds=50)


def test_the_wait_for_a_slot_is_bounded(cloud):
    full_window()
    _, problem = check("--wait", "0")
    assert problem.startswith("No request of the budget could be had: every request of the budget (10 per 1 s) is taken")
    assert not UpstreamAttempt.objects.filter(connection_check=True).exists()


@pytest.mark.parametrize("cause", ["token", "page"])
def test_no_failure_leaves_the_checks_attempt_open(cloud, settings, cause):
    if cause == "token":
        settings.GEARS_CLIENT_SECRET = WRONG_SECRET
    else:
        control(cloud, "POST", "faults", {"fail_next": 1})
    check()
    assert not UpstreamAttempt.objects.filter(finished_at__isnull=True).exists()


def test_a_429_fails_naming_the_rate_limit_pauses_sending_and_the_next_check_waits_for_its_end(upstream):
    # The cloud allows 1 request per 30 s, the console believes 10 per second: another client shares the account.
    upstream(limit=1, window=30, our_limit=RateLimit(10, 1.0))
    assert check()[1] == ""
    _, problem = check()
    assert problem.startswith("The cloud refused the request as over its rate limit")
    state = UpstreamState.objects.get()
    assert state.pause_kind == PauseKind.RATE_LIMITED and state.blocked_until > db_now()
    _, problem = check("--wait", "0")
    assert problem.startswith("No request of the budget could be had: the cloud asked for a pause (429) until")
    assert UpstreamAttempt.objects.count() == 2


def test_a_pause_for_failures_does_not_hold_the_check_back(cloud):
    from devices import outbox

    outbox.breaker.pause("The cloud failed 3 times in a row", 300)
    output, problem = check("--wait", "0")
    assert problem == "" and "HTTP 200" in line(output, "Answered")


def test_checks_run_back_to_back_are_paced_as_clicks_and_the_grant_waits_with_the_page(upstream):
    upstream(limit=10, window=1.0, our_limit=RateLimit(2, 1.0))  # clicks at least 0.45 s apart
    assert check()[1] == ""
    output, problem = check()
    assert problem == ""
    rows = output.splitlines()
    waited = next(n for n, row in enumerate(rows) if "waiting until" in row)
    granted = next(n for n, row in enumerate(rows) if row.startswith("Credentials:"))
    assert waited < granted  # no token is asked for before the slot is free
    first, second = UpstreamAttempt.objects.order_by("started_at")
    assert (second.started_at - first.started_at).total_seconds() >= 0.45 - 0.01


def test_a_cloud_that_does_not_answer_in_time_fails_pointing_at_the_timeout(cloud):
    control(cloud, "POST", "faults", {"hang_next": 1, "hang_seconds": 5})
    _, problem = check()
    assert problem.startswith("The cloud did not answer in time") and "GEARS_TIMEOUT" in problem
    assert UpstreamAttempt.objects.get().finished_at is not None
