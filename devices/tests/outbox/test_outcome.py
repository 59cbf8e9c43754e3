"""Recording a call's outcome: one handler per kind of answer or error, and the retry backoff."""

from __future__ import annotations

from datetime import timedelta

import pytest

from devices import outbox
from devices.models import Action, Device, RemediationState, UpstreamAttempt
from devices.tests.outbox.fakes import transient
from devices.upstream import (
    ActionResult,
    BulkActionResult,
    GearsAuthError,
    GearsError,
    GearsNotFound,
    GearsRateLimited,
    RemediationResult,
)


@pytest.fixture
def claimed(fake_clock, outbox_settings, devices, operator):
    """`claimed(kind)`: an action of `kind` queued and claimed by worker w1."""

    def claim(kind="exempt_all"):
        outbox.enqueue(devices(1)[0], kind, user=operator)
        return outbox.claim.claim_next("w1")

    return claim


def test_a_confirmed_exemption_succeeds_and_is_stored_on_the_device(fake_clock, claimed):
    claim = claimed("exempt_all")
    fake_clock.advance(0.2)
    action = outbox.outcome.finish(claim, ActionResult(True, "OK", 200, None))
    assert (action.status, action.http_status, action.upstream_msg, action.finished_at) == (
        "succeeded", 200, "OK", fake_clock.now())
    device = Device.objects.get()
    assert (device.exempt_mode, device.exempt_confirmed_at) == ("all", fake_clock.now())
    attempt = UpstreamAttempt.objects.get()
    assert (attempt.outcome, attempt.finished_at, attempt.error) == ("ok", fake_clock.now(), "")


def test_an_action_the_cloud_refuses_fails_with_its_message(claimed):
    action = outbox.outcome.finish(claimed("dhcprenew"), ActionResult(False, "Device has no persistent agent", 200, None))
    assert action.status == "failed" and action.last_error == "The cloud refused it: Device has no persistent agent"


def test_an_unknown_device_fails_with_the_clouds_message(claimed):
    error = GearsNotFound("HTTP 404 from the cloud: Device not found", upstream_msg="Device not found")
    action = outbox.outcome.finish(claimed("dhcprenew"), error)
    assert (action.status, action.http_status, action.upstream_msg) == ("failed", 404, "Device not found")
    assert "Device not found" in action.last_error
    assert UpstreamAttempt.objects.get().outcome == "refused"


def test_a_transient_failure_is_retried_after_a_backoff_and_marked_as_may_have_acted(fake_clock, claimed):
    action = outbox.outcome.finish(claimed(), transient())
    assert (action.status, action.transient_failures, action.may_have_acted) == ("retrying", 1, True)
    assert not action.ambiguous  # not sent again yet
    delay = (action.not_before - fake_clock.now()).total_seconds()
    assert 0.05 * 0.8 <= delay <= 0.05 * 1.2
    assert UpstreamAttempt.objects.get().outcome == "transient"


def test_a_failure_that_never_reached_the_cloud_is_not_ambiguous(claimed):
    action = outbox.outcome.finish(claimed(), transient("cannot connect", ambiguous=False))
    assert action.status == "retrying" and not action.may_have_acted and not action.ambiguous


def test_transient_failures_give_up_at_the_attempt_cap(outbox_settings, claimed):
    outbox_settings.GEARS_MAX_ATTEMPTS = 1
    action = outbox.outcome.finish(claimed(), transient())
    assert action.status == "failed" and action.last_error.startswith("Gave up after 1 attempts: HTTP 500")


def test_a_first_401_requeues_the_call_without_penalty_and_a_second_fails_it(fake_clock, claimed):
    first = outbox.outcome.finish(claimed(), GearsAuthError("HTTP 401 from the cloud"))
    assert (first.status, first.not_before, first.finished_at) == ("queued", fake_clock.now(), None)
    fake_clock.advance(1)  # past the pacing gap
    again = outbox.claim.claim_next("w1")
    second = outbox.outcome.finish(again, GearsAuthError("HTTP 401 from the cloud"))
    assert second.status == "failed"
    assert list(UpstreamAttempt.objects.values_list("outcome", flat=True)) == ["auth", "auth"]


