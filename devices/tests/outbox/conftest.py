"""Fixtures of the outbox tests: a scripted upstream client, a fake clock, and test-sized settings.

Most outbox tests run the real drainer, claims and database against
`FakeUpstream` (the GearsClient interface, answers scripted, calls recorded)
on `fake_clock` (time-machine, moved only by the drainer's sleep and the
calls' latency), so they take milliseconds. A handful in test_end_to_end.py
talk to the simulator over HTTP.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import time_machine

from devices import outbox
from devices.models import Device
from devices.tests.outbox.fakes import FakeClock, FakeUpstream
from gearsdash.env import RateLimit

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def fake_clock(db, settings):
    """time-machine's clock, standing still until a sleep or a call moves it.

    PostgreSQL's clock_timestamp() cannot be moved, so the outbox reads the
    local clock there too; the row locks and constraints stay PostgreSQL's.
    """
    settings.GEARS_CLOCK = "local"
    with time_machine.travel(START, tick=False) as traveller:
        yield FakeClock(traveller)


@pytest.fixture
def outbox_settings(settings):
    """A budget of 10 per second, retries in tenths of a second, no django-q2 kicks."""
    settings.GEARS_ACCESS_TOKEN = ""
    settings.GEARS_CLIENT_ID, settings.GEARS_CLIENT_SECRET = "gearsdash-demo", "gearsdash-demo-secret"
    settings.GEARS_RATE_LIMIT = RateLimit(10, 1.0)
    settings.GEARS_RATE_MARGIN = 0.02
    settings.GEARS_TIMEOUT, settings.GEARS_CONNECT_TIMEOUT = 1.0, 0.5
    settings.GEARS_RETRY_BASE, settings.GEARS_RETRY_CAP = 0.05, 0.2
    settings.GEARS_MAX_ATTEMPTS, settings.GEARS_BREAKER_THRESHOLD = 8, 3
    settings.GEARS_DRAINERS = 2
    settings.GEARS_KICK_DRAINER = False
    return settings


@pytest.fixture
def fake_upstream(fake_clock, outbox_settings):
    return FakeUpstream(clock=fake_clock, latency=0.05)


@pytest.fixture
def run_drain(fake_upstream, fake_clock):
    """The real drainer on the fake client and the fake clock."""

    def run(max_runtime: float = 30.0, **kwargs) -> outbox.DrainReport:
        kwargs.setdefault("client", fake_upstream)
        return outbox.drain(max_runtime=max_runtime, sleep=fake_clock.sleep, monotonic=fake_clock.monotonic, **kwargs)

    return run


@pytest.fixture
def devices(db):
    """`devices(n)`: n devices with a HWID each."""

    def make(count: int) -> list[Device]:
        return [Device.objects.create(name=f"ws-{i:03d}", hwid=f"HWID{i:012d}") for i in range(count)]

    return make
