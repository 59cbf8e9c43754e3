"""Fixtures of the outbox tests: a scripted upstream client, a fake clock, and test-sized settings.

Most outbox tests run the real drainer, claims and database against
`FakeUpstream` (the GearsClient interface, answers scripted, calls recorded)
on `fake_clock` (time-machine, moved only by the drainer's sleep and the
calls' latency), so they take milliseconds. A handful in test_end_to_end.py
talk to the simulator over HTTP.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone

import pytest
import time_machine
from django.db import connection

from devices import outbox
from devices.models import Device
from devices.upstream import ActionResult, GearsError, RemediationResult, Token
from gearsdash.env import RateLimit

START = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)


class FakeClock:
    """Wall clock and monotonic clock in one, moved only on purpose."""

    def __init__(self, traveller) -> None:
        self.traveller = traveller
        self.slept: list[float] = []

    def now(self) -> datetime:
        return outbox.db_now()

    def monotonic(self) -> float:
        return outbox.db_now().timestamp()

    def advance(self, seconds: float) -> None:
        self.traveller.shift(seconds)

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.advance(seconds)


@pytest.fixture
def fake_clock(db):
    """time-machine's clock, standing still until a sleep or a call moves it.

    On PostgreSQL the database clock (clock_timestamp()) cannot be moved, so
    tests on the fake clock run on SQLite only.
    """
    if connection.vendor != "sqlite":
        pytest.skip("the fake clock moves timezone.now(), the database clock on SQLite only")
    with time_machine.travel(START, tick=False) as traveller:
        yield FakeClock(traveller)


@dataclass
class Call:
    endpoint: str  # "token", "action" or "remediation"
    token: str = ""
    identifier: str = ""
    opt: int | None = None
    kind: str = ""


@dataclass
class FakeUpstream:
    """The GearsClient interface with scripted answers; every call is recorded.

    `script` holds what the next calls answer, in order (a result, or an
    exception to raise); when it is empty every action succeeds. `tokens`
    does the same for fetch_token. `latency` moves the fake clock per call.
    """

    clock: FakeClock | None = None
    latency: float = 0.0
    script: list = field(default_factory=list)
    tokens: list = field(default_factory=list)
    calls: list[Call] = field(default_factory=list)
    granted: int = 0

    def fetch_token(self, client_id: str, client_secret: str) -> Token:
        self.calls.append(Call("token"))
        if self.tokens:
            answer = self.tokens.pop(0)
            if isinstance(answer, Exception):
                raise answer
            return answer
        self.granted += 1
        return Token(access_token=f"token-{self.granted:02d}-0123456789abcdef", expires_in=3600)

    def device_action(self, access_token: str, identifier: str, opt: int, kind: str) -> ActionResult:
        self.calls.append(Call("action", access_token, identifier, opt, kind))
        return self._answer(ActionResult(ok=True, msg="OK", http_status=200, rate_limit=None))

    def remediation_link(self, access_token: str, identifier: str, opt: int) -> RemediationResult:
        self.calls.append(Call("remediation", access_token, identifier, opt))
        return self._answer(RemediationResult("no_issues", None, "Device has no issues", 200, None))

    def _answer(self, default):
        if self.clock is not None and self.latency:
            self.clock.advance(self.latency)
        answer = self.script.pop(0) if self.script else default
        if isinstance(answer, Exception):
            raise answer
        return answer

    def sent(self) -> list[Call]:
        return [call for call in self.calls if call.endpoint != "token"]


def transient(message: str = "HTTP 500 from the cloud", ambiguous: bool = True) -> GearsError:
    return GearsError(message, permanent=False, status=500, ambiguous=ambiguous)


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
