"""The drain loop on a fake clock and a scripted client: what is sent, in which order, when, and how it ends."""

from __future__ import annotations

import inspect
import logging
from datetime import timedelta

import pytest

from devices import outbox
from devices.models import Action, AuditEntry, UpstreamAttempt, UpstreamState, UpstreamToken
from devices.tests.outbox.fakes import FakeUpstream, transient
from devices.upstream import GearsAuthError, GearsClient, GearsRateLimited
from gearsdash.env import RateLimit


def test_the_fake_client_has_the_real_clients_calls():
    for name in ("fetch_token", "device_action", "bulk_device_action", "remediation_link"):
        real = inspect.signature(getattr(GearsClient, name)).parameters
        fake = inspect.signature(getattr(FakeUpstream, name)).parameters
        assert list(real) == list(fake), name


def test_a_click_is_sent_with_the_token_and_recorded(run_drain, fake_upstream, devices, operator):
    device = devices(1)[0]
    outbox.enqueue(device, "exempt_all", user=operator)
    report = run_drain()
    assert (report.sent, report.work_left, report.skipped) == (1, False, False)
    (call,) = fake_upstream.sent()
    assert (call.identifier, call.opt, call.kind, call.token) == (device.hwid, 1, "exempt_all",
                                                                 "token-01-0123456789abcdef")
    assert Action.objects.get().status == "succeeded"


def test_exempt_all_then_unexempt_sends_only_unexempt(run_drain, fake_upstream, devices, operator):
    device = devices(1)[0]
    outbox.enqueue(device, "exempt_all", user=operator)
    outbox.enqueue(device, "unexempt", user=operator)
    run_drain()
    assert [call.kind for call in fake_upstream.sent()] == ["unexempt"]


def test_clicks_go_before_bulk_work(run_drain, fake_upstream, devices, operator):
    *bulk, clicked = devices(6)
    job = outbox.enqueue_bulk([d.pk for d in bulk], "dhcprenew", user=operator)
    outbox.enqueue(clicked, "exempt_critical", user=operator)
    run_drain()
    click, batch = fake_upstream.sent()
    assert (click.endpoint, click.kind, click.identifier) == ("action", "exempt_critical", clicked.hwid)
    assert (batch.endpoint, batch.kind, batch.identifiers) == ("bulk", "dhcprenew", tuple(d.hwid for d in bulk))
    assert job.actions.filter(status="succeeded").count() == 5


def test_500s_are_retried_with_backoff_then_succeed(run_drain, fake_upstream, fake_clock, devices, operator):
    fake_upstream.script += [transient(), transient()]
    outbox.enqueue(devices(1)[0], "dhcprenew", user=operator)
    run_drain()
    action = Action.objects.get()
    assert (action.status, action.attempts, action.transient_failures, action.ambiguous) == ("succeeded", 3, 2, True)
    assert list(UpstreamAttempt.objects.order_by("started_at").values_list("outcome", flat=True)) == [
        "transient", "transient", "ok"]
    starts = list(UpstreamAttempt.objects.order_by("started_at").values_list("started_at", flat=True))
    assert starts[2] - starts[1] > starts[1] - starts[0]  # the second wait is longer: backoff


def test_repeated_failures_pause_sending_and_say_why_then_give_up_at_the_cap(
        run_drain, fake_upstream, outbox_settings, devices, operator):
    outbox_settings.GEARS_MAX_ATTEMPTS = 4
    fake_upstream.script += [transient()] * 100
    outbox.enqueue(devices(1)[0], "dhcprenew", user=operator)
    run_drain(max_runtime=0.6)
    view = outbox.budget_view()
    assert view.pause_kind == "failures" and "failures in a row" in view.block_reason  # kept until an answer
    run_drain()
    action = Action.objects.get()
    assert (action.status, action.attempts) == ("failed", 4)
    assert "Gave up after 4 attempts" in action.last_error


def test_a_timeout_is_sent_again_marked_ambiguous(run_drain, fake_upstream, devices, operator):
    fake_upstream.script.append(transient("timed out after 0.4 s waiting for the cloud"))
    outbox.enqueue(devices(1)[0], "exempt_critical", user=operator)
    run_drain()
    action = Action.objects.get()
    assert (action.status, action.attempts, action.ambiguous) == ("succeeded", 2, True)
    assert UpstreamAttempt.objects.filter(outcome="transient", error__icontains="timed out").count() == 1


