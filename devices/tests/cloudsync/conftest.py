"""Fixtures of the sync writer's tests: the simulator's device list, fetched page by page over HTTP."""

from __future__ import annotations

import pytest

from devices.tests.upstream.support import CLIENT_ID, CLIENT_SECRET
from devices.upstream import GearsClient


@pytest.fixture
def fetch_pages():
    """`fetch_pages(sim)`: every page of the simulator's list, as the client reads them."""

    def fetch(sim):
        with GearsClient(sim.base_url, timeout=5, connect_timeout=2) as gears:
            token = gears.fetch_token(CLIENT_ID, CLIENT_SECRET).access_token
            first = gears.list_devices(token, 1)
            return [first] + [gears.list_devices(token, n) for n in range(2, first.pages_total + 1)]

    return fetch
