"""Constants and helpers shared by the upstream client tests (credentials, simulator control, leak checks,
a local server that answers as told)."""

from __future__ import annotations

import threading
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import requests

CLIENT_ID = "gearsdash-demo"
CLIENT_SECRET = "gearsdash-demo-secret"
STATIC_TOKEN = "static-9f1c2b7e-5d4a-4c3b-8a2e-1f0d9c8b7a6e"


def control(sim, method, name, body=None):
    response = requests.request(method, f"{sim.base_url}/_sim/{name}", json=body, timeout=5)
    assert response.status_code == 200, response.text
    return response.json()


def api_log(sim):
    """What the simulator received on /o/api/ (query values of secrets redacted)."""
    entries = control(sim, "GET", "stats")["request_log"]
    return [entry for entry in entries if entry["path"].startswith("/o/api/")]


def sim_device(sim, hwid):
    return next(device for device in control(sim, "GET", "devices")["devices"] if device["hwid"] == hwid)


def pick(sim, condition):
    return next(device for device in sim.state.devices if condition(device))


def request_lines(caplog):
    """urllib3's DEBUG request lines: the request target exactly as sent."""
    return [r.getMessage() for r in caplog.records if r.name == "urllib3.connectionpool"]


def assert_no_leak(error, caplog, *secrets):
    texts = [str(error), repr(error), "".join(traceback.format_exception(error)), caplog.text]
    texts += [record.getMessage() for record in caplog.records]
    for secret in secrets:
        assert len(secret) > 8
        for text in texts:
            assert secret not in text
    assert error.__cause__ is None and error.__suppress_context__


@contextmanager
def serving(answer: Callable[[BaseHTTPRequestHandler], None]) -> Iterator[str]:
    """A real HTTP server on a free local port that answers every request with `answer(handler)`."""
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            try:
                answer(self)
            except OSError:
                pass  # the client hung up, as it should

        do_GET = do_POST

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
