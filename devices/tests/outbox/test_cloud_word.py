"""The cloud's count believed and its bulk metering learned, against the simulator over real HTTP in each
reading the vendor leaves open: another client on the account, bulk requests counted per device, Reset-Time
as seconds or as a Unix time, and a Limit header other than GEARS_RATE_LIMIT."""

from __future__ import annotations

import pytest
import requests
from django.urls import reverse

from devices import outbox
from devices.models import Action, Device, UpstreamAttempt, UpstreamState
from gearsdash.env import RateLimit


def stats(sim) -> dict:
    return requests.get(f"{sim.base_url}/_sim/stats", timeout=5).json()


def known_devices(sim, count: int, prefix: str = "cw") -> list[Device]:
    hwids = [d["hwid"] for d in requests.get(f"{sim.base_url}/_sim/devices", timeout=5).json()["devices"]][:count]
    return Device.objects.bulk_create([Device(name=f"{prefix}-{i:03d}", hwid=h) for i, h in enumerate(hwids)])


def drain_all(max_runs: int = 40) -> None:
    for _ in range(max_runs):
        if not Action.objects.filter(status__in=Action.PENDING).exists():
            return
        outbox.drain(max_runtime=10)


def test_a_drain_while_another_client_spends_3_of_every_10_sends_every_action_with_at_most_5_refused(
        db, upstream, operator, viewer_client, settings):
    sim = upstream(limit=10, window=1.5, devices=40, other_client=3)
    settings.GEARS_BATCH_SIZE = 1
    devices = known_devices(sim, 30)
    outbox.enqueue_bulk([d.pk for d in devices], "exempt_critical", user=operator)
    drain_all()
    s = stats(sim)
    assert Action.objects.filter(status="succeeded").count() == 30
    assert s["rate_limited"] <= 5, s["rate_limited"]
    assert s["other_client_requests"] >= 3
    state = UpstreamState.objects.get()
    assert state.another_client_suspected
    page = viewer_client.get(reverse("devices:upstream")).content.decode()
    assert 'id="another-client"' in page


def test_the_blind_limiter_collects_429s_when_another_client_spends_the_account_budget(
        db, upstream, operator, settings):
    # The same run with the headers ignored: what believing them saves.
    sim = upstream(limit=10, window=1.5, devices=40, other_client=3)
    settings.GEARS_BATCH_SIZE, settings.GEARS_CLOUD_WORD = 1, False
    outbox.enqueue_bulk([d.pk for d in known_devices(sim, 30)], "exempt_critical", user=operator)
    drain_all()
    assert Action.objects.filter(status="succeeded").count() == 30
    assert stats(sim)["rate_limited"] > 0  # each one a pause until the reset


def test_a_bulk_job_under_per_device_metering_is_learned_adapted_and_kept_across_a_restart(
        db, upstream, operator, viewer_client, settings):
    sim = upstream(limit=10, window=1.0, devices=120, bulk_per_item=True)
    settings.GEARS_BATCH_SIZE = 50
    devices = known_devices(sim, 120)
    job = outbox.enqueue_bulk([d.pk for d in devices[:60]], "exempt_all", user=operator)
    drain_all()
    assert job.actions.filter(status="succeeded").count() == 60
    refused = stats(sim)["rate_limited"]
    assert refused <= 5, refused
    state = UpstreamState.objects.get()
    assert state.bulk_metering == UpstreamState.BulkMetering.PER_DEVICE
    answered = UpstreamAttempt.objects.filter(outcome="ok")
    assert max(answered.values_list("items", flat=True)) <= 9  # what a window of 10 holds, one kept for clicks
    view = outbox.budget_view()
    assert view.batch_size == 9 and view.metering_note == "the cloud counts each device of a bulk request"
    page = viewer_client.get(reverse("devices:upstream")).content.decode()
    assert "The cloud counts each device of a bulk request" in page and 'id="batch-advice"' not in page

    # A fresh drainer (another worker, as after a restart or on another machine) reads what was learned.
    second = outbox.enqueue_bulk([d.pk for d in devices[60:]], "exempt_all", user=operator)
    before = UpstreamAttempt.objects.count()
    while Action.objects.filter(status__in=Action.PENDING).exists():
        outbox.drain(max_runtime=10, worker="fresh-process")
    assert second.actions.filter(status="succeeded").count() == 60
    assert stats(sim)["rate_limited"] == refused  # nothing relearned at the cost of a 429
    assert UpstreamAttempt.objects.count() - before >= 60 // 9


