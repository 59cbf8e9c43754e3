"""The LOGGING setting: plain lines in development, one JSON object a line in production.

Every handler passes through RedactingFilter, whichever the format, so no
secret reaches a line; the JSON formatter redacts every string field too,
since `extra` fields (a request's repr, for one) bypass the message.
"""

from __future__ import annotations

import logging
from typing import Any

from pythonjsonlogger.core import RESERVED_ATTRS
from pythonjsonlogger.json import JsonFormatter

from devices.upstream.redaction import redact

FORMATS = ("plain", "json")
# Objects that Django attaches to its records: their text is a URL with its query, or a socket.
UNSAFE_EXTRAS = ("request", "server_time")
JSON_FIELDS = "{asctime}{levelname}{name}{message}"
# The access line's own fields, kept in JSON (`extra=` of gearsdash.access_log).
ACCESS_LOGGER = "gearsdash.access"


class RedactingJsonFormatter(JsonFormatter):
    """python-json-logger's formatter with every string value redacted and Django's raw objects dropped."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("reserved_attrs", [*RESERVED_ATTRS, *UNSAFE_EXTRAS])
        kwargs.setdefault("rename_fields", {"asctime": "time", "levelname": "level", "name": "logger"})
        kwargs.setdefault("style", "{")
        super().__init__(JSON_FIELDS, *args, **kwargs)

    def process_log_record(self, log_data: dict[str, Any]) -> dict[str, Any]:
        return {key: redact(value) if isinstance(value, str) else value for key, value in log_data.items()}


class QuietRequestFilter(logging.Filter):
    """django.request's records: the access line already reports a 4xx, and /healthz reports itself.

    Keeps the 5xx reports (with their tracebacks), which the access line leaves out.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "status_code", 500) < 500:
            return False
        request = getattr(record, "request", None)
        return getattr(request, "path", "") != "/healthz"


def formatter(fmt: str) -> dict[str, Any]:
    if fmt == "json":
        return {"()": "gearsdash.logconfig.RedactingJsonFormatter"}
    return {"format": "{asctime} {levelname} {name}: {message}", "style": "{"}


def gunicorn_logging(*, fmt: str, level: str) -> dict[str, Any]:
    """gunicorn's logconfig_dict: its error log in `fmt`, redacted; its access log off (the site writes one)."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"redact": {"()": "devices.upstream.redaction.RedactingFilter"}},
        "formatters": {"main": formatter(fmt)},
        "handlers": {"console": {"class": "logging.StreamHandler", "filters": ["redact"], "formatter": "main"}},
        "loggers": {
            "gunicorn.error": {"handlers": ["console"], "level": level, "propagate": False},
            "gunicorn.access": {"handlers": [], "propagate": False},
        },
    }


def logging_config(*, fmt: str, level: str, access_level: str, queue_level: str) -> dict[str, Any]:
    """The LOGGING dict: `fmt` plain or json, the root's `level`, the access line's and django-q2's thresholds."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {
            "redact": {"()": "devices.upstream.redaction.RedactingFilter"},
            "quiet_requests": {"()": "gearsdash.logconfig.QuietRequestFilter"},
        },
        "formatters": {"main": formatter(fmt)},
        "handlers": {
            "console": {"class": "logging.StreamHandler", "filters": ["redact"], "formatter": "main"}
        },
        "root": {"handlers": ["console"], "level": level},
        "loggers": {
            # urllib3 logs each request line, query string included, at DEBUG.
            "urllib3": {"level": "WARNING"},
            # The one line per request (gearsdash.access_log): polls and /healthz at DEBUG, the rest INFO or
            # above. `make run` sets WARNING so that only failed requests are shown.
            ACCESS_LOGGER: {"level": access_level},
            "django.request": {"filters": ["quiet_requests"]},
            # django-q2 logs each enqueue and each task run at INFO: with a drain every minute and one per
            # click, that is a line per loop. WARNING keeps its failures.
            "django-q": {"level": queue_level},
            # runserver's own request line would be a second one: the access line replaces it.
            "django.server": {"handlers": [], "level": "ERROR", "propagate": False},
        },
    }
