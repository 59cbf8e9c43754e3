"""One HTTP exchange bounded in time and size: a deadline over the whole call, a cap on the answer.

requests' `timeout` bounds each socket operation, not the call: an answer
that drips one byte every few seconds never trips it. A `Deadline` is a
watchdog: when it fires it shuts down the sockets the call uses, so whatever
read is blocked returns at once, wherever it is (status line, headers, body).
The sockets are found by the connection classes that `DeadlineAdapter`
mounts; a session without that adapter still gets the between-chunk checks.

`read_body` reads the answer in chunks and refuses more than `limit` bytes
(after decompression), so a hostile answer costs neither memory nor time.
`connect_failure_reason` tells a request that never left from one that may
have arrived, from requests' exception alone; `untrusted_certificate` finds
a certificate that did not verify among the causes of a TLS failure;
`transport_error` makes a requests exception the GearsError that says so.
"""

from __future__ import annotations

import socket
import ssl
import threading
import time
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import ClosedPoolError, MaxRetryError, NameResolutionError, NewConnectionError, ReadTimeoutError

from devices.upstream.errors import CONNECT_TIMEOUT, NAME_NOT_FOUND, REFUSED, TLS, TLS_UNTRUSTED, UNREADABLE, GearsError

# No answer of the cloud's documented endpoints comes near this: they are a few hundred bytes.
MAX_BODY = 1_000_000
CHUNK = 16_384

# The deadline of the call in progress on this thread (one GearsClient per thread).
_current = threading.local()


class DeadlineExceeded(Exception):
    """The whole call outlived its deadline."""


class BodyTooLarge(Exception):
    """The answer's body is longer than the cap."""


def _cut(sock: socket.socket) -> None:
    # socket.socket's own shutdown, not SSLSocket's, which would also drop its TLS state under a reader.
    try:
        socket.socket.shutdown(sock, socket.SHUT_RDWR)
    except OSError:
        pass  # already closed


class Deadline:
    """A watchdog over one call: `with Deadline(seconds) as deadline:` ... `deadline.fired`."""

    def __init__(self, seconds: float, monotonic=time.monotonic) -> None:
        self.seconds = seconds
        self.monotonic = monotonic
        self.ends = monotonic() + seconds
        self.fired = False
        self._lock = threading.Lock()
        self._sockets: list[socket.socket] = []
        self._timer = threading.Timer(seconds, self._fire)
        self._timer.daemon = True

    def __enter__(self) -> Deadline:
        _current.deadline = self
        self._timer.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._timer.cancel()
        _current.deadline = None
        with self._lock:
            self._sockets.clear()

    def watch(self, sock: socket.socket | None) -> None:
        """Cut `sock` when the deadline fires (at once if it has)."""
        if sock is None:
            return
        with self._lock:
            if self.fired:
                _cut(sock)
            else:
                self._sockets.append(sock)

    def check(self) -> None:
        """Raise DeadlineExceeded if the deadline has passed (a session without the adapter relies on this)."""
        if self.fired or self.monotonic() >= self.ends:
            self.fired = True
            raise DeadlineExceeded

    def _fire(self) -> None:
        with self._lock:
            self.fired = True
            for sock in self._sockets:
                _cut(sock)


def _watch_current(sock: socket.socket | None) -> None:
    deadline = getattr(_current, "deadline", None)
    if deadline is not None:
        deadline.watch(sock)


class _WatchedHTTPConnection(HTTPConnection):
    def getresponse(self, *args: Any, **kwargs: Any):  # the request is sent: its answer is what may drip
        _watch_current(self.sock)
        return super().getresponse(*args, **kwargs)


class _WatchedHTTPSConnection(HTTPSConnection):
    def getresponse(self, *args: Any, **kwargs: Any):
        _watch_current(self.sock)
        return super().getresponse(*args, **kwargs)


class _WatchedHTTPConnectionPool(HTTPConnectionPool):
    ConnectionCls = _WatchedHTTPConnection


class _WatchedHTTPSConnectionPool(HTTPSConnectionPool):
    ConnectionCls = _WatchedHTTPSConnection


