"""Answering htmx: a fragment for a partial swap, the whole page otherwise."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django_htmx.middleware import HtmxDetails


class HtmxHttpRequest(HttpRequest):
    """A request as django-htmx's middleware leaves it: for type checkers only, never instantiated.

    Views annotate `request` with it so that `request.htmx` (its target,
    trigger, boosted, …) is known to be there and typed.
    """

    htmx: HtmxDetails


def wants_fragment(request: HtmxHttpRequest) -> bool:
    """True for htmx requests that swap part of a page: not boosted, not a history restore."""
    htmx = getattr(request, "htmx", None)
    return bool(htmx) and not htmx.boosted and not htmx.history_restore_request


def render_page_or_fragment(request: HtmxHttpRequest, page: str, fragment: str, context: dict) -> HttpResponse:
    """The fragment for an htmx swap, the whole page otherwise (mark the view Vary: HX-Request)."""
    return render(request, fragment if wants_fragment(request) else page, context)