def test_a_401_refreshes_the_token_once_and_retries_the_call(run_drain, fake_upstream, devices, operator):
    fake_upstream.script.append(GearsAuthError("HTTP 401 from the cloud"))
    outbox.enqueue(devices(1)[0], "dhcprenew", user=operator)
    run_drain()
    action = Action.objects.get()
    assert (action.status, action.attempts) == ("succeeded", 2)
    assert [call.token for call in fake_upstream.sent()] == ["token-01-0123456789abcdef", "token-02-0123456789abcdef"]
    assert UpstreamToken.objects.get().version == 2


def test_refused_credentials_pause_sending_with_a_reason_and_nothing_is_spent(
        run_drain, fake_upstream, devices, operator):
    fake_upstream.tokens.append(GearsAuthError("token request refused: invalid_client", permanent=True))
    outbox.enqueue(devices(1)[0], "dhcprenew", user=operator)
    run_drain(max_runtime=0.5)
    view = outbox.budget_view()
    assert view.paused and "invalid_client" in view.block_reason and view.pause_kind == "credentials"
    assert Action.objects.get().status == "queued"
    assert fake_upstream.sent() == []


def test_a_refused_fixed_token_pauses_sending(run_drain, fake_upstream, outbox_settings, devices, operator):
    outbox_settings.GEARS_ACCESS_TOKEN = "fixed-token-from-the-console-0123456789"
    fake_upstream.script.append(GearsAuthError("HTTP 401 from the cloud"))
    outbox.enqueue(devices(1)[0], "dhcprenew", user=operator)
    run_drain(max_runtime=1)
    view = outbox.budget_view()
    assert view.paused and "GEARS_ACCESS_TOKEN" in view.block_reason
    assert fake_upstream.calls[0].endpoint == "action"  # no OAuth round trip


def test_a_429_is_honoured_and_not_tried_again_inside_its_pause(run_drain, fake_upstream, devices, operator):
    fake_upstream.script.append(GearsRateLimited("HTTP 429 from the cloud", retry_after=30))
    first, second = devices(2)
    outbox.enqueue(first, "dhcprenew", user=operator)
    outbox.enqueue(second, "dhcprenew", user=operator)
    report = run_drain(max_runtime=1.5)
    assert len(fake_upstream.sent()) == 1 and report.sent == 1
    state = UpstreamState.objects.get()
    assert state.rate_limited_count == 1 and state.pause_kind == "rate_limited"
    assert Action.objects.filter(status="queued").count() == 2  # no penalty, nothing lost


def test_a_worker_killed_after_its_claim_costs_one_ambiguous_resend(
        run_drain, fake_upstream, fake_clock, devices, operator):
    outbox.enqueue(devices(1)[0], "exempt_all", user=operator)
    outbox.claim.claim_next("worker-that-dies")  # it dies here, before calling the cloud
    fake_clock.advance(1.5 + outbox.claim.LEASE_EXTRA.total_seconds() + 1)
    run_drain()
    action = Action.objects.get()
    assert (action.status, action.attempts, action.ambiguous) == ("succeeded", 2, True)
    assert len(fake_upstream.sent()) == 1
    assert UpstreamAttempt.objects.filter(outcome="lost").count() == 1


def test_a_bulk_backlog_goes_out_at_the_limit_less_the_slot_kept_for_clicks(
        run_drain, fake_upstream, fake_clock, outbox_settings, devices, operator):
    outbox_settings.GEARS_RATE_LIMIT = RateLimit(5, 1.0)
    outbox_settings.GEARS_BATCH_SIZE = 1  # one request per action
    outbox.enqueue_bulk([d.pk for d in devices(20)], "dhcprenew", user=operator)
    run_drain()
    assert Action.objects.filter(status="succeeded").count() == 20
    starts = sorted(UpstreamAttempt.objects.values_list("started_at", flat=True))
    for i in range(len(starts) - 4):  # no 5 starts within any second: one slot stays free
        assert starts[i + 4] - starts[i] > timedelta(seconds=1)
    # And no slower than the budget allows: 5 - 1 per (W + latency + margin).
    throughput = (len(starts) - 1) / (starts[-1] - starts[0]).total_seconds()
    assert throughput >= 0.95 * 4 / (1.0 + 0.05 + 0.02), throughput


