"""A whole sync from every Get Devices reading the simulator plays, over real HTTP, on a fake clock.

The vendor documents no envelope, no count and two ways past the end
(docs/upstream/api-notes.md §2.4, §7 item 8): each one must bring every
device in and end the sync by itself, with nothing left waiting. An answer
the console cannot read ends its sync after a bounded number of attempts
and pauses nothing else.
"""

from __future__ import annotations

import html
from datetime import UTC, datetime

import pytest
import time_machine
from django.urls import reverse

from devices import outbox
from devices.cloudsync import pages
from devices.models import Action, ActionKind, CloudSync, Device, Notice, UpstreamAttempt
from devices.tests.outbox.fakes import FakeClock
from devices.tests.upstream.support import control
from devices.upstream import GearsClient
from gearsdash.env import RateLimit

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
PAGE_PATH = "/o/api/v2.2/devices"
# The drain's own limit: every sync here ends by itself long before it.
RUNTIME = 600.0


@pytest.fixture
def clock(db, settings):
    settings.GEARS_CLOCK = "local"
    settings.GEARS_KICK_DRAINER = False
    with time_machine.travel(START, tick=False) as traveller:
        yield FakeClock(traveller)


@pytest.fixture
def cloud(upstream, clock):
    """`cloud(devices=..., **readings)`: the simulator, never limiting us (our own budget is 10 a second)."""

    def start(devices: int = 500, **readings):
        return upstream(limit=100_000, window=60.0, our_limit=RateLimit(10, 1.0), devices=devices, **readings)

    return start


@pytest.fixture
def operator_client(client, operator):
    client.force_login(operator)
    return client


def drain(sim, clock, client: GearsClient | None = None) -> outbox.DrainReport:
    with client or GearsClient(sim.base_url, timeout=2.0, connect_timeout=1.0) as gears:
        return outbox.drain(max_runtime=RUNTIME, client=gears, use_slot=False, sleep=clock.sleep,
                            monotonic=clock.monotonic)


def open_actions() -> int:
    return Action.objects.filter(status__in=(*Action.PENDING, Action.Status.SENDING)).count()


def page_statuses(sim) -> list[int]:
    return [entry["status"] for entry in control(sim, "GET", "stats")["request_log"] if entry["path"] == PAGE_PATH]


READINGS = [
    # No count at all: the bare array has none, the objects are told to send none.
    ({"devices_envelope": "array"}, None, 413),
    ({"devices_envelope": "devices", "devices_count": "none"}, None, 413),
    ({"devices_envelope": "results", "devices_count": "none"}, None, 413),
    # With a count, and past the end as 413 or as an empty 200 page.
    ({"devices_envelope": "devices", "devices_count": "total"}, 500, 413),
    ({"devices_envelope": "results", "devices_count": "total_count"}, 500, 413),
    ({"devices_envelope": "array", "past_end": "empty"}, None, 200),
    ({"devices_envelope": "devices", "devices_count": "total_count", "past_end": "empty"}, 500, 200),
    ({"devices_envelope": "results", "devices_count": "none", "past_end": "empty"}, None, 200),
]


@pytest.mark.parametrize(("readings", "count", "past_end_status"), READINGS,
                         ids=["-".join(r[0].values()) for r in READINGS])
def test_a_sync_of_500_devices_brings_every_one_in_from_each_reading_and_leaves_nothing_open(
        cloud, clock, make_device, readings, count, past_end_status):
    sim = cloud(**readings)
    make_device("gone", hwid="GONE000000000001")  # the cloud lacks it: a finished sync marks it
    clock.advance(1)  # made before the sync began
    started = pages.start_sync(CloudSync.Trigger.COMMAND).sync

    report = drain(sim, clock)

    sync = CloudSync.objects.get(pk=started.pk)
    assert (sync.status, sync.error, sync.notes) == (CloudSync.Status.SUCCEEDED, "", [])
    assert (sync.added, sync.devices_read, sync.skipped, sync.marked_missing) == (500, 500, 0, 1)
    # An empty page past the end is a page read; a 413 is not.
    assert (sync.devices_total, sync.pages_done) == (count, 10 if past_end_status == 413 else 11)
    assert set(Device.objects.exclude(name="gone").values_list("hwid", flat=True)) == {
        device.hwid for device in sim.state.devices}
    # Ten full pages, then the one past the end that ends the list.
    assert page_statuses(sim) == [200] * 10 + [past_end_status]
    assert open_actions() == 0 and not report.work_left
    assert Notice.objects.filter(kind=Notice.Kind.SYNC_ENDED, tone=Notice.Tone.SUCCESS).count() == 1


def test_a_short_last_page_ends_the_sync_without_asking_past_it(cloud, clock):
    sim = cloud(devices=120, devices_envelope="array")
    started = pages.start_sync(CloudSync.Trigger.COMMAND).sync
    drain(sim, clock)
    sync = CloudSync.objects.get(pk=started.pk)
    assert (sync.status, sync.added, sync.pages_done) == (CloudSync.Status.SUCCEEDED, 120, 3)
    assert page_statuses(sim) == [200, 200, 200]


