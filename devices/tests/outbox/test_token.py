"""The shared access token: fetched once, reused until near expiry, refreshed once per failed version."""

from __future__ import annotations

import math
from datetime import timedelta

import pytest

from devices import outbox
from devices.models import Action, UpstreamToken
from devices.tests.outbox.test_end_to_end import devices_known, stats
from devices.upstream import GearsAuthError
from gearsdash.env import RateLimit


def test_the_token_is_fetched_once_and_reused(fake_upstream):
    first = outbox.token.current_token(fake_upstream)
    assert outbox.token.current_token(fake_upstream) == first == ("token-01-0123456789abcdef", 1)
    assert len(fake_upstream.calls) == 1


def test_the_token_is_refreshed_shortly_before_it_expires(fake_clock, fake_upstream):
    outbox.token.current_token(fake_upstream)
    fake_clock.advance(3600 - outbox.token.TOKEN_EARLY.total_seconds() - 1)
    assert outbox.token.current_token(fake_upstream)[1] == 1
    fake_clock.advance(2)
    assert outbox.token.current_token(fake_upstream) == ("token-02-0123456789abcdef", 2)
    row = UpstreamToken.objects.get()
    assert row.expires_at == fake_clock.now() + timedelta(seconds=3600)


def test_a_refresh_for_a_version_already_replaced_uses_the_new_token_without_a_request(fake_upstream):
    _, version = outbox.token.current_token(fake_upstream)
    assert outbox.token.refresh_token(fake_upstream, version) == ("token-02-0123456789abcdef", 2)
    # A second worker that failed with the same old version finds it replaced.
    assert outbox.token.refresh_token(fake_upstream, version) == ("token-02-0123456789abcdef", 2)
    assert fake_upstream.granted == 2


def test_refused_credentials_make_the_token_unavailable_without_naming_the_secret(fake_upstream, outbox_settings):
    fake_upstream.tokens.append(GearsAuthError("token request refused: invalid_client", permanent=True))
    with pytest.raises(outbox.token.TokenUnavailable) as caught:
        outbox.token.current_token(fake_upstream)
    assert str(caught.value) == "Could not get an access token: token request refused: invalid_client"
    assert outbox_settings.GEARS_CLIENT_SECRET not in str(caught.value)


def test_a_fixed_access_token_is_used_as_given_and_cannot_be_refreshed(fake_upstream, outbox_settings):
    outbox_settings.GEARS_ACCESS_TOKEN = "fixed-token-from-the-console-0123456789"
    assert outbox.token.current_token(fake_upstream) == ("fixed-token-from-the-console-0123456789", 0)
    with pytest.raises(outbox.token.TokenUnavailable, match="GEARS_ACCESS_TOKEN"):
        outbox.token.refresh_token(fake_upstream, 0)
    assert fake_upstream.calls == [] and not UpstreamToken.objects.filter(access_token__contains="fixed").exists()


def test_a_token_is_refreshed_early_by_the_smaller_of_a_minute_and_a_tenth_of_its_life():
    assert outbox.token.refresh_margin(timedelta(seconds=43199)) == outbox.token.TOKEN_EARLY == timedelta(seconds=60)
    assert outbox.token.refresh_margin(timedelta(seconds=44)) == timedelta(seconds=4.4)


def test_a_token_living_44_s_is_reused_for_nine_tenths_of_its_life(fake_clock, fake_upstream):
    fake_upstream.token_lifetime = 44
    assert outbox.token.current_token(fake_upstream)[1] == 1
    fake_clock.advance(39.5)
    assert outbox.token.current_token(fake_upstream)[1] == 1
    fake_clock.advance(0.2)
    assert outbox.token.current_token(fake_upstream)[1] == 2
    assert fake_upstream.token_requests() == 2


def test_a_drain_with_tokens_living_44_s_costs_one_grant_per_lifetime_not_one_per_call(
        run_drain, fake_upstream, fake_clock, outbox_settings, devices, operator):
    outbox_settings.GEARS_RATE_LIMIT = RateLimit(10, 10.0)
    outbox_settings.GEARS_BATCH_SIZE = 1  # 80 requests, over several lifetimes
    fake_upstream.token_lifetime = 44
    outbox.enqueue_bulk([d.pk for d in devices(80)], "dhcprenew", user=operator)
    started = fake_clock.now()
    while run_drain(max_runtime=45).work_left:
        pass
    assert Action.objects.filter(status="succeeded").count() == 80
    duration = (fake_clock.now() - started).total_seconds()
    assert duration > 60  # several lifetimes
    assert fake_upstream.granted <= math.ceil(duration / (0.9 * 44)) + 1, (fake_upstream.granted, duration)
    calls = [call.token for call in fake_upstream.sent()]
    assert len(set(calls)) == fake_upstream.granted  # every token granted was used


# ------------------------------------------------------------------ on demand, against the simulator


def test_an_idle_console_asks_for_no_token_while_nothing_is_due(upstream, fake_clock, operator):
    sim = upstream(token_lifetime=45)
    device = devices_known(sim, 1)[0]

    def schedule_runs(minutes: int) -> None:
        """The one-minute schedule's drainers, on the fake clock."""
        for _ in range(minutes):
            outbox.drain(max_runtime=5, sleep=fake_clock.sleep, monotonic=fake_clock.monotonic)
            fake_clock.advance(60)

    outbox.enqueue(device, "exempt_all", user=operator)
    schedule_runs(1)
    assert Action.objects.get().status == "succeeded" and stats(sim)["token_grants"] == 1
    schedule_runs(30)  # half an hour idle: the token expired 40 times over
    assert stats(sim)["token_grants"] == 1
    # A retry due in ten minutes is nothing to send now either.
    later = outbox.enqueue(device, "unexempt", user=operator).action
    Action.objects.filter(pk=later.pk).update(status="retrying", not_before=fake_clock.now() + timedelta(minutes=10))
    schedule_runs(9)
    assert stats(sim)["token_grants"] == 1
    schedule_runs(2)  # due now: one token, fetched when it is needed, and the action goes out
    assert stats(sim)["token_grants"] == 2
    assert Action.objects.get(pk=later.pk).status == "succeeded"
