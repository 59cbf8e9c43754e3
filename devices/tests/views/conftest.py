"""Fixtures for the view tests."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import time_machine


@pytest.fixture
def operator_client(client, operator):
    client.force_login(operator)
    return client


@pytest.fixture
def frozen_clock(settings):
    """The outbox's clock standing still (the local clock, so PostgreSQL's cannot move under it)."""
    settings.GEARS_CLOCK = "local"
    with time_machine.travel(datetime(2026, 3, 2, 9, 0, tzinfo=UTC), tick=False):
        yield datetime(2026, 3, 2, 9, 0, tzinfo=UTC)

