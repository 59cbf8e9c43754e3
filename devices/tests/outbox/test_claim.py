"""Claiming: the next due action in priority order, only within the budget, and lost claims put back."""

from __future__ import annotations

from datetime import timedelta

from devices import outbox
from devices.models import Action, Device, UpstreamAttempt, UpstreamId
from devices.upstream import ActionResult
from gearsdash.env import RateLimit


def test_nothing_waiting_is_idle(fake_clock, outbox_settings):
    assert outbox.claim.claim_next("w1") == outbox.claim.IDLE


def test_a_due_action_is_claimed_and_its_attempt_logged(fake_clock, outbox_settings, devices, operator):
    device = devices(1)[0]
    action = outbox.enqueue(device, "exempt_all", user=operator).action
    claim = outbox.claim.claim_next("w1")
    assert claim == outbox.claim.Claim(action.pk, UpstreamAttempt.objects.get().pk, "w1", "exempt_all", UpstreamId(device.hwid, 1))
    action.refresh_from_db()
    assert (action.status, action.claimed_by, action.attempts, action.first_sent_at) == (
        "sending", "w1", 1, fake_clock.now())
    assert action.lease_until == fake_clock.now() + timedelta(seconds=1.5) + outbox.claim.LEASE_EXTRA


def test_a_device_without_hwid_is_claimed_by_its_primary_mac(fake_clock, outbox_settings, make_device, operator):
    device = make_device("by-mac", macs=["00:0c:29:f2:7a:29", "00:0c:29:f2:7a:30"])
    outbox.enqueue(device, "dhcprenew", user=operator)
    claim = outbox.claim.claim_next("w1")
    assert (claim.target.value, claim.target.opt) == ("00:0c:29:f2:7a:29", 0)


def test_a_device_with_neither_hwid_nor_mac_fails_without_a_call(fake_clock, outbox_settings, operator):
    device = Device.objects.create(name="bare")
    action = outbox.enqueue(device, "dhcprenew", user=operator).action
    assert outbox.claim.claim_next("w1") == outbox.claim.Wait(fake_clock.now())
    action.refresh_from_db()
    assert action.status == "failed" and "neither a HWID nor a MAC" in action.last_error
    assert not UpstreamAttempt.objects.exists()


def test_a_full_window_makes_the_claim_wait_for_the_slot_to_free(fake_clock, outbox_settings, devices, operator):
    outbox_settings.GEARS_RATE_LIMIT = RateLimit(1, 60.0)
    a, b = devices(2)
    outbox.enqueue(a, "dhcprenew", user=operator)
    outbox.enqueue(b, "dhcprenew", user=operator)
    first = outbox.claim.claim_next("w1")
    fake_clock.advance(0.3)
    outbox.outcome.finish(first, ActionResult(True, "OK", 200, None))
    step = outbox.claim.claim_next("w1")
    assert step == outbox.claim.Wait(fake_clock.now() + timedelta(seconds=60.02))
    fake_clock.advance(60.02)
    assert isinstance(outbox.claim.claim_next("w1"), outbox.claim.Claim)


def test_an_action_waiting_for_its_retry_time_makes_the_claim_wait_until_then(fake_clock, outbox_settings,
                                                                             devices, operator):
    action = outbox.enqueue(devices(1)[0], "dhcprenew", user=operator).action
    retry_at = fake_clock.now() + timedelta(seconds=7)
    Action.objects.filter(pk=action.pk).update(not_before=retry_at, status="retrying")
    assert outbox.claim.claim_next("w1") == outbox.claim.Wait(retry_at)


def test_a_device_gets_one_call_at_a_time_for_the_same_change(fake_clock, outbox_settings, devices, operator):
    device = devices(1)[0]
    outbox.enqueue(device, "exempt_all", user=operator)
    assert isinstance(outbox.claim.claim_next("w1"), outbox.claim.Claim)
    outbox.enqueue(device, "unexempt", user=operator)  # waits: exempt_all is on its way
    assert outbox.claim.claim_next("w2") == outbox.claim.Wait(fake_clock.now() + timedelta(seconds=0.5))


def test_clicks_are_claimed_before_bulk_work(fake_clock, outbox_settings, devices, operator):
    *bulk, clicked = devices(3)
    outbox.enqueue_bulk([d.pk for d in bulk], "dhcprenew", user=operator)
    outbox.enqueue(clicked, "exempt_critical", user=operator)
    assert outbox.claim.claim_next("w1").kind == "exempt_critical"


def test_a_claim_whose_worker_vanished_goes_back_to_the_queue_marked_ambiguous(fake_clock, outbox_settings,
                                                                              devices, operator):
    outbox.enqueue(devices(1)[0], "exempt_all", user=operator)
    lost = outbox.claim.claim_next("worker-that-dies")
    fake_clock.advance(1.5 + outbox.claim.LEASE_EXTRA.total_seconds() + 0.1)  # past its lease
    again = outbox.claim.claim_next("w2")
    assert again.action_id == lost.action_id and again.worker == "w2"
    action = Action.objects.get()
    assert (action.attempts, action.ambiguous, action.claimed_by) == (2, True, "w2")
    assert UpstreamAttempt.objects.get(pk=lost.attempt_id).outcome == "lost"


