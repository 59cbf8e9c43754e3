"""A whole cloud sync through the outbox against the simulator over real HTTP, at a scaled budget (10 per second).

Faults land on chosen pages: `PagesWithFaults` is the real client, which asks
the simulator (its /_sim/ control API) for a fault just before a chosen
page's first request, so that request is the one that fails.
"""

from __future__ import annotations

import time

import pytest
import requests
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from devices import cloudsync, outbox
from devices.cloudsync import pages
from devices.models import (
    Action,
    ActionKind,
    AuditEntry,
    CloudSync,
    Compliance,
    Device,
    Priority,
    RemediationState,
)
from devices.tests.upstream.support import STATIC_TOKEN, control
from devices.upstream import GearsClient

PAGE_PATH = "/o/api/v2.2/devices"


class PagesWithFaults(GearsClient):
    """The real client; before the first request for a page in `plan`, the simulator is told to fail it."""

    def __init__(self, sim, plan: dict[int, object]):
        super().__init__(sim.base_url, timeout=1.0, connect_timeout=0.5)
        self.sim, self.plan = sim, dict(plan)

    def list_devices(self, access_token, page, limit=50):
        fault = self.plan.pop(page, None)
        if fault == "429":
            _fill_the_window(self.sim, access_token)
        elif fault is not None:
            control(self.sim, "POST", "faults", fault)
        return super().list_devices(access_token, page, limit)


def _fill_the_window(sim, token):
    # Spend the simulator's whole window on another endpoint: the page request that follows gets a 429.
    hwid = sim.state.devices[0].hwid
    for _ in range(10):
        requests.get(f"{sim.base_url}/o/api/v2.2/devices/{hwid}/remediation",
                     params={"opt": "1", "access_token": token}, timeout=5)


def page_requests(sim) -> list[dict]:
    return [e for e in control(sim, "GET", "stats")["request_log"] if e["path"] == PAGE_PATH]


def seed_inventory(sim, make_device):
    """100 of the cloud's 500 devices known (60 as the cloud says, 40 stale), and 3 the cloud lacks."""
    cloud = sim.state.devices
    for index, device in enumerate(cloud[:100]):
        mine = make_device(f"my-{index:03d}", hwid=device.hwid, owner_name="Ops", notes="mine")
        same = index < 60
        compliance = Compliance.NON_COMPLIANT if device.status == 1 else Compliance.COMPLIANT
        Device.objects.filter(pk=mine.pk).update(
            compliance=compliance if same else Compliance.REPORTING,
            exempt_mode=device.exempt,
            remediation_state=RemediationState.LINK if device.issues else RemediationState.NO_ISSUES,
            remediation_link="https://example.com/stale" if device.issues else "",
            cloud_synced_at=timezone.now(),
            # One the last sync missed: listed again, it is back in the cloud (a change).
            cloud_missing_since=timezone.now() if index == 0 else None,
        )
    for name, mac in (("spare-1", "02:00:5e:10:00:01"), ("spare-2", "02:00:5e:10:00:02"), ("kiosk", "02:00:5e:10:00:03")):
        make_device(name, macs=[mac])