def test_a_429_requeues_the_call_without_penalty(fake_clock, claimed):
    action = outbox.outcome.finish(claimed(), GearsRateLimited("HTTP 429 from the cloud", retry_after=30))
    assert (action.status, action.transient_failures) == ("queued", 0)
    assert "429" in action.last_error


def test_a_remediation_link_is_stored_on_the_device(fake_clock, claimed):
    link = "https://gears.opswat.com/gears/remediation/A/B/C/remediation.html"
    action = outbox.outcome.finish(claimed("remediation"), RemediationResult("link", link, "", 200, None))
    device = Device.objects.get()
    assert action.status == "succeeded" and action.upstream_msg == RemediationState.LINK.label
    assert (device.remediation_state, device.remediation_link, device.remediation_fetched_at) == (
        "link", link, fake_clock.now())


def test_a_failed_fetch_keeps_the_last_good_link_and_says_why(fake_clock, claimed):
    claim = claimed("remediation")
    Device.objects.update(remediation_state="link", remediation_link="https://gears.opswat.com/x")
    outbox.outcome.finish(claim, GearsError("HTTP 400 from the cloud", permanent=True, status=400))
    device = Device.objects.get()
    assert (device.remediation_state, device.remediation_link) == ("link", "https://gears.opswat.com/x")
    assert device.remediation_error == "HTTP 400 from the cloud"


def test_a_failed_first_fetch_shows_an_error_state(claimed):
    outbox.outcome.finish(claimed("remediation"), GearsError("HTTP 400 from the cloud", permanent=True, status=400))
    assert Device.objects.get().remediation_state == "error"


def test_a_long_error_is_cut_to_each_fields_length(claimed):
    action = outbox.outcome.finish(claimed(), GearsError("x" * 1000, permanent=True, status=400, upstream_msg="y" * 1000))
    for field in ("last_error", "upstream_msg"):
        assert len(getattr(action, field)) == Action._meta.get_field(field).max_length
    assert len(UpstreamAttempt.objects.get().error) == UpstreamAttempt._meta.get_field("error").max_length


def test_an_answer_for_a_claim_taken_by_another_worker_is_kept_in_the_log_only(fake_clock, claimed):
    claim = claimed()
    fake_clock.advance(20)  # past the lease: the row goes to another worker
    outbox.claim.claim_next("w2")
    assert outbox.outcome.finish(claim, ActionResult(True, "OK", 200, None)) is None
    action = Action.objects.get()
    assert (action.status, action.claimed_by) == ("sending", "w2")
    assert UpstreamAttempt.objects.get(pk=claim.attempt_id).outcome == "ok"


# ------------------------------------------------------------------ backoff


def test_backoff_doubles_from_the_base(outbox_settings, monkeypatch):
    outbox_settings.GEARS_RETRY_BASE, outbox_settings.GEARS_RETRY_CAP = 30, 1800
    monkeypatch.setattr("random.uniform", lambda low, high: 1.0)
    assert [outbox.outcome.backoff(n).total_seconds() for n in (1, 2, 3, 4)] == [30, 60, 120, 240]


def test_backoff_is_capped(outbox_settings, monkeypatch):
    outbox_settings.GEARS_RETRY_BASE, outbox_settings.GEARS_RETRY_CAP = 30, 1800
    monkeypatch.setattr("random.uniform", lambda low, high: 1.0)
    assert outbox.outcome.backoff(20) == timedelta(seconds=1800)