def test_a_running_sync_without_a_count_shows_what_it_read_so_far(cloud, clock, operator_client):
    sim = cloud(devices=500, devices_envelope="results", devices_count="none")
    started = pages.start_sync(CloudSync.Trigger.COMMAND).sync

    class StopAfterThree(GearsClient):
        pages = 0

        def list_devices(self, access_token, page, limit=50):
            StopAfterThree.pages += 1
            if StopAfterThree.pages == 3:
                clock.advance(RUNTIME * 2)  # the drain's time is up after this page
            return super().list_devices(access_token, page, limit)

    drain(sim, clock, StopAfterThree(sim.base_url, timeout=2.0, connect_timeout=1.0))
    sync = CloudSync.objects.get(pk=started.pk)
    assert (sync.is_running, sync.pages_done, sync.devices_read, sync.pages_total) == (True, 3, 150, None)
    body = html.unescape(operator_client.get(reverse("devices:sync")).content.decode())
    assert "3 pages read so far (150 devices; the cloud gives no count)" in body
    assert " of 0" not in body and "waiting for the first page" not in body


def test_an_unreadable_page_fails_its_sync_after_three_attempts_and_pauses_nothing(cloud, clock, operator,
                                                                                   operator_client):
    sim = cloud(devices=120)
    device = Device.objects.create(name="ws-click", hwid=sim.state.devices[0].hwid)
    started = pages.start_sync(CloudSync.Trigger.COMMAND).sync
    clicks = []

    class UnreadablePages(GearsClient):
        """Every page answers an HTML 200; a click is queued while the page is being retried."""

        def list_devices(self, access_token, page, limit=50):
            control(sim, "POST", "faults", {"malformed_next": 1})
            if not clicks and Action.objects.filter(kind=ActionKind.SYNC_PAGE, attempts=2).exists():
                clicks.append(outbox.enqueue(device, ActionKind.DHCPRENEW, user=operator).action)
            return super().list_devices(access_token, page, limit)

    began = clock.now()
    report = drain(sim, clock, UnreadablePages(sim.base_url, timeout=2.0, connect_timeout=1.0))

    sync = CloudSync.objects.get(pk=started.pk)
    assert sync.status == CloudSync.Status.FAILED
    assert "the cloud's page had no list of devices" in sync.error and sync.error.startswith("Page 1: Gave up after 3")
    (page_call,) = Action.objects.filter(kind=ActionKind.SYNC_PAGE)
    assert (page_call.status, page_call.attempts, page_call.unreadable_answers) == (Action.Status.FAILED, 3, 3)
    assert page_statuses(sim) == [200, 200, 200]  # the HTML answers, and no more
    assert UpstreamAttempt.objects.filter(outcome=UpstreamAttempt.Outcome.UNREADABLE).count() == 3
    # Ended by itself on the fake clock, within the retry delays, not at the drain's limit.
    assert not report.work_left and (clock.now() - began).total_seconds() < RUNTIME / 10
    # The click queued meanwhile went out: the cloud answered, so nothing paused.
    (click,) = clicks
    click.refresh_from_db()
    assert click.status == Action.Status.SUCCEEDED
    state = outbox.upstream_state()
    assert (state.blocked_until, state.pause_kind, state.consecutive_failures) == (None, "", 0)
    assert not Notice.objects.filter(kind=Notice.Kind.PAUSED).exists()
    assert open_actions() == 0
    toast = Notice.objects.get(kind=Notice.Kind.SYNC_ENDED)
    assert toast.tone == Notice.Tone.ERROR and "the cloud's page had no list of devices" in toast.text
    body = html.unescape(operator_client.get(reverse("devices:sync")).content.decode())
    assert "the cloud's page had no list of devices" in body


def test_a_page_with_one_bad_device_writes_the_other_49_and_notes_the_skipped_one(cloud, clock, make_device):
    sim = cloud(devices=120, devices_envelope="array", broken_device_next=1)
    make_device("gone", hwid="GONE000000000001")
    clock.advance(1)
    started = pages.start_sync(CloudSync.Trigger.COMMAND).sync
    drain(sim, clock)
    sync = CloudSync.objects.get(pk=started.pk)
    assert (sync.status, sync.added, sync.skipped, sync.devices_read) == (CloudSync.Status.SUCCEEDED, 119, 1, 120)
    assert sync.notes[0] == "Page 1: device 1 on the page: hwid is not a non-empty string: skipped."
    # The skipped device may be one the inventory has: "not listed" proves nothing this time.
    assert sync.marked_missing == 0 and "1 listed device(s) did not fit" in sync.notes[-1]
    assert Device.objects.count() == 119 + 1
    assert open_actions() == 0
