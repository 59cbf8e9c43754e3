"""The Upstream page: budget, backlog, pauses."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from django.urls import reverse

from devices import outbox
from devices.models import Device, UpstreamAttempt, UpstreamState
from gearsdash.env import RateLimit


def test_the_upstream_page_shows_budget_backlog_and_a_pause(viewer_client, sample_device, operator):
    outbox.enqueue(sample_device, "dhcprenew", user=operator)
    outbox.breaker.pause("The cloud failed 3 times in a row", 300)
    body = viewer_client.get(reverse("devices:upstream")).content.decode()
    assert "Budget used now <strong>0 / 10</strong>" in body
    assert '<strong id="backlog-devices">1 action</strong> in <strong id="backlog-requests">1 request</strong>' in body
    assert "Sending is paused" in body and "failed 3 times in a row" in body
    assert "Resume now" not in body  # a viewer cannot


def test_the_upstream_page_shows_the_batch_size_the_kept_slot_and_the_backlog_in_requests(
        viewer_client, lab_devices, operator, settings, frozen_clock):
    settings.GEARS_RATE_LIMIT = RateLimit(10, 60)
    outbox.enqueue_bulk([d.pk for d in lab_devices(3000)], "exempt_all", user=operator)
    body = viewer_client.get(reverse("devices:upstream")).content.decode()
    assert '<strong id="backlog-devices">3,000 actions</strong> in <strong id="backlog-requests">60 requests</strong>' in body
    drained = datetime.fromisoformat(re.search(r'id="drained-at" datetime="([^"]+)"', body)[1])
    assert timedelta(minutes=6) < drained - frozen_clock < timedelta(minutes=7)
    assert "<strong>up to 50 devices per request</strong>" in body
    assert "<strong>1 of 10 requests</strong> per window kept for clicks while bulk work waits" in body
    assert "free now" in body and 'id="batch-advice"' not in body

    attempt = UpstreamAttempt.objects.create(started_at=frozen_clock, finished_at=frozen_clock, worker="w")
    UpstreamAttempt.objects.bulk_create([UpstreamAttempt(started_at=attempt.started_at, finished_at=attempt.finished_at,
                                                         worker="w") for _ in range(9)])
    full = viewer_client.get(reverse("devices:upstream")).content.decode()
    assert "taken now, a click goes out a minute from now" in full  # when the first of the ten frees its slot

    settings.GEARS_BATCH_SIZE = 1
    body = viewer_client.get(reverse("devices:upstream")).content.decode()
    assert "Batching is off" in body and '<strong id="backlog-requests">3,000 requests</strong>' in body


def test_the_upstream_page_shows_the_floor_kept_for_bulk_work_and_the_share_in_the_window(
        viewer_client, lab_devices, operator, settings, frozen_clock):
    settings.GEARS_RATE_LIMIT = RateLimit(10, 60)
    settings.GEARS_BULK_FLOOR = 1 / 3
    outbox.enqueue_bulk([d.pk for d in lab_devices(100)], "exempt_all", user=operator)
    clicked = outbox.enqueue(Device.objects.create(name="ws-click", hwid="CLICK0000001"), "dhcprenew", user=operator)
    UpstreamAttempt.objects.bulk_create(
        [UpstreamAttempt(action=clicked.action, started_at=frozen_clock, finished_at=frozen_clock, worker="w")]
        + [UpstreamAttempt(started_at=frozen_clock, finished_at=frozen_clock, worker="w") for _ in range(2)])
    body = viewer_client.get(reverse("devices:upstream")).content.decode()
    floor = re.search(r'<p id="upstream-bulk-floor">(.*?)</p>', body, re.S)[1]
    assert "<strong>3 of 10 requests</strong> per window kept for bulk work while it waits" in floor
    assert "take at most 7" in floor
    assert "<strong>1</strong> click request, <strong>2</strong> for bulk work" in floor

    settings.GEARS_BULK_FLOOR = 0
    body = viewer_client.get(reverse("devices:upstream")).content.decode()
    assert "No floor for bulk work" in body


def test_after_a_429_the_page_advises_a_smaller_batch(viewer_client, upstream, operator, settings):
    # The cloud allows 1 per 30 s while the console believes 10 per second and ignores its headers (believed,
    # they prevent the 429, and a learned per-device metering removes the advice: test_cloud_word.py).
    upstream(limit=1, window=30, our_limit=RateLimit(10, 1.0))
    settings.GEARS_CLOUD_WORD = False
    for n in range(2):
        outbox.enqueue(Device.objects.create(name=f"ws-{n}", hwid=f"UNKNOWN{n:04d}"), "dhcprenew", user=operator)
    outbox.drain(max_runtime=1.5)
    assert UpstreamState.objects.get().rate_limited_count == 1
    body = viewer_client.get(reverse("devices:upstream")).content.decode()
    assert 'id="batch-advice"' in body and "Lower <code>GEARS_BATCH_SIZE</code> (now 50 devices per request)" in body
    settings.GEARS_BATCH_SIZE = 1  # batching already off: nothing to lower
    assert 'id="batch-advice"' not in viewer_client.get(reverse("devices:upstream")).content.decode()


def test_the_device_list_says_sending_is_paused_and_why_until_the_pause_ends(viewer_client, sample_device):
    listing = reverse("devices:device-list")
    assert "Sending is paused" not in viewer_client.get(listing).content.decode()
    outbox.breaker.pause("The cloud failed 3 times in a row", 300)
    body = viewer_client.get(listing).content.decode()
    assert "Sending is paused" in body and "failed 3 times in a row" in body
    outbox.resume()
    assert "Sending is paused" not in viewer_client.get(listing).content.decode()
