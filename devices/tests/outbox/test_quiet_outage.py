"""A cloud down for many drain loops is logged once when it goes and once when it comes back, not once per retry."""

from __future__ import annotations

import logging
import time

import pytest
import requests

from devices import outbox
from devices.models import Action, Device, UpstreamAttempt


def warnings_and_worse(caplog) -> list[str]:
    return [f"{r.levelname} {r.name}: {r.getMessage()}" for r in caplog.records if r.levelno >= logging.WARNING]


def drain_for(seconds: float) -> None:
    outbox.drain(max_runtime=seconds, use_slot=False)


def drain_until_probed(probes: int, before: int, give_up: float = 60.0) -> int:
    """Drain through the outage until `probes` calls were tried (a busy machine makes fewer a second)."""
    deadline = time.monotonic() + give_up
    while UpstreamAttempt.objects.count() - before < probes and time.monotonic() < deadline:
        drain_for(1.0)
    return UpstreamAttempt.objects.count() - before


@pytest.mark.parametrize("outage", ["connections refused", "503 from every endpoint"])
def test_a_long_outage_logs_one_warning_when_it_starts_and_one_when_it_ends(db, upstream, operator, settings,
                                                                             caplog, outage):
    sim = upstream()
    settings.GEARS_MAX_ATTEMPTS = 1000  # the actions keep waiting through the outage instead of giving up
    settings.GEARS_BATCH_SIZE = 1
    devices = [Device.objects.create(name=f"ws-{i}", hwid=f"HWID{i:012d}") for i in range(6)]
    outbox.enqueue(devices[0], "dhcprenew", user=operator)
    drain_for(2.0)  # a token, and the cloud known to answer
    before = UpstreamAttempt.objects.count()
    for device in devices[1:]:
        outbox.enqueue(device, "dhcprenew", user=operator)
    if outage == "connections refused":
        sim.refuse_connections()
    else:
        requests.post(f"{sim.base_url}/_sim/faults", json={"down": True}, timeout=5)
    with caplog.at_level(logging.INFO):
        # Probes 0.05 to 0.2 s apart (GEARS_RETRY_BASE, GEARS_RETRY_CAP): about 15 in 3 s.
        probes = drain_until_probed(15, before)
        during = warnings_and_worse(caplog)
        if outage == "connections refused":
            sim.accept_connections()
        else:
            requests.post(f"{sim.base_url}/_sim/faults", json={"down": False}, timeout=5)
        caplog.clear()
        drain_for(3.0)
        after = warnings_and_worse(caplog)
    print(f"{outage}: {probes} probes, {len(during)} warning(s)")
    assert probes >= 15, f"only {probes} probes: the outage was not long in loops"
    assert len(during) == 1, during
    assert "paused" in during[0]
    assert len(after) == 1 and "answers again" in after[0], after
    assert not Action.objects.filter(status__in=Action.PENDING).exists()