def test_a_run_stops_at_its_runtime_and_says_work_is_left(run_drain, outbox_settings, devices, operator):
    outbox_settings.GEARS_RATE_LIMIT = RateLimit(1, 10.0)
    outbox_settings.GEARS_BATCH_SIZE = 1
    outbox.enqueue_bulk([d.pk for d in devices(3)], "dhcprenew", user=operator)
    report = run_drain(max_runtime=15)
    assert report.sent == 2 and report.work_left


def test_work_due_within_a_minute_after_the_run_ends_is_handed_to_a_fresh_run(run_drain, fake_clock, devices,
                                                                               operator):
    # A pause of 30 s after a 5 s run: waiting for the one-minute schedule could resume it up to a minute late.
    action = outbox.enqueue(devices(1)[0], "dhcprenew", user=operator).action
    Action.objects.filter(pk=action.pk).update(not_before=fake_clock.now() + timedelta(seconds=30))
    report = run_drain(max_runtime=5)
    assert (report.sent, report.work_left) == (0, True)


def test_work_due_after_the_run_ends_is_left_to_the_next_run(run_drain, fake_clock, devices, operator):
    action = outbox.enqueue(devices(1)[0], "dhcprenew", user=operator).action
    Action.objects.filter(pk=action.pk).update(not_before=fake_clock.now() + timedelta(minutes=10))
    report = run_drain(max_runtime=5)
    assert (report.sent, report.work_left) == (0, False)  # the one-minute schedule picks it up
    assert fake_clock.slept == []


def test_a_drainer_waits_in_naps_of_at_most_max_nap(run_drain, fake_clock, devices, operator):
    action = outbox.enqueue(devices(1)[0], "dhcprenew", user=operator).action
    Action.objects.filter(pk=action.pk).update(not_before=fake_clock.now() + timedelta(seconds=1.1))
    assert run_drain(max_runtime=10).sent == 1
    assert outbox.MAX_NAP <= 0.25
    assert fake_clock.slept == pytest.approx([outbox.MAX_NAP] * 4 + [1.1 - 4 * outbox.MAX_NAP])


def test_an_audit_entry_per_click_and_no_token_in_any_record(run_drain, fake_upstream, devices, operator):
    fake_upstream.script.append(transient())
    for device in devices(2):
        outbox.enqueue(device, "dhcprenew", user=operator)
    run_drain()
    token = UpstreamToken.objects.get().access_token
    assert token and AuditEntry.objects.count() == 2
    for model in (Action, UpstreamAttempt, AuditEntry, UpstreamState):
        for row in model.objects.values():
            assert token not in repr(row), model


# ------------------------------------------------------------------ no token to be had


def run_like_the_cluster(run_drain, fake_clock, minutes: int, drainers: int = 2) -> None:
    """What django-q2 does, on the fake clock: each minute the schedule starts `drainers` drainers,
    and a run that leaves work kicks another at once."""
    end = fake_clock.now() + timedelta(minutes=minutes)
    while fake_clock.now() < end and Action.objects.filter(status__in=Action.PENDING).exists():
        next_minute = fake_clock.now() + timedelta(minutes=1)
        for i in range(drainers):
            while run_drain(max_runtime=45, worker=f"w{i}", use_slot=False).work_left and fake_clock.now() < end:
                pass
        if fake_clock.now() < next_minute:
            fake_clock.advance((next_minute - fake_clock.now()).total_seconds())


def warnings_logged(caplog) -> list[str]:
    return [record.getMessage() for record in caplog.records if record.levelno >= logging.WARNING]


def test_a_wrong_client_secret_costs_one_token_request_per_pause_and_one_log_line(
        run_drain, fake_upstream, fake_clock, devices, operator, caplog):
    refused = GearsAuthError("token request refused: invalid_client (Bad client credentials)", permanent=True)
    fake_upstream.tokens += [refused] * 1000
    for device in devices(3):
        outbox.enqueue(device, "dhcprenew", user=operator)
    with caplog.at_level(logging.INFO):
        run_like_the_cluster(run_drain, fake_clock, minutes=30)
    # One request per AUTH_PAUSE (5 min) across both drainers and every schedule run.
    assert fake_upstream.token_requests() <= 30 / 5 + 1
    assert len(warnings_logged(caplog)) == 1 and "invalid_client" in warnings_logged(caplog)[0]
    assert fake_upstream.sent() == [] and Action.objects.filter(status="queued").count() == 3
    assert outbox.budget_view().pause_kind == "credentials"