def test_backoff_jitter_stays_within_twenty_percent_and_varies(outbox_settings):
    outbox_settings.GEARS_RETRY_BASE, outbox_settings.GEARS_RETRY_CAP = 30, 1800
    delays = {outbox.outcome.backoff(3).total_seconds() for _ in range(200)}
    assert all(96 <= delay <= 144 for delay in delays)
    assert max(delays) - min(delays) > 20  # spread, not one value


# ------------------------------------------------------------------ 401s and token versions


@pytest.fixture
def two_in_flight(fake_clock, outbox_settings, fake_upstream, devices, operator):
    """Two calls sent with the same token (version 1), not yet answered."""
    for device in devices(2):
        outbox.enqueue(device, "dhcprenew", user=operator)
    _, version = outbox.token.current_token(fake_upstream)
    first = outbox.claim.claim_next("w1")
    fake_clock.advance(0.2)
    second = outbox.claim.claim_next("w2")
    assert isinstance(first, outbox.claim.Claim) and isinstance(second, outbox.claim.Claim) and version == 1
    return first, second


UNAUTHORIZED = GearsAuthError("HTTP 401 from the cloud: invalid_token")


def test_two_overlapping_401s_retry_both_with_the_new_token_and_fail_nothing(fake_upstream, two_in_flight):
    first, second = two_in_flight
    outbox.outcome.finish(first, UNAUTHORIZED, 1)
    outbox.token.refresh_token(fake_upstream, 1)  # what send() does after a 401
    action = outbox.outcome.finish(second, UNAUTHORIZED, 1)  # sent with the old token before the refresh
    assert (action.status, action.not_before, action.transient_failures) == ("queued", outbox.db_now(), 0)
    assert "new access token" in action.last_error
    assert Action.objects.filter(status="queued").count() == 2
    state = outbox.upstream_state()
    assert (state.pause_kind, state.blocked_until, state.consecutive_auth_failures) == ("", None, 1)
    assert list(UpstreamAttempt.objects.order_by("pk").values_list("token_version", flat=True)) == [1, 1]


def test_a_second_401_for_the_same_token_before_its_refresh_fails_nothing(two_in_flight):
    first, second = two_in_flight
    outbox.outcome.finish(first, UNAUTHORIZED, 1)
    action = outbox.outcome.finish(second, UNAUTHORIZED, 1)  # both answered before anyone refreshed
    assert action.status == "queued" and outbox.upstream_state().pause_kind == ""


def test_a_401_for_the_refreshed_token_too_fails_the_action_and_pauses_sending(
        fake_clock, fake_upstream, two_in_flight):
    first, second = two_in_flight
    outbox.outcome.finish(first, UNAUTHORIZED, 1)
    outbox.token.refresh_token(fake_upstream, 1)
    outbox.outcome.finish(second, UNAUTHORIZED, 1)
    fake_clock.advance(1)
    again = outbox.claim.claim_next("w1")
    action = outbox.outcome.finish(again, UNAUTHORIZED, 2)  # the new token is refused as well
    assert action.status == "failed"
    state = outbox.upstream_state()
    assert state.pause_kind == "auth" and "GEARS_CLIENT_SECRET" in state.block_reason


# ------------------------------------------------------------------ batches


@pytest.fixture
def batch(fake_clock, outbox_settings, devices, operator):
    """`batch(n, kind)`: n bulk actions of `kind` queued and claimed by w1 as one batch."""

    def claim(count=3, kind="exempt_all"):
        outbox.enqueue_bulk([d.pk for d in devices(count)], kind, user=operator)
        claimed = outbox.claim.claim_next("w1")
        assert isinstance(claimed, outbox.claim.Batch) and len(claimed.action_ids) == count
        return claimed

    return claim


def actions_of(claimed) -> list[Action]:
    by_id = Action.objects.select_related("device").in_bulk(claimed.action_ids)
    return [by_id[pk] for pk in claimed.action_ids]


