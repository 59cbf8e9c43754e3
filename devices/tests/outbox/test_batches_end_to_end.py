"""Batched bulk actions against the simulator over real HTTP: as few requests as the batch size allows,
each device's answer on its own action, whole-request failures retried, and a click during a drain sent at once."""

from __future__ import annotations

import math
import time

import requests

from devices import outbox
from devices.models import Action, Device, UpstreamAttempt
from devices.upstream import BULK_PATH
from gearsdash.env import RateLimit

UNKNOWN_HWID = "UNKNOWN000000000"


def stats(sim) -> dict:
    return requests.get(f"{sim.base_url}/_sim/stats", timeout=5).json()


def sim_devices(sim) -> list[dict]:
    return requests.get(f"{sim.base_url}/_sim/devices", timeout=5).json()["devices"]


def api_calls(sim) -> list[dict]:
    return [entry for entry in stats(sim)["request_log"] if entry["path"].startswith("/o/api/")]


def test_a_mixed_backlog_of_300_goes_in_as_few_requests_as_the_batch_size_allows(db, upstream, operator, settings):
    sim = upstream(limit=10, window=1.0, devices=200)
    settings.GEARS_BATCH_SIZE = 50
    known = sim_devices(sim)
    truth = {d["hwid"]: d for d in known}
    # 89 devices known by HWID and one the cloud lacks; 60 known by their MAC only.
    by_hwid = [Device.objects.create(name=d["hostname"], hwid=d["hwid"]) for d in known[:89]]
    by_hwid.append(Device.objects.create(name="not-in-the-cloud", hwid=UNKNOWN_HWID))
    by_mac = []
    for d in known[89:149]:
        device = Device.objects.create(name=d["hostname"])
        device.macs.create(address=d["macs"][0], is_primary=True)
        by_mac.append((device, d["hwid"]))
    mac_devices = [device for device, _ in by_mac]
    groups = {  # (kind, identifier type): devices
        ("dhcprenew", "hwid"): by_hwid, ("dhcprenew", "mac"): mac_devices,
        ("exempt_all", "hwid"): by_hwid[:60], ("exempt_all", "mac"): mac_devices[:30],
        ("unexempt", "hwid"): by_hwid[60:], ("unexempt", "mac"): mac_devices[30:],
    }
    assert sum(len(members) for members in groups.values()) == 300
    for kind in ("dhcprenew", "exempt_all", "unexempt"):
        members = [d for (k, _), group in groups.items() if k == kind for d in group]
        outbox.enqueue_bulk([d.pk for d in members], kind, user=operator)

    while Action.objects.filter(status__in=Action.PENDING).exists():
        outbox.drain(max_runtime=10)

    calls = api_calls(sim)
    assert len(calls) == sum(math.ceil(len(group) / 50) for group in groups.values()) == 9
    assert {call["path"] for call in calls} == {BULK_PATH}
    assert stats(sim)["rate_limited"] == 0
    assert list(UpstreamAttempt.objects.order_by("started_at").values_list("items", flat=True)) == [
        50, 40, 50, 10, 50, 10, 30, 30, 30]
    hwid_of = {device.pk: hwid for device, hwid in by_mac} | {d.pk: d.hwid for d in by_hwid}
    for action in Action.objects.select_related("device"):
        cloud = truth.get(hwid_of[action.device_id])
        applies = cloud is not None and (action.kind != "dhcprenew" or cloud["persistent_agent"])
        assert action.status == ("succeeded" if applies else "failed"), (action.kind, action.identifier)
    after = {d["hwid"]: d for d in sim_devices(sim)}
    assert all(after[hwid_of[d.pk]]["exempt"] == "all" for d in by_hwid[:60] + mac_devices[:30])
    assert all(after[hwid_of[d.pk]]["exempt"] == "none" for d in by_hwid[60:89] + mac_devices[30:])
    unknown = Action.objects.filter(device__hwid=UNKNOWN_HWID)
    assert set(unknown.values_list("status", flat=True)) == {"failed"}
    assert unknown.first().last_error == f"The cloud has no device with HWID {UNKNOWN_HWID}."


