"""A hostile upstream cannot hold a call past its deadline, nor make the client read a huge answer.

The servers here are real HTTP servers on a local port (the standard library's
http.server in a thread), each misbehaving one way.
"""

from __future__ import annotations

import json
import time
from http.server import BaseHTTPRequestHandler

import pytest

from devices.tests.upstream.support import STATIC_TOKEN, assert_no_leak, serving
from devices.upstream import OPT_HWID, GearsClient, GearsError

TIMEOUT, CONNECT_TIMEOUT = 0.3, 0.2
DEADLINE = TIMEOUT + CONNECT_TIMEOUT
# Each byte comes well within the per-read timeout, so only a deadline over the whole call can end it.
DRIP = 0.05
OK_BODY = json.dumps({"result": 1, "msg": "OK"}).encode()


def drip(handler: BaseHTTPRequestHandler, data: bytes) -> None:
    for byte in data:
        handler.wfile.write(bytes([byte]))
        handler.wfile.flush()
        time.sleep(DRIP)


def drip_body(handler: BaseHTTPRequestHandler) -> None:
    body = b" " * 120 + OK_BODY  # about 6 s at one byte per DRIP
    handler.send_response(200)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    handler.wfile.flush()
    drip(handler, body)


def drip_headers(handler: BaseHTTPRequestHandler) -> None:
    head = b"HTTP/1.1 200 OK\r\n" + b"".join(b"X-Pad-%d: x\r\n" % i for i in range(8))
    drip(handler, head + b"Content-Length: %d\r\n\r\n" % len(OK_BODY) + OK_BODY)


def timed_call(base_url: str, **client_options) -> tuple[float, GearsError]:
    started = time.monotonic()
    with GearsClient(base_url, timeout=TIMEOUT, connect_timeout=CONNECT_TIMEOUT, **client_options) as gears:
        with pytest.raises(GearsError) as caught:
            gears.device_action(STATIC_TOKEN, "HWID0001", OPT_HWID, "dhcprenew")
    return time.monotonic() - started, caught.value


@pytest.mark.parametrize("answer", [drip_body, drip_headers], ids=["body", "headers"])
def test_an_answer_that_drips_ends_at_the_deadline_as_transient_and_ambiguous(answer, logs):
    with serving(answer) as base_url:
        elapsed, error = timed_call(base_url)
    # The deadline is connect + read timeout; allow the same again for thread start-up and a loaded machine.
    assert elapsed < 2 * DEADLINE
    assert str(error) == f"no complete answer from the cloud within {DEADLINE:g} s"
    assert (error.permanent, error.ambiguous) == (False, True)
    assert_no_leak(error, logs, STATIC_TOKEN)


def huge_declared(handler: BaseHTTPRequestHandler) -> None:
    handler.send_response(200)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(50_000_000))
    handler.end_headers()
    handler.wfile.write(b'{"result": 1, "msg": "')
    handler.wfile.write(b"x" * 2_000_000)


def huge_chunked(handler: BaseHTTPRequestHandler) -> None:
    handler.send_response(200)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Transfer-Encoding", "chunked")
    handler.end_headers()
    piece = b"x" * 65_536
    for _ in range(40):  # 2.6 MB, no length announced
        handler.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
    handler.wfile.write(b"0\r\n\r\n")


@pytest.mark.parametrize("answer", [huge_declared, huge_chunked], ids=["declared", "chunked"])
def test_an_answer_over_the_size_cap_is_not_read_and_is_a_transient_ambiguous_error(answer, logs):
    with serving(answer) as base_url:
        _, error = timed_call(base_url)
    assert str(error) == "answer from the cloud (HTTP 200) longer than 1,000,000 bytes; not read"
    assert (error.status, error.permanent, error.ambiguous) == (200, False, True)
    assert_no_leak(error, logs, STATIC_TOKEN)


def test_an_answer_within_the_cap_and_the_deadline_is_read(logs):
    def prompt(handler: BaseHTTPRequestHandler) -> None:
        body = b" " * 500_000 + OK_BODY
        handler.send_response(200)
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)

    with serving(prompt) as base_url, GearsClient(base_url, timeout=5, connect_timeout=2) as gears:
        result = gears.device_action(STATIC_TOKEN, "HWID0001", OPT_HWID, "dhcprenew")
    assert (result.ok, result.msg) == (True, "OK")


def test_a_client_reused_after_a_deadline_still_answers(logs):
    calls = []

    def first_drips_then_prompt(handler: BaseHTTPRequestHandler) -> None:
        calls.append(1)
        if len(calls) == 1:
            drip_body(handler)
            return
        handler.send_response(200)
        handler.send_header("Content-Length", str(len(OK_BODY)))
        handler.end_headers()
        handler.wfile.write(OK_BODY)

    with serving(first_drips_then_prompt) as base_url:
        with GearsClient(base_url, timeout=TIMEOUT, connect_timeout=CONNECT_TIMEOUT) as gears:
            with pytest.raises(GearsError):
                gears.device_action(STATIC_TOKEN, "HWID0001", OPT_HWID, "dhcprenew")
            assert gears.device_action(STATIC_TOKEN, "HWID0001", OPT_HWID, "dhcprenew").ok