def test_each_item_of_a_bulk_answer_lands_on_its_own_action(fake_clock, batch):
    claimed = batch(3, "exempt_all")
    fake_clock.advance(0.2)
    written = outbox.outcome.finish_batch(claimed, BulkActionResult((True, False, True), 200, None))
    assert len(written) == 3
    first, unknown, third = actions_of(claimed)
    for action in (first, third):
        assert (action.status, action.http_status, action.last_error, action.finished_at) == (
            "succeeded", 200, "", fake_clock.now())
        assert (action.device.exempt_mode, action.device.exempt_confirmed_at) == ("all", fake_clock.now())
    assert unknown.status == "failed"
    assert unknown.last_error == f"The cloud has no device with HWID {unknown.device.hwid}."
    assert unknown.device.exempt_mode is None
    attempt = UpstreamAttempt.objects.get()
    assert (attempt.outcome, attempt.items, attempt.http_status) == ("ok", 3, 200)


def test_an_unknown_mac_in_a_batch_fails_with_the_mac_in_its_message(fake_clock, outbox_settings, make_device,
                                                                     operator):
    device = make_device("by-mac", macs=["02:00:00:00:00:07"])
    outbox.enqueue_bulk([device.pk], "dhcprenew", user=operator)
    claimed = outbox.claim.claim_next("w1")
    (action,) = outbox.outcome.finish_batch(claimed, BulkActionResult((False,), 200, None))
    assert action.last_error == "The cloud has no device with MAC address 02:00:00:00:00:07."


def test_a_500_on_a_batch_retries_each_action_and_the_breaker_counts_one_failure(fake_clock, batch):
    claimed = batch(4)
    outbox.outcome.finish_batch(claimed, transient())
    assert set(Action.objects.values_list("status", "transient_failures", "may_have_acted")) == {("retrying", 1, True)}
    assert outbox.upstream_state().consecutive_failures == 1
    assert UpstreamAttempt.objects.get().outcome == "transient"


def test_a_401_on_a_batch_queues_each_action_again_for_the_new_token(fake_clock, batch):
    claimed = batch(3)
    outbox.outcome.finish_batch(claimed, GearsAuthError("HTTP 401 from the cloud"), token_version=1)
    assert set(Action.objects.values_list("status", flat=True)) == {"queued"}
    assert outbox.upstream_state().consecutive_auth_failures == 1


def test_a_429_on_a_batch_is_honoured_and_the_alarm_advises_a_smaller_batch_size(fake_clock, batch):
    claimed = batch(3)
    outbox.outcome.finish_batch(claimed, GearsRateLimited("HTTP 429 from the cloud", retry_after=40))
    assert set(Action.objects.values_list("status", "transient_failures")) == {("queued", 0)}
    state = outbox.upstream_state()
    assert state.rate_limited_count == 1 and state.blocked_until == fake_clock.now() + timedelta(seconds=40)
    assert "batch of 3 devices" in state.last_alarm and "lower GEARS_BATCH_SIZE (now 50)" in state.last_alarm
    assert "GEARS_BATCH_SIZE" in state.block_reason


def test_a_batch_the_cloud_refuses_fails_each_action_with_its_message(batch):
    claimed = batch(2)
    outbox.outcome.finish_batch(claimed, GearsError("HTTP 400 from the cloud: Malformed JSON body", permanent=True,
                                            status=400, upstream_msg="Malformed JSON body"))
    assert set(Action.objects.values_list("status", "http_status", "upstream_msg")) == {
        ("failed", 400, "Malformed JSON body")}


def test_an_action_taken_from_the_worker_keeps_its_new_owners_decision(fake_clock, batch):
    claimed = batch(3)
    taken = claimed.action_ids[1]
    Action.objects.filter(pk=taken).update(claimed_by="w2")
    written = outbox.outcome.finish_batch(claimed, BulkActionResult((True, True, True), 200, None))
    assert [a.pk for a in written] == [claimed.action_ids[0], claimed.action_ids[2]]
    assert Action.objects.get(pk=taken).status == "sending"
