"""Drainer slots: how many drainers send at once, and how soon a dead one's slot is free again.

On PostgreSQL a slot is an advisory lock of the holder's session (free the moment its connection
dies); elsewhere a short lease renewed at every turn of the drain loop.
"""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import connection

from devices import outbox
from devices.models import Action, DrainerSlot, UpstreamAttempt
from devices.outbox.slots import SLOT_LEASE

leases_only = pytest.mark.skipif(connection.vendor == "postgresql", reason="PostgreSQL slots are locks, not leases")
postgres_only = pytest.mark.skipif(connection.vendor != "postgresql", reason="advisory locks need PostgreSQL")


def test_no_more_drainers_than_slots_run_at_once(fake_clock, outbox_settings):
    assert outbox.slots.take_slot("a") and outbox.slots.take_slot("b")
    assert not outbox.slots.take_slot("c")
    assert set(DrainerSlot.objects.values_list("holder", flat=True)) == {"a", "b"}
    outbox.slots.release_slot("a")
    outbox.slots.release_slot("b")


@leases_only
def test_a_slot_whose_holder_stopped_renewing_is_free_within_seconds(fake_clock, outbox_settings):
    outbox.slots.take_slot("a")
    outbox.slots.take_slot("b")
    fake_clock.advance(SLOT_LEASE.total_seconds() + 0.1)
    assert outbox.slots.take_slot("c")
    assert SLOT_LEASE <= timedelta(seconds=10)


@leases_only
def test_a_renewed_slot_stays_taken_and_a_lost_one_says_so(fake_clock, outbox_settings):
    outbox.slots.take_slot("a")
    outbox.slots.take_slot("b")
    fake_clock.advance(4)
    assert outbox.slots.renew_slot("a")
    fake_clock.advance(2)
    assert outbox.slots.take_slot("c")  # b's lease passed
    assert not outbox.slots.take_slot("d")  # a's was renewed
    assert not outbox.slots.renew_slot("b")  # b learns it lost its slot: its drainer stops


def test_a_released_slot_is_free_at_once(fake_clock, outbox_settings):
    outbox.slots.take_slot("a")
    outbox.slots.take_slot("b")
    outbox.slots.release_slot("a")
    assert outbox.slots.take_slot("c")
    outbox.slots.release_slot("b")
    outbox.slots.release_slot("c")


def test_a_drain_with_every_slot_taken_sends_nothing_and_a_finished_one_frees_its_slot(
        run_drain, fake_upstream, devices, operator):
    outbox.enqueue(devices(1)[0], "dhcprenew", user=operator)
    outbox.slots.take_slot("a", timedelta(minutes=5))
    outbox.slots.take_slot("b", timedelta(minutes=5))
    report = run_drain()
    assert report.skipped and report.sent == 0 and fake_upstream.calls == []
    outbox.slots.release_slot("b")
    assert run_drain().sent == 1
    assert sorted(DrainerSlot.objects.values_list("holder", flat=True)) == ["", "", "a"]  # b's, and the standby
    outbox.slots.release_slot("a")


def test_the_standby_takes_a_slot_as_soon_as_one_frees_and_sends(fake_upstream, fake_clock, devices, operator):
    outbox.enqueue(devices(1)[0], "dhcprenew", user=operator)
    outbox.slots.take_slot("a", timedelta(minutes=5))
    outbox.slots.take_slot("b", timedelta(minutes=5))
    naps = []

    def sleep(seconds: float) -> None:
        naps.append(seconds)
        fake_clock.sleep(seconds)
        if len(naps) == 3:  # b's drainer dies (or ends its run) while work waits
            outbox.slots.release_slot("b")

    started = fake_clock.now()
    report = outbox.drain(max_runtime=30, client=fake_upstream, sleep=sleep, monotonic=fake_clock.monotonic)
    assert (report.sent, report.skipped) == (1, False)
    assert UpstreamAttempt.objects.get().started_at - started < timedelta(seconds=2)
    outbox.slots.release_slot("a")