def test_a_claim_within_its_lease_is_left_alone(fake_clock, outbox_settings, devices, operator):
    outbox.enqueue(devices(1)[0], "exempt_all", user=operator)
    outbox.claim.claim_next("w1")
    fake_clock.advance(1.0)
    assert outbox.claim.reap_lost(fake_clock.now()) == 0
    assert Action.objects.get().claimed_by == "w1"


def lose(fake_clock, worker: str = "worker-that-dies"):
    """Claim the next action and let its worker die: the lease runs out without an answer."""
    claim = outbox.claim.claim_next(worker)
    assert isinstance(claim, outbox.claim.Claim)
    fake_clock.advance(1.5 + outbox.claim.LEASE_EXTRA.total_seconds() + 0.1)
    return claim


def test_a_lost_attempt_counts_as_a_transient_failure_and_the_breaker_hears_of_it(fake_clock, outbox_settings,
                                                                                   devices, operator):
    outbox.enqueue(devices(1)[0], "exempt_all", user=operator)
    lose(fake_clock)
    assert outbox.claim.reap_lost(fake_clock.now()) == 1
    action = Action.objects.get()
    # It may have acted; it is ambiguous once it is sent again.
    assert (action.status, action.transient_failures, action.may_have_acted, action.ambiguous) == (
        "retrying", 1, True, False)
    assert outbox.upstream_state().consecutive_failures == 1


def test_an_action_whose_worker_dies_on_every_attempt_fails_for_good_after_max_attempts(fake_clock, outbox_settings,
                                                                                      devices, operator):
    outbox_settings.GEARS_MAX_ATTEMPTS = 3
    outbox_settings.GEARS_BREAKER_THRESHOLD = 99  # this test is about the attempts, not the pause
    outbox.enqueue(devices(1)[0], "exempt_all", user=operator)
    for _ in range(3):
        lose(fake_clock)
    assert outbox.claim.claim_next("w2") == outbox.claim.IDLE  # reaped, out of attempts: nothing left to send
    action = Action.objects.get()
    assert (action.status, action.attempts, action.transient_failures) == ("failed", 3, 3)
    assert action.last_error == "Gave up after 3 attempts: the worker sending it stopped before the answer came"
    assert UpstreamAttempt.objects.count() == 3


def test_lost_attempts_in_a_row_pause_sending_like_any_failures(fake_clock, outbox_settings, devices, operator):
    for device in devices(3):
        outbox.enqueue(device, "dhcprenew", user=operator)
    for _ in range(3):
        outbox.claim.claim_next("worker-that-dies")
        fake_clock.advance(0.11)
    fake_clock.advance(1.5 + outbox.claim.LEASE_EXTRA.total_seconds())
    step = outbox.claim.claim_next("w2")
    state = outbox.upstream_state()
    assert state.consecutive_failures == 3 and state.pause_kind == "failures"
    assert "the worker sending it stopped" in state.block_reason
    assert step == outbox.claim.Wait(state.blocked_until)


def test_an_action_already_past_max_attempts_is_failed_at_claim_without_a_call(fake_clock, outbox_settings,
                                                                              devices, operator):
    action = outbox.enqueue(devices(1)[0], "dhcprenew", user=operator).action
    Action.objects.filter(pk=action.pk).update(attempts=8, status="retrying", last_error="HTTP 500 from the cloud")
    assert outbox.claim.claim_next("w1") == outbox.claim.Wait(fake_clock.now())
    action.refresh_from_db()
    assert action.status == "failed" and not UpstreamAttempt.objects.exists()
    assert action.last_error == "Gave up after 8 attempts (GEARS_MAX_ATTEMPTS is 8); the last: HTTP 500 from the cloud"


# ------------------------------------------------------------------ batches


def mac_only(make_device, count: int, start: int = 1) -> list[Device]:
    return [make_device(f"mac-{i:03d}", macs=[f"02:00:00:00:01:{i:02x}"]) for i in range(start, start + count)]


def test_bulk_actions_of_one_kind_and_identifier_type_are_claimed_as_one_batch_and_one_attempt(
        fake_clock, outbox_settings, devices, make_device, operator):
    by_hwid, by_mac = devices(3), mac_only(make_device, 2)
    outbox.enqueue_bulk([d.pk for d in by_hwid + by_mac], "exempt_all", user=operator)
    outbox.enqueue_bulk([d.pk for d in by_hwid], "dhcprenew", user=operator)
    first = outbox.claim.claim_next("w1")
    attempt = UpstreamAttempt.objects.get()
    assert first == outbox.claim.Batch(attempt.pk, "w1", "exempt_all", 1, first.action_ids, tuple(d.hwid for d in by_hwid))
    assert attempt.items == 3
    for action in Action.objects.filter(pk__in=first.action_ids):
        assert (action.status, action.claimed_by, action.attempts, action.current_attempt_id, action.opt) == (
            "sending", "w1", 1, attempt.pk, 1)
        assert action.identifier == action.device.hwid and action.first_sent_at == fake_clock.now()
    fake_clock.advance(1)
    second = outbox.claim.claim_next("w1")
    assert (second.kind, second.opt, second.identifiers) == ("exempt_all", 0, tuple(d.primary_mac for d in by_mac))
    fake_clock.advance(1)
    third = outbox.claim.claim_next("w1")
    assert (third.kind, third.opt, len(third.action_ids)) == ("dhcprenew", 1, 3)
    assert UpstreamAttempt.objects.count() == 3