class DeadlineAdapter(HTTPAdapter):
    """An HTTPAdapter whose connections let the current `Deadline` cut them."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {
            "http": _WatchedHTTPConnectionPool,
            "https": _WatchedHTTPSConnectionPool,
        }


def read_body(response: requests.Response, deadline: Deadline, limit: int = MAX_BODY) -> bytes:
    """The (decoded) body of a streamed response, at most `limit` bytes, read before the deadline."""
    declared = response.headers.get("Content-Length", "").strip()
    if declared.isdigit() and int(declared) > limit:
        raise BodyTooLarge
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_content(CHUNK):
        deadline.check()
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge
        chunks.append(chunk)
    return b"".join(chunks)


def connect_failure_reason(exc: requests.exceptions.ConnectionError) -> str | None:
    """For a failure before the request was sent: a short reason ("" if unknown).

    None when the request may have been sent (the connection broke later).
    urllib3 wraps connect failures in MaxRetryError(reason=NewConnectionError)
    when retries are off; a reset after sending arrives as a bare ProtocolError.
    """
    if isinstance(exc, requests.exceptions.ProxyError):
        return "proxy error"
    wrapped = exc.args[0] if exc.args else None
    reason = wrapped.reason if isinstance(wrapped, MaxRetryError) else wrapped
    if isinstance(reason, NameResolutionError):
        return "host name not found"
    if isinstance(reason, NewConnectionError):
        cause = reason.__cause__ or reason.__context__
        # OSError.strerror is the bare system text ("Connection refused").
        return cause.strerror.lower() if isinstance(cause, OSError) and cause.strerror else ""
    if isinstance(reason, ClosedPoolError):
        return "client closed"
    return None


def wraps_exception(exc: requests.RequestException, kind: type[Exception]) -> bool:
    """True if requests wrapped a urllib3 exception of `kind` (iter_content wraps a body's read timeout)."""
    return bool(exc.args) and isinstance(exc.args[0], kind)


def untrusted_certificate(exc: BaseException) -> str | None:
    """OpenSSL's reason ("self-signed certificate", ...) if `exc` comes from a certificate that did not verify.

    requests wraps urllib3's MaxRetryError, which wraps its SSLError, which
    wraps ssl's SSLCertVerificationError: walk the arguments and causes. The
    reason is OpenSSL's own short text, which holds no URL.
    """
    seen: set[int] = set()
    stack: list[object] = [exc]
    while stack:
        item = stack.pop()
        if not isinstance(item, BaseException) or id(item) in seen:
            continue
        seen.add(id(item))
        if isinstance(item, ssl.SSLCertVerificationError):
            return str(item.verify_message or "certificate verify failed")
        stack.extend([*item.args, getattr(item, "reason", None), item.__cause__, item.__context__])
    return None


def transport_error(exc: requests.RequestException, where: str, connect_timeout: float, timeout: float) -> GearsError:
    """Map a requests exception to a GearsError without using its text (which holds the URL and its query).

    `where` is the cloud's origin, the timeouts the call's: for the message.
    """
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return GearsError(
            f"timed out after {connect_timeout:g} s connecting to the cloud at {where}",
            permanent=False,
            cause=CONNECT_TIMEOUT,
        )
    if isinstance(exc, requests.exceptions.ReadTimeout) or wraps_exception(exc, ReadTimeoutError):
        return GearsError(
            f"timed out after {timeout:g} s waiting for the cloud", permanent=False, ambiguous=True
        )
    if isinstance(
        exc,
        (
            requests.exceptions.InvalidURL,
            requests.exceptions.InvalidSchema,
            requests.exceptions.MissingSchema,
            requests.exceptions.URLRequired,
        ),
    ):
        return GearsError(f"invalid URL for the cloud at {where}", permanent=True)
    if isinstance(exc, requests.exceptions.SSLError):
        # The handshake failed, so nothing was sent.
        reason = untrusted_certificate(exc)
        if reason is not None:
            return GearsError(f"the certificate of the cloud at {where} could not be verified ({reason})",
                              permanent=False, cause=TLS_UNTRUSTED)
        return GearsError(f"TLS handshake with the cloud at {where} failed", permanent=False, cause=TLS)
    if isinstance(exc, requests.exceptions.ConnectionError):
        reason = connect_failure_reason(exc)
        if reason is not None:  # refused, DNS: the request never left
            suffix = f" ({reason})" if reason else ""
            cause = {"host name not found": NAME_NOT_FOUND, "connection refused": REFUSED}.get(reason, "")
            return GearsError(f"cannot connect to the cloud at {where}{suffix}", permanent=False, cause=cause)
        # Reset or closed after the request was sent: it may have arrived.
        return GearsError(
            f"connection to the cloud at {where} broke before the answer arrived",
            permanent=False,
            ambiguous=True,
        )
    return GearsError(
        f"unreadable answer from the cloud at {where} ({type(exc).__name__})",
        permanent=False,
        ambiguous=True,
        cause=UNREADABLE,
    )
