"""Fixtures: in-process simulators on ephemeral ports, tokens, and a small API client.

Functional tests run with a generous limit (1000 per 1 s) so that the rate
limiter never interferes; rate-limit tests start their own simulator with a
small limit.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from fakegears.clock import Clock
from fakegears.data import SimDevice
from fakegears.server import RunningSimulator, SimulatorConfig, start_simulator
from fakegears.tests.support import GearsClient, fetch_token


@pytest.fixture
def start_sim() -> Iterator[Callable[..., RunningSimulator]]:
    """Factory: start_sim(limit=10, window=1, ..., clock=None) -> a running simulator, stopped after the test."""
    started: list[RunningSimulator] = []

    def factory(clock: Clock | None = None, **overrides: Any) -> RunningSimulator:
        settings: dict[str, Any] = {"limit": 1000, "window": 1.0}
        settings.update(overrides)
        simulator = start_simulator(SimulatorConfig(**settings), clock)
        started.append(simulator)
        return simulator

    yield factory
    for simulator in started:
        simulator.stop()


@pytest.fixture
def sim(start_sim: Callable[..., RunningSimulator]) -> RunningSimulator:
    return start_sim()


@pytest.fixture
def client_for() -> Callable[[RunningSimulator], GearsClient]:
    """client_for(sim) -> a GearsClient holding a fresh client_credentials token."""

    def make(simulator: RunningSimulator) -> GearsClient:
        return GearsClient(simulator, fetch_token(simulator))

    return make


@pytest.fixture
def client(sim: RunningSimulator, client_for: Callable[[RunningSimulator], GearsClient]) -> GearsClient:
    return client_for(sim)


@pytest.fixture
def devices(sim: RunningSimulator) -> list[SimDevice]:
    return sim.state.devices


def pick(devices: list[SimDevice], condition: Callable[[SimDevice], bool]) -> SimDevice:
    return next(device for device in devices if condition(device))


@pytest.fixture
def device_with_issues(devices: list[SimDevice]) -> SimDevice:
    return pick(devices, lambda device: bool(device.issues))


@pytest.fixture
def device_without_issues(devices: list[SimDevice]) -> SimDevice:
    return pick(devices, lambda device: not device.issues)


@pytest.fixture
def device_with_agent(devices: list[SimDevice]) -> SimDevice:
    return pick(devices, lambda device: device.persistent_agent and device.exempt == "none")


@pytest.fixture
def device_without_agent(devices: list[SimDevice]) -> SimDevice:
    return pick(devices, lambda device: not device.persistent_agent)
