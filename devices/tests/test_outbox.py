"""The outbox against the simulator over real HTTP: what gets sent, when, and what is recorded."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
import requests
from django.db import connection, connections

from devices import outbox
from devices.models import Action, AuditEntry, Device, UpstreamAttempt, UpstreamState, UpstreamToken
from gearsdash.env import RateLimit


def sim_devices(sim) -> list[dict]:
    return requests.get(f"{sim.base_url}/_sim/devices", timeout=5).json()["devices"]


def action_calls(sim) -> list[dict]:
    log = requests.get(f"{sim.base_url}/_sim/stats", timeout=5).json()["request_log"]
    return [entry for entry in log if entry["path"].endswith("/action")]


def stats(sim) -> dict:
    return requests.get(f"{sim.base_url}/_sim/stats", timeout=5).json()


def faults(sim, **values) -> None:
    requests.post(f"{sim.base_url}/_sim/faults", json=values, timeout=5).raise_for_status()


def devices_known(sim, count: int) -> list[Device]:
    """Devices the simulator knows (with an agent, so every action can succeed)."""
    known = [d for d in sim_devices(sim) if d["persistent_agent"]][:count]
    return [Device.objects.create(name=d["hostname"], hwid=d["hwid"]) for d in known]


def test_a_click_is_sent_and_the_cloud_confirms_the_exemption(db, upstream, operator):
    sim = upstream()
    device = devices_known(sim, 1)[0]
    queued = outbox.enqueue(device, "exempt_all", user=operator)
    assert queued.created and queued.action.status == "queued"
    report = outbox.drain(max_runtime=5)
    action = Action.objects.get()
    device.refresh_from_db()
    assert report.sent == 1
    assert (action.status, action.http_status, action.upstream_msg, action.attempts) == ("succeeded", 200, "OK", 1)
    assert device.exempt_mode == "all" and device.exempt_confirmed_at
    simulated = next(d for d in sim_devices(sim) if d["hwid"] == device.hwid)
    assert simulated["exempt"] == "all"
    (call,) = action_calls(sim)
    assert call["query"]["types"] == "exempt_all" and call["query"]["opt"] == "1"
    assert call["query"]["access_token"] == "[redacted]"


def test_a_device_without_hwid_is_called_by_its_primary_mac(db, upstream, operator, make_device):
    sim = upstream()
    d = next(d for d in sim_devices(sim) if d["persistent_agent"])
    device = make_device("by-mac", macs=d["macs"])
    outbox.enqueue(device, "dhcprenew", user=operator)
    outbox.drain(max_runtime=5)
    (call,) = action_calls(sim)
    assert call["query"]["opt"] == "0" and d["macs"][0] in call["path"]


def test_exempt_all_then_unexempt_sends_only_unexempt(db, upstream, operator):
    sim = upstream()
    device = devices_known(sim, 1)[0]
    first = outbox.enqueue(device, "exempt_all", user=operator).action
    second = outbox.enqueue(device, "unexempt", user=operator)
    first.refresh_from_db()
    assert first.status == "superseded" and first.superseded_by_id == second.action.pk
    outbox.drain(max_runtime=5)
    assert [c["query"]["types"] for c in action_calls(sim)] == ["unexempt"]


def test_a_double_click_makes_one_action_and_dhcprenew_is_not_queued_twice(db, upstream, operator):
    sim = upstream()
    device = devices_known(sim, 1)[0]
    assert outbox.enqueue(device, "exempt_all", user=operator).created
    assert not outbox.enqueue(device, "exempt_all", user=operator).created
    assert outbox.enqueue(device, "dhcprenew", user=operator).created
    assert not outbox.enqueue(device, "dhcprenew", user=operator).created
    assert Action.objects.count() == 2
    assert AuditEntry.objects.filter(verb="queued").count() == 2


def test_clicks_go_before_bulk_work(db, upstream, operator):
    sim = upstream()
    devices = devices_known(sim, 6)
    job = outbox.enqueue_bulk([d.pk for d in devices[:5]], "dhcprenew", user=operator)
    outbox.enqueue(devices[5], "exempt_critical", user=operator)
    outbox.drain(max_runtime=10)
    calls = action_calls(sim)
    assert calls[0]["query"]["types"] == "exempt_critical"
    assert len(calls) == 6
    assert job.actions.filter(status="succeeded").count() == 5


def test_a_click_supersedes_a_waiting_bulk_exemption(db, upstream, operator):
    sim = upstream()
    devices = devices_known(sim, 3)
    job = outbox.enqueue_bulk([d.pk for d in devices], "exempt_all", user=operator)
    outbox.enqueue(devices[0], "unexempt", user=operator)
    assert job.actions.filter(status="superseded").count() == 1
    again = outbox.enqueue_bulk([d.pk for d in devices], "exempt_all", user=operator)
    assert (again.requested, again.already_queued) == (3, 2)


def test_an_unknown_device_fails_with_the_clouds_message(db, upstream, operator, make_device):
    upstream()
    device = make_device("ghost", hwid="NOTINTHECLOUD01")
    outbox.enqueue(device, "dhcprenew", user=operator)
    outbox.drain(max_runtime=5)
    action = Action.objects.get()
    assert (action.status, action.http_status) == ("failed", 404)
    assert "Device not found" in action.last_error


def test_500s_are_retried_with_backoff_then_succeed(db, upstream, operator):
    sim = upstream()
    device = devices_known(sim, 1)[0]
    faults(sim, fail_next=2)
    outbox.enqueue(device, "dhcprenew", user=operator)
    outbox.drain(max_runtime=10)
    action = Action.objects.get()
    assert (action.status, action.attempts, action.transient_failures) == ("succeeded", 3, 2)
    assert action.ambiguous  # a 500 may have been applied before failing
    assert list(UpstreamAttempt.objects.order_by("started_at").values_list("outcome", flat=True)) == ["transient", "transient", "ok"]


def test_repeated_failures_pause_sending_and_say_why_then_give_up_at_the_cap(db, upstream, operator, settings):
    sim = upstream()
    settings.GEARS_MAX_ATTEMPTS = 4
    device = devices_known(sim, 1)[0]
    faults(sim, fail_next=100)
    outbox.enqueue(device, "dhcprenew", user=operator)
    outbox.drain(max_runtime=0.6)
    view = outbox.budget_view()
    assert view.paused and "failures in a row" in view.block_reason
    outbox.drain(max_runtime=10)
    action = Action.objects.get()
    assert action.status == "failed" and action.attempts == 4
    assert "Gave up after 4 attempts" in action.last_error


def test_a_slow_answer_times_out_and_is_sent_again_marked_ambiguous(db, upstream, operator, settings):
    sim = upstream(hang_seconds=5)
    settings.GEARS_TIMEOUT = 0.4
    device = devices_known(sim, 1)[0]
    faults(sim, hang_next=1)
    outbox.enqueue(device, "exempt_critical", user=operator)
    outbox.drain(max_runtime=10)
    action = Action.objects.get()
    assert (action.status, action.attempts, action.ambiguous) == ("succeeded", 2, True)
    assert UpstreamAttempt.objects.filter(outcome="transient", error__icontains="timed out").count() == 1


def test_an_expired_token_is_refreshed_exactly_once_and_the_call_retried(db, upstream, operator):
    sim = upstream()
    first, second = devices_known(sim, 2)
    outbox.enqueue(first, "dhcprenew", user=operator)
    outbox.drain(max_runtime=5)
    assert stats(sim)["token_grants"] == 1
    requests.post(f"{sim.base_url}/_sim/expire-tokens", timeout=5)
    outbox.enqueue(second, "dhcprenew", user=operator)
    outbox.drain(max_runtime=5)
    assert stats(sim)["token_grants"] == 2
    action = Action.objects.get(device=second)
    assert (action.status, action.attempts) == ("succeeded", 2)
    assert UpstreamToken.objects.get().version == 2


def test_refused_credentials_pause_sending_with_a_reason(db, upstream, operator, settings):
    sim = upstream()
    settings.GEARS_CLIENT_SECRET = "wrong"
    device = devices_known(sim, 1)[0]
    outbox.enqueue(device, "dhcprenew", user=operator)
    outbox.drain(max_runtime=0.5)
    view = outbox.budget_view()
    assert view.paused and "invalid_client" in view.block_reason
    assert Action.objects.get().status == "queued"  # nothing lost, nothing spent
    assert action_calls(sim) == []


def test_a_worker_killed_after_its_claim_costs_one_ambiguous_resend(db, upstream, operator):
    sim = upstream()
    device = devices_known(sim, 1)[0]
    outbox.enqueue(device, "exempt_all", user=operator)
    claim = outbox.claim_next("worker-that-dies")
    assert isinstance(claim, outbox.Claim)
    # The worker dies here, before calling the cloud; its lease runs out.
    Action.objects.filter(pk=claim.action_id).update(lease_until=outbox.db_now() - timedelta(seconds=1))
    outbox.drain(max_runtime=5)
    action = Action.objects.get()
    assert (action.status, action.attempts, action.ambiguous) == ("succeeded", 2, True)
    assert len(action_calls(sim)) == 1
    assert UpstreamAttempt.objects.filter(outcome="lost").count() == 1


def test_a_429_is_honoured_and_raised_as_an_alarm(db, upstream, operator, settings):
    # The cloud allows 1 per 30 s while we believe 10 per second: the second call is refused.
    sim = upstream(limit=1, window=30, our_limit=RateLimit(10, 1.0))
    first, second = devices_known(sim, 2)
    outbox.enqueue(first, "dhcprenew", user=operator)
    outbox.enqueue(second, "dhcprenew", user=operator)
    outbox.drain(max_runtime=1.5)
    state = UpstreamState.objects.get()
    assert state.rate_limited_count == 1 and "429" in state.last_alarm
    assert state.blocked_until - outbox.db_now() > timedelta(seconds=20)
    assert Action.objects.get(device=second).status == "queued"  # no penalty, not lost
    assert stats(sim)["rate_limited"] == 1  # and no second try inside the block


def test_cancel_and_retry_are_recorded_in_the_audit_log(db, upstream, operator, make_device):
    upstream()
    waiting = outbox.enqueue(make_device("a", hwid="A1"), "dhcprenew", user=operator).action
    assert outbox.cancel(waiting, user=operator)
    assert not outbox.cancel(waiting, user=operator)  # already final
    again = outbox.retry(Action.objects.get(pk=waiting.pk), user=operator)
    assert again.created and again.action.status == "queued"
    assert list(AuditEntry.objects.order_by("id").values_list("verb", "username")) == [
        ("queued", "otto"), ("cancelled", "otto"), ("queued", "otto"), ("retried", "otto")]


def test_a_backlog_goes_out_at_the_limit_with_no_429(db, upstream, operator):
    sim = upstream(limit=5, window=1.0)
    devices = devices_known(sim, 20)
    outbox.enqueue_bulk([d.pk for d in devices], "dhcprenew", user=operator)
    started = time.monotonic()
    outbox.drain(max_runtime=30)
    elapsed = time.monotonic() - started
    s = stats(sim)
    assert s["rate_limited"] == 0 and max(s["max_accepted_in_window_by_key"].values()) <= 5
    assert Action.objects.filter(status="succeeded").count() == 20
    # 20 calls at 5 per (1 s + latency + margin): about 3 windows after the first 5.
    assert 2.9 < elapsed < 6


def test_no_token_is_stored_in_a_record(db, upstream, operator):
    sim = upstream()
    devices = devices_known(sim, 2)
    faults(sim, fail_next=1)
    for device in devices:
        outbox.enqueue(device, "dhcprenew", user=operator)
    outbox.drain(max_runtime=5)
    token = UpstreamToken.objects.get().access_token
    assert token
    for model in (Action, UpstreamAttempt, AuditEntry, UpstreamState):
        for row in model.objects.values():
            assert token not in repr(row), model


# ------------------------------------------------------------------ PostgreSQL: concurrency

postgres_only = pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks need PostgreSQL (DATABASE_URL)")


@postgres_only
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_four_drainers_share_one_budget_exactly(upstream, operator):
    n, window, backlog = 10, 2.0, 200
    sim = upstream(limit=n, window=window)
    known = [d["hwid"] for d in sim_devices(sim)]
    # The simulator knows 40 devices: actions for the other 160 fail with 404,
    # which costs budget like any other call.
    hwids = known + [f"UNKNOWN{i:09d}" for i in range(backlog - len(known))]
    Device.objects.bulk_create([Device(name=f"pg-{i:03d}", hwid=hwid) for i, hwid in enumerate(hwids)])
    ids = list(Device.objects.values_list("pk", flat=True))
    assert len(ids) == backlog
    outbox.enqueue_bulk(ids, "dhcprenew", user=operator)
    total = len(ids)
    errors = []

    def run(worker: str) -> None:
        try:
            while Action.objects.filter(status__in=["queued", "retrying", "sending"]).exists():
                outbox.drain(max_runtime=5, worker=worker, use_slot=False)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connections.close_all()

    started = time.monotonic()
    threads = [threading.Thread(target=run, args=(f"w{i}",)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors
    s = stats(sim)
    starts = sorted(UpstreamAttempt.objects.values_list("started_at", flat=True))
    assert s["rate_limited"] == 0
    assert max(s["max_accepted_in_window_by_key"].values()) <= n
    assert Action.objects.filter(status__in=["succeeded", "failed"]).count() == total
    assert len(action_calls(sim)) == total == len(starts)  # each sent once
    throughput = (len(starts) - 1) / (starts[-1] - starts[0]).total_seconds()
    assert throughput >= 0.95 * n / window, throughput
    print(f"4 drainers: {total} calls in {time.monotonic() - started:.1f} s, {throughput:.2f}/s against {n / window:.2f}/s")


@postgres_only
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_four_workers_hitting_an_expired_token_refresh_it_once(upstream):
    sim = upstream()
    client = outbox.upstream_client()
    token, version = outbox.current_token(client)
    results, barrier = [], threading.Barrier(4)

    def refresh():
        barrier.wait()
        results.append(outbox.refresh_token(outbox.upstream_client(), version))
        connections.close_all()

    threads = [threading.Thread(target=refresh) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert stats(sim)["token_grants"] == 2  # the first token, and one refresh
    assert len({r for r in results}) == 1 and results[0][1] == version + 1


def test_a_fixed_access_token_is_used_as_given_and_a_refusal_pauses_sending(db, upstream, operator, settings):
    sim = upstream(static_token="fixed-token-from-the-console-0123456789")
    settings.GEARS_ACCESS_TOKEN = "fixed-token-from-the-console-0123456789"
    first, second = devices_known(sim, 2)
    outbox.enqueue(first, "dhcprenew", user=operator)
    outbox.drain(max_runtime=5)
    assert Action.objects.get(device=first).status == "succeeded"
    assert stats(sim)["token_grants"] == 0  # no OAuth round trip
    requests.post(f"{sim.base_url}/_sim/expire-tokens", timeout=5)
    outbox.enqueue(second, "dhcprenew", user=operator)
    outbox.drain(max_runtime=1)
    view = outbox.budget_view()
    assert view.paused and "GEARS_ACCESS_TOKEN" in view.block_reason
    assert Action.objects.get(device=second).status in ("queued", "failed")
    assert not UpstreamToken.objects.filter(access_token__contains="fixed-token").exists()