def test_the_metering_is_learned_again_when_the_answers_stop_matching(db, upstream, operator, settings):
    sim = upstream(limit=10, window=1.0, devices=120)
    settings.GEARS_BATCH_SIZE = 50
    UpstreamState.objects.update_or_create(pk=1, defaults={"bulk_metering": UpstreamState.BulkMetering.PER_DEVICE})
    job = outbox.enqueue_bulk([d.pk for d in known_devices(sim, 100)], "exempt_all", user=operator)
    drain_all()
    assert job.actions.filter(status="succeeded").count() == 100
    state = UpstreamState.objects.get()
    assert state.bulk_metering == UpstreamState.BulkMetering.PER_REQUEST, state.metering_evidence
    assert "after a batch of 9 devices" in state.metering_evidence
    assert 50 in UpstreamAttempt.objects.values_list("items", flat=True)  # batches grew back
    assert stats(sim)["rate_limited"] == 0


@pytest.mark.parametrize("epoch", [False, True], ids=["seconds", "epoch"])
def test_reset_time_as_seconds_or_as_a_unix_time_holds_sending_until_the_cloud_frees_a_slot(
        db, upstream, operator, settings, epoch):
    # The cloud allows 3 per 3 s while we believe 10 per second: only its count keeps us from a 429.
    sim = upstream(limit=3, window=3.0, our_limit=RateLimit(10, 1.0), reset_epoch=epoch)
    devices = known_devices(sim, 5)
    for device in devices[:3]:
        outbox.enqueue(device, "exempt_all", user=operator)
    drain_all()
    state = UpstreamState.objects.get()
    assert state.cloud_remaining == 0
    reset_in = (state.cloud_reset_at - state.cloud_seen_at).total_seconds()
    assert 0 < reset_in <= 3.0 + 1  # the window's length, whole seconds rounded up: read in the right unit
    for device in devices[3:]:
        outbox.enqueue(device, "exempt_all", user=operator)
    drain_all()
    assert Action.objects.filter(status="succeeded").count() == 5
    assert stats(sim)["rate_limited"] == 0


def test_a_limit_header_other_than_the_setting_is_shown_on_the_upstream_page(
        db, upstream, operator, viewer_client, settings):
    sim = upstream(limit=10, window=1.0, limit_header=60)
    outbox.enqueue(known_devices(sim, 1)[0], "exempt_all", user=operator)
    drain_all()
    state = UpstreamState.objects.get()
    assert (state.cloud_limit, state.cloud_limit_differs) == (60, True)
    page = viewer_client.get(reverse("devices:upstream")).content.decode()
    assert 'id="cloud-limit-differs"' in page and "<strong>60</strong>" in page
    assert "GEARS_RATE_LIMIT</code> is 10 per 1 s" in page


def test_with_the_setting_off_the_headers_are_neither_kept_nor_shown(db, upstream, operator, viewer_client, settings):
    sim = upstream(limit=10, window=1.0, limit_header=60)
    settings.GEARS_CLOUD_WORD = False
    outbox.enqueue(known_devices(sim, 1)[0], "exempt_all", user=operator)
    drain_all()
    assert UpstreamState.objects.get().cloud_seen_at is None
    page = viewer_client.get(reverse("devices:upstream")).content.decode()
    assert "GEARS_CLOUD_WORD</code> is off" in page and 'id="cloud-limit-differs"' not in page
