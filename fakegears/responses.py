"""Tiny request/response helpers shared by the route modules (no framework)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qsl

MAX_BODY_BYTES = 1024 * 1024
_INTEGER = re.compile(r"[+-]?[0-9]+")


@dataclass
class Request:
    """The parts of a WSGI environ the simulator uses."""

    environ: dict[str, Any]
    method: str
    path: str
    # First value of each query parameter (repeated keys are not meaningful
    # for any Gears endpoint).
    query: dict[str, str]
    arrival: float  # monotonic time the request entered the app
    _body: bytes | None = None

    @classmethod
    def from_environ(cls, environ: dict[str, Any], arrival: float) -> Request:
        query: dict[str, str] = {}
        for key, value in parse_qsl(environ.get("QUERY_STRING", ""), keep_blank_values=True):
            query.setdefault(key, value)
        return cls(
            environ=environ,
            method=environ.get("REQUEST_METHOD", "GET").upper(),
            path=environ.get("PATH_INFO", "") or "/",
            query=query,
            arrival=arrival,
        )

    def header(self, name: str) -> str | None:
        return self.environ.get("HTTP_" + name.upper().replace("-", "_"))

    def body(self) -> bytes:
        """The request body, at most MAX_BODY_BYTES (read once, then cached)."""
        if self._body is None:
            try:
                length = int(self.environ.get("CONTENT_LENGTH") or 0)
            except ValueError:
                length = 0
            stream = self.environ.get("wsgi.input")
            self._body = stream.read(min(length, MAX_BODY_BYTES)) if stream and length > 0 else b""
        return self._body

    def form(self) -> dict[str, str]:
        """Query parameters overlaid with an urlencoded POST body."""
        merged = dict(self.query)
        content_type = (self.environ.get("CONTENT_TYPE") or "").split(";")[0].strip().lower()
        if self.method == "POST" and content_type == "application/x-www-form-urlencoded":
            body = self.body().decode("utf-8", errors="replace")
            for key, value in parse_qsl(body, keep_blank_values=True):
                merged[key] = value
        return merged


@dataclass
class Response:
    status: int
    body: bytes = b""
    content_type: str = "application/json"
    headers: list[tuple[str, str]] = field(default_factory=list)

    def status_line(self) -> str:
        try:
            phrase = HTTPStatus(self.status).phrase
        except ValueError:
            phrase = "Unknown"
        return f"{self.status} {phrase}"

    def all_headers(self) -> list[tuple[str, str]]:
        headers = [("Content-Type", self.content_type), ("Content-Length", str(len(self.body)))]
        return headers + self.headers


def json_response(status: int, payload: Any, headers: list[tuple[str, str]] | None = None) -> Response:
    return Response(status, json.dumps(payload).encode("utf-8"), "application/json", list(headers or []))


def result_msg(status: int, msg: str, result: int = 0) -> Response:
    """The v2 API's `{"result": 0|1, "msg": "..."}` body (docs/upstream/api-notes.md §2.1 [D])."""
    return json_response(status, {"result": result, "msg": msg})


def html_response(status: int, html: str) -> Response:
    return Response(
        status,
        html.encode("utf-8"),
        "text/html; charset=utf-8",
        # The page is static text: forbid scripts and every other fetch.
        [("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'")],
    )


def parse_opt(raw: str | None) -> tuple[int | None, str | None]:
    """Parse the `opt` query parameter: (value, None) or (None, error message).

    Absent means 0 (the documented default). Only the integers 0 and 1 are
    meaningful (docs/upstream/api-notes.md §2.1/§2.2); anything else is a 400 [I].
    """
    if raw is None:
        return 0, None
    text = raw.strip()
    if not _INTEGER.fullmatch(text):
        return None, "opt must be an integer: 0 (MAC address) or 1 (HWID)"
    value = int(text)
    if value not in (0, 1):
        return None, "opt must be 0 (MAC address) or 1 (HWID)"
    return value, None


def parse_int(raw: str | None) -> int | None:
    """A base-10 integer from a query parameter, or None if it is not one."""
    if raw is None or not _INTEGER.fullmatch(raw.strip()):
        return None
    return int(raw.strip())
