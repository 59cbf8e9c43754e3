"""One HTTP answer reduced to what the client's mapping needs, and the texts made from it.

Nothing here holds a URL or a token: the cloud's own words are scrubbed of
the call's secrets as they are read.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import requests

from devices.upstream.errors import UNREADABLE, GearsError
from devices.upstream.redaction import clean_text
from devices.upstream.results import RateLimitInfo


@dataclass(frozen=True)
class Answer:
    """One HTTP answer, reduced to what the mapping needs (no URL, no token)."""

    status: int
    body: dict[str, Any] | None  # None: not JSON or not a JSON object
    not_object: str  # why body is None ("not JSON", "not a JSON object")
    upstream_msg: str  # scrubbed, truncated
    rate_limit: RateLimitInfo | None
    headers: Any
    data: Any = None  # the parsed JSON whatever its type (a bare array, say); None: not JSON


def read_answer(response: requests.Response, content: bytes, secrets: tuple[str, ...]) -> Answer:
    body: dict[str, Any] | None = None
    parsed: Any = None
    not_object = ""
    try:
        parsed = json.loads(content)
    except (ValueError, RecursionError):  # JSONDecodeError, UnicodeDecodeError, absurd nesting
        not_object = "not JSON"
    else:
        if isinstance(parsed, dict):
            body = parsed
        else:
            not_object = "not a JSON object"
    return Answer(
        status=response.status_code,
        body=body,
        not_object=not_object,
        upstream_msg=clean_text(upstream_message(body), secrets),
        rate_limit=RateLimitInfo.from_headers(response.headers),
        headers=response.headers,
        data=parsed,
    )


def upstream_message(body: dict[str, Any] | None) -> str:
    """The cloud's explanation: v2 `msg`, else OAuth-style `error: error_description`."""
    if body is None:
        return ""
    msg = str_field(body, "msg")
    if msg:
        return msg
    error, description = str_field(body, "error"), str_field(body, "error_description")
    return ": ".join(part for part in (error, description) if part)


def str_field(body: dict[str, Any] | None, key: str) -> str:
    value = body.get(key) if body else None
    return value if isinstance(value, str) else ""


def http_message(status: int, upstream_msg: str) -> str:
    return f"HTTP {status} from the cloud" + (f": {upstream_msg}" if upstream_msg else "")


def unexpected(answer: Answer, why: str) -> GearsError:
    # The call reached the cloud and we cannot tell what it did; but it answered, so it is reachable.
    return GearsError(
        f"unexpected answer from the cloud (HTTP {answer.status}): {why}",
        permanent=False,
        ambiguous=True,
        unreadable=True,
        status=answer.status,
        upstream_msg=answer.upstream_msg,
        rate_limit=answer.rate_limit,
        cause=UNREADABLE,
    )


def is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def same_text(text: str, expected: str) -> bool:
    return text.strip().casefold() == expected.casefold()