def test_a_standby_whose_time_runs_out_while_work_waits_asks_for_a_successor(run_drain, fake_upstream, devices,
                                                                             operator):
    outbox.enqueue(devices(1)[0], "dhcprenew", user=operator)
    outbox.slots.take_slot("a", timedelta(minutes=5))
    outbox.slots.take_slot("b", timedelta(minutes=5))
    report = run_drain(max_runtime=2)
    # It stood by for its whole run and sent nothing; the task then queues the next run to stand by.
    assert (report.skipped, report.sent, report.work_left) == (True, 0, True)
    second = outbox.slots.take_slot("s", timedelta(minutes=5), standby=True)
    assert second  # the expired standby gave its place back
    assert run_drain(max_runtime=2).work_left is False  # a standby already waits: no successor needed
    for worker in ("a", "b", "s"):
        outbox.slots.release_slot(worker)


def test_only_one_drainer_stands_by_and_none_while_nothing_waits(run_drain, fake_upstream, fake_clock, devices,
                                                                 operator):
    outbox.slots.take_slot("a", timedelta(minutes=5))
    outbox.slots.take_slot("b", timedelta(minutes=5))
    started = fake_clock.now()
    assert run_drain().skipped and fake_clock.now() == started  # nothing waits: no standby
    outbox.enqueue(devices(1)[0], "dhcprenew", user=operator)
    assert outbox.slots.take_slot("s", timedelta(minutes=5), standby=True)
    assert run_drain().skipped and fake_clock.now() == started  # a standby already waits
    assert Action.objects.get().status == "queued"
    for worker in ("a", "b", "s"):
        outbox.slots.release_slot(worker)


# ------------------------------------------------------------------ PostgreSQL: locks of the session


def on_postgres(test):
    """A test of real sessions: PostgreSQL only, committed for other connections to see."""
    return postgres_only(pytest.mark.postgres(pytest.mark.django_db(transaction=True)(test)))


def in_another_session(work):
    """Run `work` in a thread, on a connection of its own that is then closed without a release."""
    result = {}

    def run():
        try:
            result["value"] = work()
        finally:
            connection.close()  # the session ends, as it does when a drainer's process is killed

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(timeout=30)
    return result.get("value")


@on_postgres
def test_a_slot_held_by_a_connection_that_closed_is_free_at_once(outbox_settings):
    assert in_another_session(lambda: (outbox.slots.take_slot("dead-1"), outbox.slots.take_slot("dead-2"))) == (True, True)
    # Neither dead drainer released anything, and no lease has passed: the locks went with the session.
    assert outbox.slots.take_slot("alive-1") and outbox.slots.take_slot("alive-2")
    outbox.slots.release_slot("alive-1")
    outbox.slots.release_slot("alive-2")


@on_postgres
def test_a_slot_held_by_a_live_session_stays_taken_however_long(outbox_settings, settings):
    settings.GEARS_DRAINERS = 1
    holding, release = threading.Event(), threading.Event()

    def hold():
        outbox.slots.take_slot("live")
        holding.set()
        release.wait(30)
        outbox.slots.release_slot("live")

    thread = threading.Thread(target=lambda: in_another_session(hold))
    thread.start()
    try:
        assert holding.wait(30)
        assert not outbox.slots.take_slot("other")
    finally:
        release.set()
        thread.join(30)
    assert outbox.slots.take_slot("other")
    outbox.slots.release_slot("other")


@on_postgres
def test_a_drainer_whose_session_was_replaced_knows_it_holds_no_slot(outbox_settings, settings):
    settings.GEARS_DRAINERS = 1
    assert outbox.slots.take_slot("w")
    assert outbox.slots.renew_slot("w")
    connection.close()  # the next query opens a new session, which holds no lock
    assert not outbox.slots.renew_slot("w")
    assert outbox.slots.take_slot("x")  # and the old session's lock is gone with it
    outbox.slots.release_slot("x")
