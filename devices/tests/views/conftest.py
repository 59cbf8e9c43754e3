"""Fixtures for the view tests."""

from __future__ import annotations

import pytest


@pytest.fixture
def operator_client(client, operator):
    client.force_login(operator)
    return client
