"""What the client tells of the last answer (`last_exchange`) and of a failure (`cause`), for a connection check."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from devices.tests.launchers import free_port
from devices.tests.upstream.support import CLIENT_ID, CLIENT_SECRET, control
from devices.upstream import NAME_NOT_FOUND, REFUSED, UNREADABLE, Exchange, GearsClient, GearsError


def test_the_last_exchange_holds_the_status_the_date_and_that_http_has_no_tls(client, token):
    page = client.list_devices(token, page=1, limit=1)
    exchange = client.last_exchange
    assert exchange.status == 200 and not exchange.tls and not exchange.tls_verified
    assert exchange.date is not None and exchange.date.tzinfo is not None
    assert abs(exchange.date.timestamp() - exchange.received_at) < 2 + exchange.seconds
    assert token not in repr(exchange)
    assert page.envelope == "devices" and page.count is not None and page.count >= 1


def test_an_error_answer_is_an_exchange_too_and_no_answer_is_none(simulator):
    with GearsClient(simulator.base_url) as client:
        with pytest.raises(GearsError):
            client.fetch_token(CLIENT_ID, "wrong-secret-0000")
        assert client.last_exchange.status == 401
    with GearsClient(f"http://127.0.0.1:{free_port()}", connect_timeout=1) as client:
        with pytest.raises(GearsError) as refused:
            client.fetch_token(CLIENT_ID, CLIENT_SECRET)
        assert client.last_exchange is None and refused.value.cause == REFUSED


def test_an_unknown_host_and_an_unreadable_answer_say_so_in_their_cause(client, token, simulator):
    with GearsClient("http://gears.invalid", connect_timeout=2) as unknown, pytest.raises(GearsError) as missing:
        unknown.fetch_token(CLIENT_ID, CLIENT_SECRET)
    assert missing.value.cause == NAME_NOT_FOUND
    control(simulator, "POST", "faults", {"malformed_next": 1})
    with pytest.raises(GearsError) as unreadable:
        client.list_devices(token, page=1, limit=1)
    assert unreadable.value.cause == UNREADABLE


@pytest.mark.parametrize("value, expected", [
    ("Tue, 08 Dec 2026 01:45:00 GMT", datetime(2026, 12, 8, 1, 45, tzinfo=UTC)),
    ("yesterday", None), ("", None), (None, None), ("Tue, 08 Dec 2026 01:45:00", None),  # no zone: cannot compare
])
def test_a_date_header_is_read_only_when_it_is_a_whole_http_date(value, expected):
    assert Exchange.parse_date(value) == expected
