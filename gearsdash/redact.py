"""Keep secrets out of log lines.

The upstream takes its access token in the URL query string, and requests,
urllib3 and Django all log URLs, so every handler passes through this filter.
"""

from __future__ import annotations

import logging
import re

_SECRET_PARAMS = ("access_token", "refresh_token", "client_secret", "code", "password")
_QUERY_SECRET = re.compile(
    r"(?P<key>\b(?:%s)=)[^&\s'\"]+" % "|".join(_SECRET_PARAMS), re.IGNORECASE
)
_BEARER = re.compile(r"(?P<key>\bBearer\s+)[^\s'\"]+", re.IGNORECASE)
REDACTED = "[redacted]"


def redact(text: str) -> str:
    """Replace secret query parameters and bearer tokens in `text`."""
    text = _QUERY_SECRET.sub(lambda m: m["key"] + REDACTED, text)
    return _BEARER.sub(lambda m: m["key"] + REDACTED, text)


class RedactingFilter(logging.Filter):
    """Rewrites each record's final message with secrets removed."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        if record.exc_info and record.exc_info[1] is not None:
            # Tracebacks carry exception texts, which may quote a URL.
            exc = record.exc_info[1]
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
            record.msg = f"{record.msg} ({type(exc).__name__})"
        return True
