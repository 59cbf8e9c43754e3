"""An answer the console cannot read ends its call after a couple of retries, and pauses nothing else;
and however an action fails for good (its answer, given up at claim, a lost lease), it is final.

The malformed answers come from the simulator over HTTP (its `malformed_next`
fault: an HTML 200), on the fake clock.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import transaction

from devices import outbox
from devices.cloudsync import pages
from devices.models import Action, ActionKind, CloudSync, Device, Notice, RemediationState, UpstreamAttempt
from devices.outbox.breaker import locked_state, record_outcome
from devices.tests.upstream.support import control
from devices.upstream import GearsClient, GearsError
from gearsdash.env import RateLimit


@pytest.fixture
def cloud(upstream, fake_clock, outbox_settings):
    sim = upstream(limit=100_000, window=60.0, our_limit=RateLimit(10, 1.0), devices=20)
    outbox_settings.GEARS_KICK_DRAINER = False
    return sim


def drain(sim, fake_clock) -> outbox.DrainReport:
    with GearsClient(sim.base_url, timeout=2.0, connect_timeout=1.0) as gears:
        return outbox.drain(max_runtime=600, client=gears, use_slot=False, sleep=fake_clock.sleep,
                            monotonic=fake_clock.monotonic)


def cloud_device(sim) -> Device:
    known = next(d for d in sim.state.devices if d.persistent_agent)
    return Device.objects.create(name="ws-1", hwid=known.hwid)


@pytest.mark.parametrize("kind", [ActionKind.DHCPRENEW, ActionKind.REMEDIATION])
def test_an_unreadable_answer_is_retried_twice_then_the_call_fails_for_good_naming_it(
        cloud, fake_clock, operator, kind):
    device = cloud_device(cloud)
    Device.objects.filter(pk=device.pk).update(remediation_state=RemediationState.LINK,
                                               remediation_link="https://example.com/last-good")
    control(cloud, "POST", "faults", {"malformed_next": 50})
    action = outbox.enqueue(device, kind, user=operator).action

    report = drain(cloud, fake_clock)

    action.refresh_from_db()
    assert (action.status, action.attempts, action.unreadable_answers) == (Action.Status.FAILED, 3, 3)
    assert action.last_error.startswith("Gave up after 3 answers it could not read")
    assert "not JSON" in action.last_error
    assert not report.work_left
    assert control(cloud, "GET", "stats")["faults"]["malformed_next"] == 47  # three requests, no more
    state = outbox.upstream_state()
    assert (state.blocked_until, state.consecutive_failures) == (None, 0)
    if kind == ActionKind.REMEDIATION:
        device.refresh_from_db()
        assert (device.remediation_state, device.remediation_link) == (RemediationState.LINK,
                                                                       "https://example.com/last-good")
        assert "could not read" in device.remediation_error


def test_three_unreadable_answers_in_a_row_do_not_trip_the_breaker_but_three_outages_do(fake_clock, outbox_settings):
    unreadable = GearsError("unexpected answer from the cloud (HTTP 200): not JSON", permanent=False,
                            ambiguous=True, unreadable=True, status=200)
    kinds = [outbox.outcome.log_outcome(unreadable)] * 3
    assert kinds == [UpstreamAttempt.Outcome.UNREADABLE] * 3
    with transaction.atomic():
        state = locked_state()
        for kind in kinds:
            record_outcome(state, kind, unreadable, outbox.db_now())
    assert outbox.breaker.paused_until(outbox.db_now()) is None
    down = GearsError("the cloud refused the connection", permanent=False)
    with transaction.atomic():
        state = locked_state()
        for _ in range(3):
            record_outcome(state, outbox.outcome.log_outcome(down), down, outbox.db_now())
    assert outbox.breaker.paused_until(outbox.db_now()) is not None


def give_the_page_call_its_last_attempt(sync: CloudSync, **fields) -> Action:
    call = pages.open_page_call(sync)
    Action.objects.filter(pk=call.pk).update(attempts=8, last_error="HTTP 500 from the cloud", **fields)
    return call


def test_a_sync_page_given_up_at_claim_ends_its_sync_at_once(fake_clock, outbox_settings):
    sync = pages.start_sync(CloudSync.Trigger.COMMAND).sync
    give_the_page_call_its_last_attempt(sync, status=Action.Status.RETRYING)

    outbox.claim.claim_next("worker-1")

    sync.refresh_from_db()
    assert sync.status == CloudSync.Status.FAILED and "Gave up after 8 attempts" in sync.error
    assert not Action.objects.filter(status__in=(*Action.PENDING, Action.Status.SENDING)).exists()
    assert Notice.objects.filter(kind=Notice.Kind.SYNC_ENDED, tone=Notice.Tone.ERROR).exists()


def test_a_sync_page_whose_worker_vanished_on_its_last_attempt_ends_its_sync(fake_clock, outbox_settings):
    sync = pages.start_sync(CloudSync.Trigger.COMMAND).sync
    give_the_page_call_its_last_attempt(sync, status=Action.Status.SENDING, claimed_by="gone-worker",
                                        lease_until=outbox.db_now() - timedelta(seconds=1))

    assert outbox.claim.reap_lost(outbox.db_now()) == 1

    sync.refresh_from_db()
    assert sync.status == CloudSync.Status.FAILED and "the worker sending it stopped" in sync.error
    assert not Action.objects.filter(status__in=(*Action.PENDING, Action.Status.SENDING)).exists()


def test_a_remediation_fetch_lost_on_its_last_attempt_keeps_the_last_good_link_and_says_why(
        fake_clock, outbox_settings, operator):
    device = Device.objects.create(name="ws-1", hwid="HWID000000000001", remediation_state=RemediationState.LINK,
                                   remediation_link="https://example.com/last-good")
    action = outbox.enqueue(device, ActionKind.REMEDIATION, user=operator).action
    Action.objects.filter(pk=action.pk).update(status=Action.Status.SENDING, attempts=8, claimed_by="gone-worker",
                                               lease_until=outbox.db_now() - timedelta(seconds=1))

    outbox.claim.reap_lost(outbox.db_now())

    device.refresh_from_db()
    assert (device.remediation_state, device.remediation_link) == (RemediationState.LINK,
                                                                   "https://example.com/last-good")
    assert "the worker sending it stopped" in device.remediation_error
