"""The budget read-model: window usage, the next slot, queue rank and estimated send times."""

from __future__ import annotations

from datetime import timedelta

import pytest

from devices import outbox
from devices.models import Action, UpstreamAttempt
from gearsdash.env import RateLimit


def test_queue_rank_counts_priority_then_not_before_then_id(fake_clock, outbox_settings, devices, operator):
    a, b, c, d = devices(4)
    bulk = outbox.enqueue_bulk([a.pk, b.pk], "dhcprenew", user=operator).actions.order_by("id")
    first_bulk, second_bulk = list(bulk)
    click = outbox.enqueue(c, "dhcprenew", user=operator).action
    fake_clock.advance(1)
    later_click = outbox.enqueue(d, "dhcprenew", user=operator).action
    # A retry delay moves a click behind the later one.
    Action.objects.filter(pk=click.pk).update(not_before=fake_clock.now() + timedelta(seconds=5))
    click.refresh_from_db()
    assert [outbox.queue_rank(x) for x in (later_click, click, first_bulk, second_bulk)] == [0, 1, 2, 3]


def test_actions_that_no_longer_wait_are_not_counted_ahead(fake_clock, outbox_settings, devices, operator):
    a, b = devices(2)
    first = outbox.enqueue(a, "dhcprenew", user=operator).action
    second = outbox.enqueue(b, "dhcprenew", user=operator).action
    outbox.cancel(first, user=operator)
    assert outbox.queue_rank(second) == 0


def test_a_click_is_estimated_at_the_next_slot_and_a_batch_after_it(
        fake_clock, outbox_settings, devices, operator):
    *bulk_devices, clicked = devices(6)
    job = outbox.enqueue_bulk([d.pk for d in bulk_devices], "dhcprenew", user=operator)
    click = outbox.enqueue(clicked, "exempt_all", user=operator).action
    view = outbox.budget_view()
    assert (view.backlog, view.backlog_calls) == (6, 2) and view.click_slot == fake_clock.now()
    assert outbox.estimated_send_time(click, view) == view.click_slot
    # The five bulk renewals share one request, the one after the click.
    after_click = view.click_slot + timedelta(seconds=view.seconds_per_call)
    assert {outbox.estimated_send_time(a, view) for a in job.actions.all()} == {after_click}
    assert view.drained_at == after_click


def test_an_action_waiting_for_its_retry_time_is_not_estimated_before_it(fake_clock, outbox_settings, devices,
                                                                        operator):
    action = outbox.enqueue(devices(1)[0], "dhcprenew", user=operator).action
    retry_at = fake_clock.now() + timedelta(seconds=30)
    Action.objects.filter(pk=action.pk).update(not_before=retry_at)
    action.refresh_from_db()
    assert outbox.estimated_send_time(action) == retry_at


def test_an_action_that_no_longer_waits_has_no_estimate(fake_clock, outbox_settings, devices, operator):
    action = outbox.enqueue(devices(1)[0], "dhcprenew", user=operator).action
    outbox.cancel(action, user=operator)
    action.refresh_from_db()
    assert outbox.estimated_send_time(action) is None


def test_the_view_counts_attempts_in_the_window_and_waits_for_a_slot_when_full(
        fake_clock, outbox_settings, devices, operator):
    action = outbox.enqueue(devices(1)[0], "dhcprenew", user=operator).action
    now = fake_clock.now()
    for i in range(10):  # the whole budget, finished a moment ago
        UpstreamAttempt.objects.create(action=action, started_at=now - timedelta(seconds=0.5 - i * 0.01),
                                       finished_at=now - timedelta(seconds=0.4 - i * 0.01), worker="w")
    view = outbox.budget_view()
    assert (view.used, view.limit, view.window) == (10, 10, 1.0)
    # The oldest attempt frees its slot at its finish + W + margin.
    assert view.next_slot == now - timedelta(seconds=0.4) + timedelta(seconds=1.02)
    fake_clock.advance(2)
    assert outbox.budget_view().used == 0


def test_a_pause_shows_in_the_view_and_holds_the_next_slot(fake_clock, outbox_settings):
    outbox.breaker.pause("The cloud failed 3 times in a row", 300)
    view = outbox.budget_view()
    assert view.paused and view.block_reason == "The cloud failed 3 times in a row"
    assert view.next_slot == fake_clock.now() + timedelta(seconds=300)
    assert view.pause_kind == "failures"


def test_seconds_per_call_follows_the_recent_latency(fake_clock, outbox_settings, devices, operator):
    assert outbox.budget.average_latency() == pytest.approx(0.2)  # nothing measured yet
    action = outbox.enqueue(devices(1)[0], "dhcprenew", user=operator).action
    now = fake_clock.now()
    for latency in (0.1, 0.3):
        UpstreamAttempt.objects.create(action=action, started_at=now, finished_at=now + timedelta(seconds=latency),
                                       worker="w")
    assert outbox.budget.average_latency() == pytest.approx(0.2)
    assert outbox.budget_view().seconds_per_call == pytest.approx((1.0 + 0.2 + 0.02) / 10)


def ids(devices) -> list[int]:
    return [d.pk for d in devices]


