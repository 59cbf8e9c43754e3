"""Fixtures of the upstream client tests: a client on the simulator, a token, every log line."""

from __future__ import annotations

import logging

import pytest

from devices.tests.upstream.support import CLIENT_ID, CLIENT_SECRET
from devices.upstream import GearsClient
from devices.upstream.redaction import RedactingFilter


@pytest.fixture
def logs(caplog, monkeypatch):
    """Capture every log record at DEBUG, urllib3's request lines included.

    The project's settings raise urllib3 to WARNING; a debugging session may
    not, so the tests lower it again. The settings' console handler redacts
    records in place before caplog sees them; its filters are removed here so
    that the tests check what the client guarantees on its own.
    """
    for handler in logging.getLogger().handlers:
        kept = [f for f in handler.filters if not isinstance(f, RedactingFilter)]
        monkeypatch.setattr(handler, "filters", kept)
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="urllib3")
    caplog.set_level(logging.DEBUG, logger="devices.upstream.client")
    return caplog


@pytest.fixture
def client(simulator):
    with GearsClient(simulator.base_url, timeout=5, connect_timeout=2) as gears:
        yield gears


@pytest.fixture
def token(client):
    return client.fetch_token(CLIENT_ID, CLIENT_SECRET).access_token
