"""Keeping secrets out of text: log lines, and text from the cloud made safe to show, log or store.

The access token travels in the URL query string (docs/upstream/api-notes.md §3),
and requests, urllib3 and Django all log URLs: every log handler passes
through `RedactingFilter`, and urllib3's loggers get it when this module is
imported. Pure Python, so the client below Django can use it.
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


MSG_LIMIT = 200  # characters of the cloud's msg kept in errors and results
# Secrets shorter than this are not searched for in the cloud's messages:
# replacing a 1-character test token would mangle every message, and real
# tokens are UUIDs (36 characters, docs/upstream/api-notes.md §3).
MIN_SCRUB_LENGTH = 8


def clean_text(text: str, secrets: tuple[str, ...] = ()) -> str:
    """Make the cloud's text safe for a message, a log line or a result row.

    Spring-style servers echo the token in 401 descriptions ("Invalid access
    token: <token>"), so the secrets of this call are removed, then anything
    that looks like a secret query value or bearer token, then control
    characters; the result is at most MSG_LIMIT characters.
    """
    for secret in secrets:
        if secret and len(secret) >= MIN_SCRUB_LENGTH:
            text = text.replace(secret, REDACTED)
    text = redact(text)
    text = " ".join("".join(ch if ch.isprintable() else " " for ch in text).split())
    if len(text) > MSG_LIMIT:
        text = text[: MSG_LIMIT - 1] + "…"
    return text


def guard_urllib3_logs() -> None:
    """Give urllib3's loggers the project's redacting filter.

    urllib3 logs every request line at DEBUG, query string (and so the access
    token) included, and the URL again in retry and header warnings. A logger
    filter runs before any handler, whatever handlers the process has
    configured (settings only raise urllib3's level, which a DEBUG session
    may lower).
    """
    names = {
        "urllib3",
        "urllib3.connection",
        "urllib3.connectionpool",
        "urllib3.poolmanager",
        "urllib3.response",
        "urllib3.util.retry",
    }
    names.update(name for name in logging.root.manager.loggerDict if name.startswith("urllib3."))
    for name in sorted(names):
        urllib3_logger = logging.getLogger(name)
        if not any(isinstance(existing, RedactingFilter) for existing in urllib3_logger.filters):
            urllib3_logger.addFilter(RedactingFilter())


guard_urllib3_logs()