def test_3000_exempt_all_go_in_60_requests_at_nine_per_window_not_five_hours(
        fake_clock, outbox_settings, operator, lab_devices, django_assert_max_num_queries):
    outbox_settings.GEARS_RATE_LIMIT = RateLimit(10, 60)
    job = outbox.enqueue_bulk(ids(lab_devices(3000)), "exempt_all", user=operator)
    view = outbox.budget_view()
    assert (view.backlog, view.backlog_calls, view.batch_size) == (3000, 60, 50)
    # Bulk calls leave one slot of every window to clicks: 9 per window, not 10.
    assert view.bulk_seconds_per_call == pytest.approx(view.seconds_per_call * 10 / 9)
    batched = (view.drained_at - view.now).total_seconds()
    assert 6 * 60 < batched < 7 * 60
    last = job.actions.order_by("-id").first()
    with django_assert_max_num_queries(4):  # a few aggregates, however long the queue
        assert outbox.estimated_send_time(last, view) == view.drained_at
    assert outbox.estimated_finish(job.actions.all(), view) == view.drained_at

    outbox_settings.GEARS_BATCH_SIZE = 1
    one_by_one = outbox.budget_view()
    assert one_by_one.backlog_calls == 3000
    assert (one_by_one.drained_at - one_by_one.now).total_seconds() > 45 * batched  # 2,999 spacings, not 59


def test_with_batching_off_every_bulk_action_is_a_request_of_its_own(fake_clock, outbox_settings, devices, operator):
    outbox_settings.GEARS_BATCH_SIZE = 1
    job = outbox.enqueue_bulk([d.pk for d in devices(5)], "dhcprenew", user=operator)
    view = outbox.budget_view()
    etas = [outbox.estimated_send_time(a, view) for a in job.actions.order_by("id")]
    assert etas == [view.bulk_slot + timedelta(seconds=k * view.bulk_seconds_per_call) for k in range(5)]


def test_mixed_identifier_types_make_two_batches_not_one(fake_clock, outbox_settings, operator, lab_devices):
    by_hwid, by_mac = ids(lab_devices(30)), ids(lab_devices(30, hwid=False))
    interleaved = [pk for pair in zip(by_hwid, by_mac, strict=True) for pk in pair]
    job = outbox.enqueue_bulk(interleaved, "exempt_all", user=operator)
    view = outbox.budget_view()
    assert view.backlog_calls == 2
    eta = {a.device_id: outbox.estimated_send_time(a, view) for a in job.actions.select_related("device")}
    first_call, second_call = view.bulk_slot, view.bulk_slot + timedelta(seconds=view.bulk_seconds_per_call)
    assert {eta[pk] for pk in by_hwid} == {first_call}  # the first action has a HWID: its batch goes first
    assert {eta[pk] for pk in by_mac} == {second_call}
    assert outbox.estimated_finish(job.actions.all(), view) == second_call == view.drained_at


def test_batches_go_out_in_the_order_of_their_first_action(fake_clock, outbox_settings, operator, lab_devices):
    first = outbox.enqueue_bulk(ids(lab_devices(50)), "dhcprenew", user=operator)
    between = outbox.enqueue_bulk(ids(lab_devices(10)), "exempt_all", user=operator)
    # A full batch ahead: these renewals start a second one, after the exemptions' batch.
    last = outbox.enqueue_bulk(ids(lab_devices(10)), "dhcprenew", user=operator)
    critical = outbox.enqueue_bulk(ids(lab_devices(2)), "exempt_critical", user=operator)  # one device per call
    view = outbox.budget_view()
    assert view.backlog_calls == 5

    def calls(job):
        return {round((outbox.estimated_send_time(a, view) - view.bulk_slot) / timedelta(seconds=view.bulk_seconds_per_call))
                for a in job.actions.all()}

    assert (calls(first), calls(between), calls(last), calls(critical)) == ({0}, {1}, {2}, {3, 4})


def test_a_click_goes_in_the_slot_bulk_work_leaves_free(fake_clock, outbox_settings, devices, operator):
    *bulk_devices, clicked = devices(4)
    job = outbox.enqueue_bulk([d.pk for d in bulk_devices], "dhcprenew", user=operator)
    action = job.actions.first()
    now = fake_clock.now()
    for i in range(9):  # nine of the ten slots taken a moment ago
        UpstreamAttempt.objects.create(action=action, started_at=now - timedelta(seconds=0.5 - i * 0.01),
                                       finished_at=now - timedelta(seconds=0.4 - i * 0.01), worker="w")
    click = outbox.enqueue(clicked, "exempt_all", user=operator).action
    view = outbox.budget_view()
    assert view.reserved == 1 and view.reserved_free
    assert outbox.estimated_send_time(click, view) == view.click_slot == now
    # Bulk work waits for the oldest attempt to free a slot, and goes after the click.
    assert view.bulk_slot == now - timedelta(seconds=0.4) + timedelta(seconds=1.02)
    assert outbox.estimated_send_time(action, view) == view.bulk_slot
    UpstreamAttempt.objects.create(action=action, started_at=now, finished_at=now, worker="w")
    full = outbox.budget_view()
    assert not full.reserved_free and now < full.click_slot < full.bulk_slot  # bulk waits for two to free
