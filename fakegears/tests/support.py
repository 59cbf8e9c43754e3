"""Helpers shared by the fakegears tests (imported as fakegears.tests.support)."""

from __future__ import annotations

import threading
from typing import Any

import requests

from fakegears.config import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET
from fakegears.server import RunningSimulator

HTTP_TIMEOUT = 10


class GearsClient:
    """Thin helper over `requests` for one simulator and one token."""

    def __init__(self, sim: RunningSimulator, token: str | None) -> None:
        self.sim = sim
        self.base_url = sim.base_url
        self.token = token

    def request(self, method: str, path: str, *, with_token: bool = True, **kwargs: Any) -> requests.Response:
        params = dict(kwargs.pop("params", None) or {})
        if with_token and self.token is not None:
            params.setdefault("access_token", self.token)
        kwargs.setdefault("timeout", HTTP_TIMEOUT)
        return requests.request(method, self.base_url + path, params=params, **kwargs)

    def action(self, device_id: str, types: str, **params: Any) -> requests.Response:
        return self.request(
            "POST", f"/o/api/v2/devices/{device_id}/action", params={"types": types, **params}
        )

    def remediation(self, value: str, version: str = "v2.2", **params: Any) -> requests.Response:
        return self.request("GET", f"/o/api/{version}/devices/{value}/remediation", params=params)

    def bulk(self, body: Any = None, **kwargs: Any) -> requests.Response:
        if body is not None:
            kwargs["json"] = body
        return self.request("POST", "/o/api/v2/devices/action", **kwargs)

    def list_devices(self, **params: Any) -> requests.Response:
        return self.request("GET", "/o/api/v2.2/devices", params=params)

    def control(self, method: str, name: str, body: Any = None) -> requests.Response:
        kwargs: dict[str, Any] = {"timeout": HTTP_TIMEOUT}
        if body is not None:
            kwargs["json"] = body
        return requests.request(method, f"{self.base_url}/_sim/{name}", **kwargs)

    def stats(self) -> dict[str, Any]:
        response = self.control("GET", "stats")
        assert response.status_code == 200
        return response.json()


def fetch_token(sim: RunningSimulator, **extra: str) -> str:
    response = requests.post(
        sim.base_url + "/o/oauth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": DEMO_CLIENT_ID,
            "client_secret": DEMO_CLIENT_SECRET,
            **extra,
        },
        timeout=HTTP_TIMEOUT,
    )
    assert response.status_code == 200, response.text
    return response.json()["access_token"]


class ManualClock:
    """A clock for the simulator (fakegears.clock.Clock) that moves only when told.

    Its sleeps return at once after moving the clock, so injected latency and
    hangs take no real time.
    """

    def __init__(self, start: float = 1000.0) -> None:
        self.time = start
        self._lock = threading.Lock()

    def now(self) -> float:
        with self._lock:
            return self.time

    def advance(self, seconds: float) -> None:
        with self._lock:
            self.time += seconds

    def sleep(self, seconds: float, wake: threading.Event) -> bool:
        self.advance(max(0.0, seconds))
        return wake.is_set()