def test_a_30_s_outage_mid_drain_is_no_credentials_failure_and_sending_resumes_within_10_s(
        run_drain, fake_upstream, fake_clock, outbox_settings, devices, operator, caplog):
    outbox_settings.GEARS_RATE_LIMIT = RateLimit(10, 10.0)
    outbox_settings.GEARS_RETRY_BASE, outbox_settings.GEARS_RETRY_CAP = 30, 1800  # the defaults
    outbox_settings.GEARS_BATCH_SIZE = 1  # 80 requests, to keep sending through the outage
    fake_upstream.token_lifetime = 44
    outbox.enqueue_bulk([d.pk for d in devices(80)], "dhcprenew", user=operator)
    run_drain(max_runtime=35)
    # The cloud refuses connections for 30 s, over the token's refresh at 39.6 s.
    outage_ends = fake_clock.now() + timedelta(seconds=30)
    fake_upstream.down_until = outage_ends
    with caplog.at_level(logging.INFO):
        run_like_the_cluster(run_drain, fake_clock, minutes=30)
    assert Action.objects.filter(status="succeeded").count() == 80
    first_ok = UpstreamAttempt.objects.filter(outcome="ok", started_at__gte=outage_ends).order_by("started_at")[0]
    assert first_ok.started_at - outage_ends <= timedelta(seconds=10)
    refused = fake_upstream.refused
    print(f"{len(refused)} refused requests ({refused.count('token')} for a token); resumed "
          f"{(first_ok.started_at - outage_ends).total_seconds():.1f} s after the outage; {fake_upstream.granted} grants")
    assert len(refused) <= 20  # probes that grow apart, not a loop (thousands before)
    lines = warnings_logged(caplog)
    assert len(lines) < 20 and not any("GEARS_CLIENT_SECRET" in line for line in lines), lines
    assert outbox.budget_view().pause_kind == ""


# ------------------------------------------------------------------ batches and the slot kept for clicks


def test_a_bulk_job_goes_out_fifty_devices_per_request(run_drain, fake_upstream, outbox_settings, devices, operator):
    outbox_settings.GEARS_BATCH_SIZE = 50
    job = outbox.enqueue_bulk([d.pk for d in devices(120)], "exempt_all", user=operator)
    report = run_drain()
    assert [len(call.identifiers) for call in fake_upstream.sent()] == [50, 50, 20]
    assert (report.sent, report.requests) == (120, 3)
    assert job.actions.filter(status="succeeded").count() == 120
    assert list(UpstreamAttempt.objects.order_by("started_at").values_list("items", flat=True)) == [50, 50, 20]


def test_a_click_made_while_a_bulk_job_waits_for_its_pace_goes_out_within_a_nap(
        run_drain, fake_upstream, fake_clock, outbox_settings, devices, operator):
    outbox_settings.GEARS_RATE_LIMIT = RateLimit(10, 60.0)  # bulk paced 6 s apart, as at the real limit
    outbox_settings.GEARS_BATCH_SIZE = 1
    *bulk, clicked = devices(12)
    outbox.enqueue_bulk([d.pk for d in bulk], "dhcprenew", user=operator)
    made = {}

    def sleep(seconds: float) -> None:
        fake_clock.sleep(seconds)
        if len(fake_upstream.sent()) == 9 and not made:  # the bulk job has taken all the slots it may
            made["at"] = fake_clock.now()
            made["action"] = outbox.enqueue(clicked, "exempt_critical", user=operator).action

    outbox.drain(max_runtime=90, client=fake_upstream, sleep=sleep, monotonic=fake_clock.monotonic)
    click = UpstreamAttempt.objects.get(action=made["action"])
    assert click.started_at - made["at"] <= timedelta(seconds=outbox.MAX_NAP)
    # Bulk work never took the last slot of a window: at most 9 starts in any 60 s.
    starts = sorted(UpstreamAttempt.objects.exclude(pk=click.pk).values_list("started_at", flat=True))
    assert all(b - a > timedelta(seconds=60) for a, b in zip(starts, starts[9:], strict=False))
