"""An answer the console cannot store is a permanent, recorded failure of that call, never a crash of the drainer.

Run on SQLite (which does not enforce lengths) and on PostgreSQL (which does):
the rule holds on both.
"""

from __future__ import annotations

import pytest
from django.db import connection

from devices import outbox
from devices.models import Action, Device
from devices.upstream import RemediationResult

GOOD_LINK = "https://gears.opswat.com/gears/remediation/abc/remediation.html"


def link_answer(link: str) -> RemediationResult:
    return RemediationResult("link", link, "", 200, None)


@pytest.fixture
def device_with_a_good_link(devices, fake_clock):
    device = devices(1)[0]
    Device.objects.filter(pk=device.pk).update(remediation_state="link", remediation_link=GOOD_LINK,
                                               remediation_fetched_at=fake_clock.now())
    return device


def test_a_link_longer_than_the_console_stores_fails_the_fetch_once_and_keeps_the_last_good_link(
        device_with_a_good_link, fake_upstream, run_drain, operator):
    fake_upstream.script = [link_answer(GOOD_LINK + "?pad=" + "a" * 2500)]
    outbox.enqueue(device_with_a_good_link, "remediation", user=operator)
    report = run_drain(max_runtime=30)
    assert len(fake_upstream.sent()) == 1 and not report.work_left  # sent once, never again
    action = Action.objects.get()
    assert action.status == "failed"
    assert action.last_error == ("The cloud's answer cannot be stored: remediation link is 2,568 characters long; "
                                 "at most 2,000 can be stored.")
    device = Device.objects.get()
    assert (device.remediation_state, device.remediation_link) == ("link", GOOD_LINK)
    assert device.remediation_error.startswith("The cloud's answer cannot be stored")
    assert outbox.upstream_state().consecutive_failures == 0  # the cloud answered: no reason to pause


def test_a_link_of_exactly_the_stored_length_is_stored(devices, fake_upstream, run_drain, operator):
    link = GOOD_LINK + "?pad=" + "a" * (2000 - len(GOOD_LINK) - 5)
    fake_upstream.script = [link_answer(link)]
    outbox.enqueue(devices(1)[0], "remediation", user=operator)
    run_drain()
    assert Device.objects.get().remediation_link == link and Action.objects.get().status == "succeeded"


@pytest.mark.skipif(connection.vendor != "postgresql", reason="only PostgreSQL refuses NUL characters in text")
def test_an_answer_the_database_refuses_is_a_recorded_failure_not_a_crash(device_with_a_good_link, fake_upstream,
                                                                          run_drain, operator):
    fake_upstream.script = [link_answer(GOOD_LINK + "\x00")]
    outbox.enqueue(device_with_a_good_link, "remediation", user=operator)
    run_drain(max_runtime=30)
    assert len(fake_upstream.sent()) == 1
    action = Action.objects.get()
    assert (action.status, action.claimed_by) == ("failed", "")
    assert action.last_error == "The cloud's answer cannot be stored: the database refused it (DataError)."
    assert Device.objects.get().remediation_link == GOOD_LINK
