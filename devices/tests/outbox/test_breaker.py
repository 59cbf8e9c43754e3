"""The circuit breaker: when sending pauses, for how long, and what ends each kind of pause."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import IntegrityError, transaction

from devices import outbox
from devices.models import UpstreamState
from devices.tests.outbox.fakes import transient
from devices.upstream import ActionResult, GearsAuthError, GearsNotFound, GearsRateLimited
from gearsdash.env import RateLimit

OK = ActionResult(True, "OK", 200, None)
RATE_LIMITED = GearsRateLimited("HTTP 429 from the cloud", retry_after=30)


@pytest.fixture
def in_flight(fake_clock, outbox_settings, devices, operator):
    """`in_flight(n)`: n calls claimed one after another (each after the pacing gap), not yet answered."""

    def claim(count: int) -> list[outbox.claim.Claim]:
        claims = []
        for device in devices(count):
            outbox.enqueue(device, "dhcprenew", user=operator)
        for _ in range(count):
            fake_clock.advance(0.1)
            claims.append(outbox.claim.claim_next(f"w{len(claims)}"))
        assert all(isinstance(c, outbox.claim.Claim) for c in claims)
        return claims

    return claim


def answer(claim, outcome) -> UpstreamState:
    outbox.outcome.finish(claim, outcome)
    return outbox.upstream_state()


def test_sending_pauses_after_the_threshold_of_failures_in_a_row_and_says_why(fake_clock, in_flight):
    first, second, third = in_flight(3)
    assert not answer(first, transient()).blocked_until
    assert not answer(second, transient()).blocked_until
    state = answer(third, transient())
    pause = (state.blocked_until - fake_clock.now()).total_seconds()
    assert 0.05 * 0.8 <= pause <= 0.05  # jitter only shortens it
    assert state.pause_kind == "failures"
    assert state.block_reason == "3 failures in a row, the last: HTTP 500 from the cloud"


def test_the_failures_pause_doubles_with_each_failure_up_to_the_cap(outbox_settings):
    outbox_settings.GEARS_RETRY_BASE, outbox_settings.GEARS_RETRY_CAP = 30, 1800
    long_outage = 24 * 3600
    assert [outbox.breaker.failures_pause(n, long_outage) for n in (3, 4, 5, 6)] == [30, 60, 120, 240]
    assert outbox.breaker.failures_pause(20, long_outage) == 1800


def test_the_failures_pause_is_at_most_a_quarter_of_the_time_failing_so_far(outbox_settings):
    # So a 30 s outage never holds sending back for more than about 10 s after it ends.
    outbox_settings.GEARS_RETRY_BASE, outbox_settings.GEARS_RETRY_CAP = 30, 1800
    assert [outbox.breaker.failures_pause(n, t) for n, t in ((3, 12), (4, 15), (6, 40))] == [3, 3.75, 10]
    assert outbox.breaker.failures_pause(1, 0, threshold=1) == 1  # the first step


def test_sending_resumes_within_10_s_of_the_end_of_a_30_s_outage_at_the_real_limit(
        fake_clock, outbox_settings, devices, operator):
    outbox_settings.GEARS_RATE_LIMIT = RateLimit(10, 60.0)
    outbox_settings.GEARS_RETRY_BASE, outbox_settings.GEARS_RETRY_CAP = 30, 1800  # the defaults
    for device in devices(20):
        outbox.enqueue(device, "dhcprenew", user=operator)
    outage_ends = None
    while True:
        step = outbox.claim.claim_next("w")
        if isinstance(step, outbox.claim.Wait):
            fake_clock.advance(max((step.until - fake_clock.now()).total_seconds(), 0.001))
            continue
        if outage_ends is None:
            outage_ends = fake_clock.now() + timedelta(seconds=30)  # it began just before this call
        if fake_clock.now() >= outage_ends:
            break
        answer(step, transient("cannot connect to the cloud", ambiguous=False))
    assert (fake_clock.now() - outage_ends) <= timedelta(seconds=10)


def test_an_answered_call_lifts_a_failures_pause(in_flight, outbox_settings):
    outbox_settings.GEARS_RETRY_BASE = 60  # a pause still in force when the answer comes
    *failing, answered = in_flight(4)
    for claim in failing:
        state = answer(claim, transient())
    assert state.pause_kind == "failures"
    state = answer(answered, OK)
    assert (state.blocked_until, state.pause_kind, state.block_reason, state.consecutive_failures) == (
        None, "", "", 0)


def test_a_refused_request_counts_as_an_answer_not_a_failure(in_flight):
    failing, refused = in_flight(2)
    answer(failing, transient())
    assert answer(refused, GearsNotFound("HTTP 404 from the cloud")).consecutive_failures == 0


def test_a_429_pauses_until_its_reset_time_and_raises_an_alarm(fake_clock, in_flight):
    (claim,) = in_flight(1)
    state = answer(claim, RATE_LIMITED)
    assert state.blocked_until == fake_clock.now() + timedelta(seconds=30)
    assert (state.pause_kind, state.rate_limited_count, state.last_alarm_at) == ("rate_limited", 1, fake_clock.now())
    assert "429" in state.last_alarm and "30 s" in state.last_alarm


def test_an_answered_call_does_not_lift_a_429_pause_early(in_flight):
    answered, refused = in_flight(2)
    until = answer(refused, RATE_LIMITED).blocked_until
    state = answer(answered, OK)  # it was in flight when the 429 came
    assert (state.blocked_until, state.pause_kind) == (until, "rate_limited")
    assert "429" in state.block_reason


def test_a_429_pause_ends_when_its_reset_time_passes(fake_clock, in_flight, devices, operator):
    (claim,) = in_flight(1)
    answer(claim, RATE_LIMITED)
    assert outbox.claim.claim_next("w1") == outbox.claim.Wait(fake_clock.now() + timedelta(seconds=30))
    fake_clock.advance(30)
    assert isinstance(outbox.claim.claim_next("w1"), outbox.claim.Claim)  # the same action, sent again


def test_a_transient_failure_does_not_shorten_a_longer_429_pause(in_flight, outbox_settings):
    outbox_settings.GEARS_BREAKER_THRESHOLD = 1
    failing, refused = in_flight(2)
    until = answer(refused, RATE_LIMITED).blocked_until
    state = answer(failing, transient())
    assert (state.blocked_until, state.pause_kind) == (until, "rate_limited")


def test_two_401s_in_a_row_pause_sending_and_ask_to_check_the_credentials(fake_clock, in_flight):
    first, second = in_flight(2)
    assert not answer(first, GearsAuthError("HTTP 401 from the cloud")).blocked_until
    state = answer(second, GearsAuthError("HTTP 401 from the cloud"))
    assert state.blocked_until == fake_clock.now() + outbox.breaker.AUTH_PAUSE
    assert state.pause_kind == "auth" and "GEARS_CLIENT_SECRET" in state.block_reason


def test_resume_lifts_any_pause_and_resets_the_counts(in_flight):
    (claim,) = in_flight(1)
    answer(claim, RATE_LIMITED)
    outbox.resume()
    state = outbox.upstream_state()
    assert (state.blocked_until, state.pause_kind, state.block_reason, state.consecutive_failures) == (
        None, "", "", 0)


def test_the_database_refuses_an_unknown_pause_kind(db):
    outbox.upstream_state()
    with pytest.raises(IntegrityError), transaction.atomic():
        UpstreamState.objects.update(pause_kind="sulking")
