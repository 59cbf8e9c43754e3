"""What the cloud answered: tokens, action (single and bulk) and remediation results, rate-limit headers,
and how the last answer came (`Exchange`)."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import Any, Literal

from devices.upstream.redaction import REDACTED

# The only public token answer has expires_in 43199 (about 12 h, docs/upstream/api-notes.md §3 [C]).
DEFAULT_EXPIRES_IN = 43199
# 429 without a usable X-RateLimit-Reset-Time or Retry-After: the documented
# limit is "10/min", so a full window frees at least one slot.
DEFAULT_RETRY_AFTER = 60.0
# A reset of 0 s would send the caller straight back into the same window.
MIN_RETRY_AFTER = 1.0
# The unit of X-RateLimit-Reset-Time (seconds until reset, or the epoch) is
# not documented (docs/upstream/api-notes.md §6.6). No window of the documented
# "10/min" comes near a day, so a larger value can only be a Unix time, and is
# read as one when it lies within a day of the answer's time; any other large
# value is garbled (never a wait of years).
MAX_RESET_SECONDS = 86_400.0

RemediationState = Literal["link", "no_issues", "not_found"]


@dataclass(frozen=True)
class RateLimitInfo:
    """The X-RateLimit-* headers of one answer (docs/upstream/api-notes.md §4); None when absent or garbled."""

    limit: int | None
    remaining: int | None
    reset_seconds: float | None  # seconds from now until the window frees a slot

    @classmethod
    def from_headers(cls, headers: Any, now: float | None = None) -> RateLimitInfo | None:
        """Parse the headers; None if the answer carries none of them."""
        names = ("X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset-Time")
        if not any(name in headers for name in names):
            return None
        return cls(
            limit=_non_negative_int(headers.get(names[0])),
            remaining=_non_negative_int(headers.get(names[1])),
            reset_seconds=_seconds_until(headers.get(names[2]), now),
        )


@dataclass(frozen=True)
class Exchange:
    """How one answer came: what a connection check reports. Nothing in it is secret (no URL, no header value
    but the date)."""

    status: int
    date: datetime | None  # the answer's Date header (aware); None when absent or garbled
    tls: bool  # sent over https
    tls_verified: bool  # over https with the server's certificate checked against the CA bundle
    seconds: float  # from sending the request to the end of the answer
    received_at: float  # time.time() when the answer had been read: the Date header's counterpart

    @staticmethod
    def parse_date(value: str | None) -> datetime | None:
        """An HTTP date (RFC 9110 §5.6.7), or None if absent, garbled or without a zone."""
        if not value:
            return None
        try:
            when = parsedate_to_datetime(value.strip())
        except (TypeError, ValueError, IndexError):
            return None
        return when if when.tzinfo is not None else None


@dataclass(frozen=True)
class Token:
    """An access token from `/o/oauth/token`. Never shown by repr() or str()."""

    access_token: str = field(repr=False)
    expires_in: int  # seconds, as answered (DEFAULT_EXPIRES_IN if missing)
    # The client credentials grant has none (docs/upstream/api-notes.md §3 [I]); kept if sent.
    refresh_token: str | None = field(default=None, repr=False)

    def __str__(self) -> str:
        refresh = f", refresh_token={REDACTED}" if self.refresh_token else ""
        return f"Token(access_token={REDACTED}, expires_in={self.expires_in}{refresh})"


@dataclass(frozen=True)
class ActionResult:
    """The cloud's answer to a Device Action v2.0 call that it processed."""

    ok: bool  # result == 1; a 200 with result 0 is an action the cloud refused
    msg: str  # the cloud's msg ("OK", "Device has no persistent agent", ...)
    http_status: int
    rate_limit: RateLimitInfo | None


@dataclass(frozen=True)
class BulkActionResult:
    """The cloud's answer to a Devices Action v2.0 (bulk) call: one outcome per device sent, in order."""

    # True: applied (1); False: not (0), which the cloud gives for a device it
    # has no record of under that MAC/HWID, or a malformed MAC [D].
    applied: tuple[bool, ...]
    http_status: int
    rate_limit: RateLimitInfo | None


@dataclass(frozen=True)
class RemediationResult:
    """The cloud's answer to Get Remediation Link v2.2."""

    state: RemediationState
    # Only for "link", returned exactly as given: whether it is safe to render
    # (scheme, host) is the caller's decision.
    link: str | None
    msg: str
    http_status: int
    rate_limit: RateLimitInfo | None


def retry_after_seconds(rate_limit: RateLimitInfo | None, headers: Any) -> float:
    """Seconds to wait after a 429: X-RateLimit-Reset-Time, else Retry-After, else 60."""
    seconds = rate_limit.reset_seconds if rate_limit else None
    if seconds is None:
        seconds = _retry_after_header(headers.get("Retry-After"))
    if seconds is None:
        seconds = DEFAULT_RETRY_AFTER
    return max(seconds, MIN_RETRY_AFTER)


def _retry_after_header(value: str | None) -> float | None:
    """Retry-After is seconds or an HTTP date (RFC 9110 §10.2.3)."""
    if value is None:
        return None
    seconds = _seconds_until(value)
    if seconds is not None:
        return seconds
    try:
        when = parsedate_to_datetime(value.strip())
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        return None
    return max(when.timestamp() - time.time(), 0.0)


def _seconds_until(value: str | None, now: float | None = None) -> float | None:
    """A delay in seconds from a header, or None if garbled.

    Values over a day are Unix times if within a day of `now`, else garbled (the unit of
    X-RateLimit-Reset-Time is undocumented, docs/upstream/api-notes.md §6.6).
    """
    if value is None:
        return None
    try:
        number = float(value.strip())
    except ValueError:
        return None
    if not math.isfinite(number) or number < 0:
        return None
    if number > MAX_RESET_SECONDS:
        now = time.time() if now is None else now
        if abs(number - now) > MAX_RESET_SECONDS:
            return None
        number = max(number - now, 0.0)
    return number


def _non_negative_int(value: str | None) -> int | None:
    if value is None:
        return None
    try:
        number = int(value.strip())
    except ValueError:
        return None
    return number if number >= 0 else None


def expires_in_seconds(value: Any) -> int:
    """Token lifetime in seconds; the default when missing or not a positive number."""
    if isinstance(value, bool):
        return DEFAULT_EXPIRES_IN
    if isinstance(value, str):
        try:
            value = float(value.strip())
        except ValueError:
            return DEFAULT_EXPIRES_IN
    if isinstance(value, (int, float)) and math.isfinite(value) and value > 0:
        return int(value)
    return DEFAULT_EXPIRES_IN
