"""A cap on every request body, checked before anything reads it.

Django reads a body only as far as its Content-Length (a chunked body without
one is read as empty), so refusing a Content-Length over the cap, before the
CSRF check parses the form, means no body past the cap is ever read, spooled
to disk or parsed. The reverse proxy should refuse it sooner still (nginx
`client_max_body_size`); this holds when it does not.

Every view gets GEARSDASH_MAX_BODY_BYTES; a view that takes uploads names a
larger cap with @body_limit.
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from gearsdash.sizes import megabytes

# A multipart upload's parts other than the file: the CSRF token, the boundaries, the headers.
FORM_OVERHEAD = 64 * 1024


def body_limit(limit: Callable[[], int]):
    """Give a view its own body cap: `limit()` is read per request, so it follows the settings."""

    def mark(view):
        view.max_body_bytes = limit
        return view

    return mark


def upload_limit() -> int:
    """The import's cap: its file limit and the rest of its form."""
    return settings.DEVICE_IMPORT_MAX_BYTES + FORM_OVERHEAD


def _content_length(request: HttpRequest) -> int | None:
    raw = request.META.get("CONTENT_LENGTH") or ""
    return int(raw) if raw.isascii() and raw.isdigit() else None


class BodyLimitMiddleware:
    """413 for a body longer than its view's cap; before CsrfViewMiddleware in MIDDLEWARE."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(self, request: HttpRequest, view_func, view_args, view_kwargs) -> HttpResponse | None:
        limit_of = getattr(view_func, "max_body_bytes", None)
        limit = limit_of() if limit_of is not None else settings.GEARSDASH_MAX_BODY_BYTES
        length = _content_length(request)
        if length is None or length <= limit:
            return None
        reason = (f"The request is {megabytes(length)} MB; this page takes at most {megabytes(limit)} MB. "
                  "Nothing was read or changed.")
        return render(request, "413.html", {"reason": reason}, status=413)