def test_a_500_on_a_batch_retries_its_actions_and_they_succeed_later(db, upstream, operator, settings):
    sim = upstream(limit=10, window=1.0, devices=80, fail_next=1)
    settings.GEARS_BATCH_SIZE = 50
    hwids = [d["hwid"] for d in sim_devices(sim) if d["persistent_agent"]][:60]
    Device.objects.bulk_create([Device(name=f"b-{i:02d}", hwid=hwid) for i, hwid in enumerate(hwids)])
    job = outbox.enqueue_bulk(list(Device.objects.values_list("pk", flat=True)), "dhcprenew", user=operator)
    while Action.objects.filter(status__in=Action.PENDING).exists():
        outbox.drain(max_runtime=10)
    assert job.actions.filter(status="succeeded").count() == 60
    first_batch = UpstreamAttempt.objects.order_by("started_at").first()
    assert (first_batch.outcome, first_batch.http_status, first_batch.items) == ("transient", 500, 50)
    assert job.actions.filter(attempts=2, ambiguous=True).count() == 50
    s = stats(sim)
    assert s["rate_limited"] == 0
    assert all(d["dhcp_renewals"] >= 1 for d in sim_devices(sim) if d["hwid"] in hwids)


def test_with_a_batch_size_of_1_each_action_is_a_request_of_its_own(db, upstream, operator, settings):
    sim = upstream(limit=10, window=1.0)
    settings.GEARS_BATCH_SIZE = 1
    hwids = [d["hwid"] for d in sim_devices(sim)][:12]
    Device.objects.bulk_create([Device(name=f"s-{i:02d}", hwid=hwid) for i, hwid in enumerate(hwids)])
    outbox.enqueue_bulk(list(Device.objects.values_list("pk", flat=True)), "exempt_all", user=operator)
    while Action.objects.filter(status__in=Action.PENDING).exists():
        outbox.drain(max_runtime=10)
    paths = [call["path"] for call in api_calls(sim)]
    assert sorted(paths) == sorted(f"/o/api/v2/devices/{hwid}/action" for hwid in hwids)
    assert Action.objects.filter(status="succeeded").count() == 12


def test_a_click_during_a_bulk_drain_is_sent_well_within_one_bulk_pacing_interval(db, upstream, operator, settings):
    # 4 per 6 s: bulk work is paced 0.9 * 6 / 3 = 1.8 s apart and takes 3 of the 4 slots.
    limit, window = 4, 6.0
    sim = upstream(limit=limit, window=window)
    settings.GEARS_BATCH_SIZE = 1  # one request per action, so the drain lasts
    known = [d["hwid"] for d in sim_devices(sim)]
    Device.objects.bulk_create([Device(name=f"c-{i:02d}", hwid=hwid) for i, hwid in enumerate(known[:7])])
    *bulk, clicked = Device.objects.order_by("id")
    outbox.enqueue_bulk([d.pk for d in bulk], "dhcprenew", user=operator)
    made = {}

    def sleep(seconds: float) -> None:
        # Click once the bulk job holds every slot it may, a little after its last start.
        if not made and UpstreamAttempt.objects.count() == limit - 1:
            last = UpstreamAttempt.objects.order_by("-started_at").first().started_at
            if (outbox.db_now() - last).total_seconds() > 0.2:
                made["action"] = outbox.enqueue(clicked, "exempt_all", user=operator).action
                made["at"] = outbox.db_now()
        time.sleep(seconds)

    outbox.drain(max_runtime=window + 1, sleep=sleep)
    sent = UpstreamAttempt.objects.get(action=made["action"]).started_at
    latency = (sent - made["at"]).total_seconds()
    pacing = outbox.budget.budget().pacing
    print(f"click sent {1000 * latency:.0f} ms after it was made (bulk pacing {1000 * pacing:.0f} ms)")
    assert latency < min(1.0, pacing / 2), latency
    assert Action.objects.get(pk=made["action"].pk).status == "succeeded"
    assert stats(sim)["rate_limited"] == 0
    assert settings.GEARS_RATE_LIMIT == RateLimit(limit, window)