def test_a_batch_holds_at_most_gears_batch_size_actions_in_claim_order(fake_clock, outbox_settings, devices, operator):
    outbox_settings.GEARS_BATCH_SIZE = 2
    job = outbox.enqueue_bulk([d.pk for d in devices(5)], "unexempt", user=operator)
    ids = list(job.actions.order_by("id").values_list("pk", flat=True))
    batches = []
    for _ in range(3):
        batches.append(outbox.claim.claim_next("w1").action_ids)
        fake_clock.advance(1)
    assert batches == [tuple(ids[0:2]), tuple(ids[2:4]), tuple(ids[4:5])]


def test_with_a_batch_size_of_1_bulk_actions_go_one_per_request(fake_clock, outbox_settings, devices, operator):
    outbox_settings.GEARS_BATCH_SIZE = 1
    outbox.enqueue_bulk([d.pk for d in devices(3)], "exempt_all", user=operator)
    assert isinstance(outbox.claim.claim_next("w1"), outbox.claim.Claim)


def test_clicks_exempt_critical_and_page_views_go_alone(fake_clock, outbox_settings, devices, operator):
    clicked, *bulk = devices(5)
    outbox.enqueue_bulk([d.pk for d in bulk], "exempt_critical", user=operator)  # the bulk endpoint lacks it
    outbox.enqueue_bulk([d.pk for d in bulk], "dhcprenew", user=operator)
    outbox.enqueue(clicked, "dhcprenew", user=operator)
    click = outbox.claim.claim_next("w1")
    assert isinstance(click, outbox.claim.Claim) and click.target.value == clicked.hwid
    fake_clock.advance(1)
    critical = outbox.claim.claim_next("w1")
    assert isinstance(critical, outbox.claim.Claim) and critical.kind == "exempt_critical"
    assert Action.objects.filter(status="sending").count() == 2


def test_a_device_without_identifier_and_an_action_out_of_attempts_are_left_out_and_handled_alone(
        fake_clock, outbox_settings, devices, make_device, operator):
    first, *rest = devices(3)
    bare = Device.objects.create(name="bare")
    job = outbox.enqueue_bulk([first.pk, bare.pk, *[d.pk for d in rest]], "dhcprenew", user=operator)
    spent = job.actions.get(device=rest[0])
    Action.objects.filter(pk=spent.pk).update(attempts=8)
    batch = outbox.claim.claim_next("w1")
    assert batch.identifiers == (first.hwid, rest[1].hwid)
    fake_clock.advance(1)
    assert outbox.claim.claim_next("w1") == outbox.claim.Wait(fake_clock.now())  # the bare device fails alone
    assert outbox.claim.claim_next("w1") == outbox.claim.Wait(fake_clock.now())  # and the spent action gives up
    assert job.actions.get(device=bare).last_error == "The device has neither a HWID nor a MAC address."
    assert job.actions.get(pk=spent.pk).last_error.startswith("Gave up after 8 attempts")
    assert UpstreamAttempt.objects.count() == 1


def test_a_lost_batch_goes_back_to_the_queue_and_counts_as_one_failure(fake_clock, outbox_settings, devices,
                                                                      operator):
    outbox.enqueue_bulk([d.pk for d in devices(4)], "exempt_all", user=operator)
    lost = outbox.claim.claim_next("worker-that-dies")
    fake_clock.advance(1.5 + outbox.claim.LEASE_EXTRA.total_seconds() + 0.1)
    assert outbox.claim.reap_lost(fake_clock.now()) == 4
    assert set(Action.objects.values_list("status", "may_have_acted", "transient_failures")) == {("retrying", True, 1)}
    assert outbox.upstream_state().consecutive_failures == 1  # one request, not four
    assert UpstreamAttempt.objects.get(pk=lost.attempt_id).outcome == "lost"


def test_bulk_work_leaves_the_last_slot_of_the_window_to_a_click(fake_clock, outbox_settings, devices, operator):
    outbox_settings.GEARS_BATCH_SIZE = 1
    *bulk, clicked = devices(11)
    outbox.enqueue_bulk([d.pk for d in bulk], "dhcprenew", user=operator)
    for _ in range(9):
        assert isinstance(outbox.claim.claim_next("w1"), outbox.claim.Claim)
        fake_clock.advance(0.1)
    assert isinstance(outbox.claim.claim_next("w1"), outbox.claim.Wait)  # 9 of 10 slots taken: bulk waits
    outbox.enqueue(clicked, "exempt_all", user=operator)
    click = outbox.claim.claim_next("w1")
    assert isinstance(click, outbox.claim.Claim) and click.target.value == clicked.hwid
