"""The API's own rate per token: over it, 429 with Retry-After and RateLimit headers; the cloud's budget untouched."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
import time_machine

from devices.models import UpstreamAttempt
from devices.tests.api.conftest import bearer
from gearsdash.env import RateLimit

DEVICES = "/api/v1/devices/"


@pytest.fixture(autouse=True)
def mid_window():
    """The rate is counted in fixed windows: the clock stands still ten seconds into one, so no test's
    requests straddle a window's end."""
    with time_machine.travel(datetime(2026, 3, 2, 9, 0, 10, tzinfo=UTC), tick=False):
        yield


def test_a_token_over_its_rate_gets_429_with_when_to_come_back(client, operator, make_token, settings):
    settings.API_RATE_LIMIT = RateLimit(3, 60)
    _, plain = make_token(operator, ["devices:read"])
    answers = [client.get(DEVICES, **bearer(plain)) for _ in range(4)]
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    refused = answers[-1]
    assert refused["Content-Type"] == "application/problem+json"
    assert 1 <= int(refused["Retry-After"]) <= 60
    assert refused["RateLimit-Policy"] == '"per-token";q=3;w=60'
    remaining, reset = re.fullmatch(r'"per-token";r=(\d+);t=(\d+)', refused["RateLimit"]).groups()
    assert remaining == "0" and int(reset) == int(refused["Retry-After"])


def test_each_token_has_its_own_rate_and_none_of_it_is_the_clouds(client, operator, make_token, settings):
    settings.API_RATE_LIMIT = RateLimit(2, 60)
    _, busy = make_token(operator, ["devices:read"], name="busy")
    _, quiet = make_token(operator, ["devices:read"], name="quiet")
    for _ in range(3):
        client.get(DEVICES, **bearer(busy))
    assert client.get(DEVICES, **bearer(busy)).status_code == 429
    assert client.get(DEVICES, **bearer(quiet)).status_code == 200
    assert not UpstreamAttempt.objects.exists()