def test_a_sync_of_500_devices_with_faults_adds_updates_and_marks_exactly_and_ends_at_the_413_after_ten_pages(
        db, upstream, make_device):
    sim = upstream(devices=500)
    seed_inventory(sim, make_device)
    started = pages.start_sync(CloudSync.Trigger.COMMAND)
    plan = {3: {"fail_next": 2}, 5: "429", 7: {"malformed_next": 1}}
    with PagesWithFaults(sim, plan) as client:
        for _ in range(6):
            outbox.drain(max_runtime=10, client=client, use_slot=False)
            if not CloudSync.objects.filter(status=CloudSync.Status.RUNNING).exists():
                break
    sync = CloudSync.objects.get(pk=started.sync.pk)
    assert (sync.status, sync.error, sync.notes) == (CloudSync.Status.SUCCEEDED, "", [])
    assert (sync.devices_total, sync.pages_total, sync.pages_done) == (500, 10, 10)
    assert (sync.added, sync.updated, sync.marked_missing) == (400, 41, 3)

    statuses = [entry["status"] for entry in page_requests(sim)]
    # Ten full pages, the 413 past them that ends the list (a count never does), plus the injected
    # faults: two 500s, one 429, one HTML 200 (malformed).
    assert sorted(statuses) == sorted([200] * 10 + [413] + [500, 500, 429, 200])
    assert Device.objects.count() == 503
    assert set(Device.objects.filter(cloud_missing_since__isnull=False).values_list("name", flat=True)) == {
        "spare-1", "spare-2", "kiosk"}
    for cloud in sim.state.devices[:100:7]:
        device = Device.objects.get(hwid=cloud.hwid)
        assert (device.owner_name, device.notes) == ("Ops", "mine") and device.name.startswith("my-")
        assert device.compliance == (Compliance.NON_COMPLIANT if cloud.status == 1 else Compliance.COMPLIANT)
        assert device.in_cloud is True
    # 400 added by the sync; the 103 devices the test set up have "created" entries of their own.
    assert AuditEntry.objects.filter(verb=AuditEntry.Verb.CREATED, detail__startswith="Added by").count() == 400
    assert AuditEntry.objects.filter(verb=AuditEntry.Verb.SYNCED).count() == 41 + 3
    calls = Action.objects.filter(kind=ActionKind.SYNC_PAGE)
    assert calls.filter(status=Action.Status.SUCCEEDED).count() == 11
    assert not calls.exclude(status=Action.Status.SUCCEEDED).exists()


def drain_pages(sim, pages: int) -> None:
    """Run a drainer that stops (as a worker would at a restart) once `pages` pages were answered."""
    answered = []

    class Counting(GearsClient):
        def list_devices(self, access_token, page, limit=50):
            result = super().list_devices(access_token, page, limit)
            answered.append(page)
            return result

    with Counting(sim.base_url, timeout=1.0, connect_timeout=0.5) as client:
        outbox.drain(max_runtime=10, client=client, use_slot=False,
                     monotonic=lambda: time.monotonic() + (3600 if len(answered) >= pages else 0))


def test_a_restart_mid_sync_resumes_at_the_page_reached(db, upstream):
    sim = upstream(devices=120)
    started = pages.start_sync(CloudSync.Trigger.SCHEDULE)
    drain_pages(sim, 2)
    sync = CloudSync.objects.get(pk=started.sync.pk)
    assert sync.is_running and sync.next_page == 3 and Device.objects.count() == 100
    # A new worker (after a restart) knows nothing but the rows: it fetches page 3 only.
    outbox.drain(max_runtime=10, use_slot=False)
    sync.refresh_from_db()
    assert sync.status == CloudSync.Status.SUCCEEDED and Device.objects.count() == 120
    assert [e["query"]["page"] for e in page_requests(sim)] == ["1", "2", "3"]


def test_a_second_start_while_one_runs_starts_nothing(db):
    first = pages.start_sync(CloudSync.Trigger.OPERATOR)
    second = pages.start_sync(CloudSync.Trigger.SCHEDULE)
    assert first.created and not second.created and second.sync == first.sync
    assert cloudsync.begin(CloudSync.Trigger.COMMAND, now=timezone.now()) is None
    assert Action.objects.filter(kind=ActionKind.SYNC_PAGE).count() == 1


def test_a_sync_page_waits_behind_clicks_and_bulk_actions(db, upstream, operator):
    sim = upstream(devices=20)
    known = [Device.objects.create(name=d.hostname, hwid=d.hwid) for d in sim.state.devices[:3]]
    pages.start_sync(CloudSync.Trigger.OPERATOR)
    outbox.enqueue_bulk([known[0].pk, known[1].pk], "dhcprenew", user=operator)
    outbox.enqueue(known[2], "unexempt", user=operator)
    outbox.drain(max_runtime=10, use_slot=False)
    order = [entry["path"] for entry in control(sim, "GET", "stats")["request_log"] if entry["path"].startswith("/o/api/")]
    assert order[0].endswith(f"/{known[2].hwid}/action")  # the click
    assert order[-1] == PAGE_PATH and order.count(PAGE_PATH) == 1  # the page last
    assert Action.objects.get(kind=ActionKind.SYNC_PAGE).priority == Priority.SYNC > Priority.BULK


