"""The "sent again" flag: set only when an action is sent again after an attempt that may have acted.

An attempt may have acted when it reached the cloud without a clear answer: a timeout after
sending, a connection broken after sending, a 5xx that does not say it did nothing, a worker lost
mid-call. A retry after a refused connection or a 503 repeats nothing, and an attempt that may
have acted but is never followed by another sent nothing twice. Against the simulator over HTTP
where it can play the fault; on the scripted client for the rest.
"""

from __future__ import annotations

import requests

from devices import outbox
from devices.models import Action, UpstreamAttempt
from devices.tests.launchers import free_port
from devices.tests.outbox.fakes import transient
from devices.tests.outbox.test_end_to_end import devices_known


def faults(sim, **settings) -> None:
    """Set the simulator's faults through its control API."""
    assert requests.post(f"{sim.base_url}/_sim/faults", json=settings, timeout=5).status_code == 200


def test_a_500_then_an_answer_is_flagged_sent_again(db, upstream, operator):
    sim = upstream()
    faults(sim, fail_next=1)
    outbox.enqueue(devices_known(sim, 1)[0], "exempt_all", user=operator)
    outbox.drain(max_runtime=5)
    action = Action.objects.get()
    assert (action.status, action.attempts, action.ambiguous) == ("succeeded", 2, True)


def test_a_timeout_then_an_answer_is_flagged_sent_again(db, upstream, operator):
    sim = upstream()
    faults(sim, hang_next=1, hang_seconds=3.0)  # our read timeout is 1 s
    outbox.enqueue(devices_known(sim, 1)[0], "exempt_all", user=operator)
    outbox.drain(max_runtime=8)
    action = Action.objects.get()
    assert (action.status, action.attempts, action.ambiguous) == ("succeeded", 2, True)
    assert "timed out" in UpstreamAttempt.objects.order_by("started_at").first().error


def test_a_retry_after_a_503_is_not_flagged(db, upstream, operator):
    sim = upstream()
    outbox.token.current_token(outbox.upstream_client())  # the token is had before the cloud goes down
    faults(sim, down=True)
    outbox.enqueue(devices_known(sim, 1)[0], "exempt_all", user=operator)
    outbox.drain(max_runtime=0.3)
    faults(sim, down=False)
    outbox.drain(max_runtime=8)
    action = Action.objects.get()
    assert UpstreamAttempt.objects.order_by("started_at").values_list("outcome", "http_status")[0] == ("transient", 503)
    assert (action.status, action.ambiguous) == ("succeeded", False) and action.attempts >= 2


def test_a_retry_after_a_refused_connection_is_not_flagged(db, upstream, operator, settings):
    sim = upstream()
    outbox.token.current_token(outbox.upstream_client())
    settings.GEARS_BASE_URL = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    outbox.enqueue(devices_known(sim, 1)[0], "exempt_all", user=operator)
    outbox.drain(max_runtime=0.3)
    settings.GEARS_BASE_URL = sim.base_url
    outbox.drain(max_runtime=8)
    action = Action.objects.get()
    assert "cannot connect" in UpstreamAttempt.objects.order_by("started_at").first().error
    assert (action.status, action.ambiguous) == ("succeeded", False) and action.attempts >= 2


def test_an_attempt_that_may_have_acted_but_is_never_followed_is_not_flagged(db, upstream, operator, settings):
    sim = upstream()
    settings.GEARS_MAX_ATTEMPTS = 1
    faults(sim, fail_next=1)
    outbox.enqueue(devices_known(sim, 1)[0], "exempt_all", user=operator)
    outbox.drain(max_runtime=3)
    action = Action.objects.get()
    assert (action.status, action.attempts, action.may_have_acted, action.ambiguous) == ("failed", 1, True, False)


def test_a_connection_broken_after_sending_then_an_answer_is_flagged(run_drain, fake_upstream, devices, operator):
    # As the client reports a reset after the request went out (devices/upstream/client.py).
    fake_upstream.script.append(transient("connection to the cloud broke before the answer arrived"))
    outbox.enqueue(devices(1)[0], "exempt_all", user=operator)
    run_drain()
    assert Action.objects.values_list("status", "attempts", "ambiguous").get() == ("succeeded", 2, True)


def test_a_503_after_a_timeout_still_counts_the_timeout(run_drain, fake_upstream, devices, operator):
    fake_upstream.script += [transient("timed out waiting for the cloud"),
                             transient("HTTP 503 from the cloud", ambiguous=False)]
    outbox.enqueue(devices(1)[0], "exempt_all", user=operator)
    run_drain()
    assert Action.objects.values_list("status", "attempts", "ambiguous").get() == ("succeeded", 3, True)


def test_a_batch_that_hit_a_500_is_flagged_on_each_of_its_actions_only_when_resent(
        run_drain, fake_upstream, devices, operator, outbox_settings):
    outbox_settings.GEARS_MAX_ATTEMPTS = 2
    fake_upstream.script += [transient()]
    outbox.enqueue_bulk([d.pk for d in devices(3)], "dhcprenew", user=operator)
    run_drain()
    assert set(Action.objects.values_list("status", "attempts", "ambiguous")) == {("succeeded", 2, True)}
    assert len(fake_upstream.devices_sent()) == 6  # each device sent twice
