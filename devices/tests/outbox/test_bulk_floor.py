"""Clicks go first but cannot starve bulk work: against the simulator over HTTP, a flood of clicks
leaves a bulk job its floor (GEARS_BULK_FLOOR of the window), and the cloud's limit holds."""

from __future__ import annotations

import pytest

from devices import outbox
from devices.models import Action, Device, Priority
from devices.tests.outbox.test_end_to_end import devices_known, stats


def flood_of_clicks_over_a_bulk_job(sim, operator, calls: int = 40) -> tuple[int, int]:
    """A bulk job on the devices the cloud knows, 300 clicks on devices it does not (each still a
    call), one drainer until `calls` calls are made: (bulk calls, click calls). Counted in calls,
    not seconds, so that a slow machine changes nothing."""
    job = devices_known(sim, 40)
    clicked = Device.objects.bulk_create([Device(name=f"flood-{i:03d}", hwid=f"FLOOD{i:011d}") for i in range(300)])
    outbox.enqueue_bulk([d.pk for d in job], "exempt_all", user=operator)
    for device in clicked:
        outbox.enqueue(device, "dhcprenew", user=operator)
    sent = Action.objects.exclude(status__in=Action.PENDING)
    for _ in range(60):  # bounded: a drainer that made no call in a minute fails the assertions below
        if sent.count() >= calls:
            break
        outbox.drain(max_runtime=1, use_slot=False)
    return sent.filter(priority=Priority.BULK).count(), sent.filter(priority=Priority.CLICK).count()


@pytest.mark.django_db
def test_a_flood_of_clicks_leaves_a_bulk_job_its_floor_and_the_limit_holds(upstream, operator, settings):
    sim = upstream(limit=10, window=1.0)
    settings.GEARS_BATCH_SIZE = 1  # one request per action: the counts are calls
    settings.GEARS_BULK_FLOOR = 1 / 3  # 3 of every 10 calls while bulk waits
    bulk, clicks = flood_of_clicks_over_a_bulk_job(sim, operator)
    print(f"{bulk} bulk calls, {clicks} clicks")
    # 3 bulk calls and 7 clicks a window, give or take the edges of the run.
    assert bulk + clicks >= 40
    assert bulk >= 0.2 * (bulk + clicks), (bulk, clicks)
    assert clicks >= 0.6 * (bulk + clicks), (bulk, clicks)  # clicks still go first with the rest
    assert stats(sim)["rate_limited"] == 0 and stats(sim)["max_accepted_in_window"] <= 10


@pytest.mark.django_db
def test_without_a_floor_the_same_flood_starves_the_bulk_job(upstream, operator, settings):
    sim = upstream(limit=10, window=1.0)
    settings.GEARS_BATCH_SIZE = 1
    settings.GEARS_BULK_FLOOR = 0
    bulk, clicks = flood_of_clicks_over_a_bulk_job(sim, operator)
    assert clicks >= 40 and bulk <= 1, (bulk, clicks)