def cloud_at_a_wrong_path(settings, upstream, **config):
    """The simulator behind a base URL with a path it does not serve: every API call is a 404 (permanent)."""
    sim = upstream(static_token=STATIC_TOKEN, **config)
    settings.GEARS_ACCESS_TOKEN = STATIC_TOKEN
    settings.GEARS_BASE_URL = sim.base_url + "/nowhere"
    return sim


def test_a_permanent_page_failure_ends_the_sync_as_failed_with_the_reason(db, settings, upstream):
    cloud_at_a_wrong_path(settings, upstream, devices=120)
    pages.start_sync(CloudSync.Trigger.OPERATOR)
    outbox.drain(max_runtime=5, use_slot=False)
    sync = CloudSync.objects.get()
    assert sync.status == CloudSync.Status.FAILED
    assert sync.error.startswith("Page 1: HTTP 404 from the cloud")
    assert not Device.objects.exists()


def test_the_cloud_shrinking_under_the_sync_ends_it_without_marking_anyone(db, upstream, make_device):
    sim = upstream(devices=120)
    make_device("spare", macs=["02:00:5e:10:00:01"])
    pages.start_sync(CloudSync.Trigger.OPERATOR)
    drain_pages(sim, 2)
    with sim.state.lock:
        del sim.state.devices[60:]  # 60 left: page 3 no longer exists
    outbox.drain(max_runtime=10, use_slot=False)
    sync = CloudSync.objects.get()
    assert (sync.status, sync.pages_done, sync.marked_missing) == (CloudSync.Status.SUCCEEDED, 2, 0)
    assert "ended before page 3" in sync.notes[0]
    assert not Device.objects.filter(cloud_missing_since__isnull=False).exists()


def test_a_count_that_changes_between_pages_marks_no_one(db, upstream, make_device):
    sim = upstream(devices=120)
    make_device("spare", macs=["02:00:5e:10:00:01"])
    pages.start_sync(CloudSync.Trigger.OPERATOR)
    drain_pages(sim, 1)
    with sim.state.lock:
        del sim.state.devices[90:]
    outbox.drain(max_runtime=10, use_slot=False)
    sync = CloudSync.objects.get()
    assert (sync.status, sync.pages_total, sync.marked_missing, sync.list_changed) == ("succeeded", 2, 0, True)
    assert "count changed during the sync (120 before page 2, 90 with it)" in sync.notes[0]
    assert Device.objects.get(name="spare").cloud_missing_since is None


def test_the_command_starts_a_sync_and_follows_it_to_the_end(db, upstream, capsys):
    upstream(devices=120)
    call_command("sync_cloud", "--wait", "--timeout", "20")
    out = capsys.readouterr().out
    sync = CloudSync.objects.get()
    assert f"Cloud sync #{sync.pk} started." in out
    assert f"Cloud sync #{sync.pk} finished: 120 devices in the cloud: 120 added" in out
    call_command("sync_cloud")
    assert "started" in capsys.readouterr().out and CloudSync.objects.count() == 2


def test_the_command_says_a_sync_is_running_and_exits_1_when_it_fails(db, settings, upstream, capsys):
    cloud_at_a_wrong_path(settings, upstream, devices=10)
    running = pages.start_sync(CloudSync.Trigger.OPERATOR).sync
    call_command("sync_cloud")
    assert f"Cloud sync #{running.pk} is already running" in capsys.readouterr().out
    with pytest.raises(CommandError, match=f"Cloud sync #{running.pk} failed: Page 1: HTTP 404"):
        call_command("sync_cloud", "--wait", "--timeout", "30")
