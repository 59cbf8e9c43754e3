"""Run the simulator in-process on a threaded wsgiref server.

    from fakegears.server import SimulatorConfig, start_simulator

    with start_simulator(SimulatorConfig(limit=10, window=1)) as sim:
        requests.get(sim.base_url + "/_sim/stats")

`start_simulator` returns once the socket is listening (port 0 picks a free
port; `sim.base_url` has the real one). Each connection is served on its own
daemon thread, so concurrent requests really are concurrent and a hung
request never blocks shutdown. With `tls_cert` and `tls_key` it serves
https; the handshake happens on the connection's thread, so a client that
never completes one blocks nobody.
"""

from __future__ import annotations

import socket
import ssl
import sys
import threading
from socketserver import ThreadingMixIn
from types import TracebackType
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer

from fakegears.app import GearsApp
from fakegears.clock import Clock
from fakegears.config import SimulatorConfig
from fakegears.state import SimulatorState

__all__ = ["RunningSimulator", "SimulatorConfig", "SimulatorState", "start_simulator"]


class QuietRequestHandler(WSGIRequestHandler):
    """wsgiref's handler without its per-request stderr line.

    The default line contains the full request line, i.e. the URL with
    `?access_token=...`; the app writes a redacted line instead when
    `log_requests` is on.
    """

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - base signature
        return


class ThreadingWSGIServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True  # hung requests must not keep the process alive
    allow_reuse_address = True  # re-bind the same port after refuse_connections()
    # The default backlog of 5 makes a burst of 50 simultaneous connects wait
    # for SYN retransmits (about 1 s); 128 lets the whole burst in at once.
    request_queue_size = 128

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Clients that time out (hang faults) close sockets mid-response;
        # that is expected here, anything else is still reported.
        exc = sys.exc_info()[1]
        # A TLS client that refuses our certificate ends the handshake: expected too.
        if isinstance(exc, (ConnectionError, TimeoutError, ssl.SSLError)):
            return
        super().handle_error(request, client_address)


class ThreadingWSGIServerV6(ThreadingWSGIServer):
    address_family = socket.AF_INET6


class RunningSimulator:
    """A simulator serving on a background thread. Use as a context manager."""

    def __init__(self, config: SimulatorConfig, clock: Clock | None = None) -> None:
        self.config = config
        self.state = SimulatorState(config, clock)
        self.app = GearsApp(self.state)
        self._lock = threading.Lock()
        self._server: ThreadingWSGIServer | None = None
        self._thread: threading.Thread | None = None
        self._stopped = False
        self._listen(config.port)
        assert self._server is not None
        self.port: int = self._server.server_address[1]
        self.host = config.host
        scheme = "https" if config.tls_cert else "http"
        self.base_url = f"{scheme}://{_url_host(config.host)}:{self.port}"
        self.state.bound_base_url = self.base_url

    @property
    def public_url(self) -> str:
        """The base the remediation links use."""
        return self.state.public_base_url(self.base_url)

    def refuse_connections(self) -> None:
        """Close the listening socket: new connections get "connection refused".

        Requests already being served finish normally.
        """
        with self._lock:
            self._close_listener()

    def accept_connections(self) -> None:
        """Listen again on the same host and port after refuse_connections()."""
        with self._lock:
            if self._stopped:
                raise RuntimeError("the simulator has been stopped")
            if self._server is None:
                self._listen(self.port)

    def stop(self) -> None:
        """Stop serving and release every sleeping or hung request at once."""
        with self._lock:
            self._stopped = True
            self.state.stopping.set()
            self._close_listener()

    def __enter__(self) -> RunningSimulator:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _listen(self, port: int) -> None:
        server_class = ThreadingWSGIServerV6 if ":" in self.config.host else ThreadingWSGIServer
        server = server_class((self.config.host, port), QuietRequestHandler)
        if self.config.tls_cert:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(self.config.tls_cert, self.config.tls_key)
            server.socket = context.wrap_socket(server.socket, server_side=True, do_handshake_on_connect=False)
        server.set_app(self.app)
        thread = threading.Thread(
            target=server.serve_forever,
            # stop() waits up to one poll for serve_forever to notice; tests stop hundreds of servers.
            kwargs={"poll_interval": 0.01},
            name=f"fakegears-{server.server_address[1]}",
            daemon=True,
        )
        thread.start()
        self._server, self._thread = server, thread

    def _close_listener(self) -> None:
        server, thread = self._server, self._thread
        self._server = self._thread = None
        if server is not None:
            server.shutdown()  # waits for serve_forever() to return
            server.server_close()
        if thread is not None:
            thread.join(timeout=5)


def start_simulator(config: SimulatorConfig | None = None, clock: Clock | None = None) -> RunningSimulator:
    """Start a simulator on a daemon thread; returns once it is listening.

    `clock` (default: real time) lets tests step the rate window, token expiry
    and injected latency instead of sleeping.
    """
    return RunningSimulator(config or SimulatorConfig(), clock)


def _url_host(host: str) -> str:
    """Host as it should appear in a URL clients on this machine can use."""
    if host in ("", "0.0.0.0"):
        return "127.0.0.1"
    if host == "::":
        return "[::1]"
    if ":" in host:
        return f"[{host}]"
    return host
