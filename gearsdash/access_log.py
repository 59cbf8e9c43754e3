"""One log line per request, written by the site (not by gunicorn, whose access log stays off).

Polls and /healthz are logged at DEBUG: a page polls every few seconds and a
load balancer probes as often, so at INFO they would bury every click. A 5xx
gets no access line: django.request reports it, traceback included.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

logger = logging.getLogger("gearsdash.access")

# The ids of the elements that poll with hx-trigger="every …" (their htmx requests name them in HX-Trigger):
# overview activity, upstream status, bulk and sync progress, remediation panel, an action's history row.
POLLING_ELEMENTS = re.compile(r"overview-activity|upstream-status|bulk-progress|sync-progress|remediation|device-history")
# Paths polled without htmx (the notices feed, fetched by static/js/app.js), and the load balancer's probe.
QUIET_PATHS = ("/devices/notices/", "/healthz")
# A password reset link carries its token in the path.
RESET_TOKEN = re.compile(r"^(/accounts/reset/)[^/]+/[^/]+/")


def is_poll(request: HttpRequest) -> bool:
    """A request the page makes by itself, on a timer, or the load balancer's probe."""
    if request.path in QUIET_PATHS:
        return True
    trigger = request.headers.get("HX-Trigger", "")
    return request.method == "GET" and bool(trigger) and POLLING_ELEMENTS.fullmatch(trigger) is not None


def loggable_path(path: str) -> str:
    """The path as logged: a reset token replaced (the query string is never logged)."""
    return RESET_TOKEN.sub(r"\1[redacted]/", path)


class AccessLogMiddleware:
    """Logs method, path, status, duration and user id once per request; first in MIDDLEWARE to time all of it."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.monotonic()
        response = self.get_response(request)
        status = response.status_code
        if status >= 500:
            return response
        level = logging.DEBUG if is_poll(request) else logging.WARNING if status >= 400 else logging.INFO
        if logger.isEnabledFor(level):
            elapsed_ms = round((time.monotonic() - started) * 1000, 1)
            path = loggable_path(request.path)
            user = getattr(request, "user", None)
            user_id = user.pk if user is not None and user.is_authenticated else None
            logger.log(level, "%s %s %s %.0f ms", request.method, path, status, elapsed_ms,
                       extra={"method": request.method, "path": path, "status": status,
                              "duration_ms": elapsed_ms, "user_id": user_id})
        return response
