"""`{% main_nav %}`: the top navigation, rendered from one list.

Each entry names the pages that mark it current (`aria-current="page"`) and
who sees it, so adding a page to the menu is one line here instead of a
hand-written link with its own current-page test in base.html.
"""

from __future__ import annotations

from dataclasses import dataclass

from django import template
from django.urls import reverse

register = template.Library()


@dataclass(frozen=True)
class NavEntry:
    label: str
    url_name: str
    current_on: tuple[str, ...] = ()  # resolver url_names (without namespace) that mark it current
    permission: str = ""  # shown only to users with it
    staff_only: bool = False


MAIN_NAV = (
    NavEntry("Overview", "overview", ("overview",)),
    NavEntry("Devices", "devices:device-list", ("device-list",)),
    NavEntry("Bulk jobs", "devices:bulk-list", ("bulk-list", "bulk-detail")),
    NavEntry("Cloud sync", "devices:sync", ("sync",), permission="devices.view_device"),
    NavEntry("Upstream", "devices:upstream", ("upstream",)),
    NavEntry("Audit", "devices:audit-log", ("audit-log",)),
    NavEntry("Import", "devices:import-upload", ("import-upload",), permission="devices.import_devices"),
    NavEntry("API tokens", "devices:tokens", ("tokens",)),
    NavEntry("Admin", "admin:index", staff_only=True),
)


def visible_entries(request) -> list[dict]:
    """The entries this request's user may see: label, URL, and whether it is the current page."""
    user, match = request.user, request.resolver_match
    current = match.url_name if match else None
    return [
        {"label": entry.label, "url": reverse(entry.url_name), "current": current in entry.current_on}
        for entry in MAIN_NAV
        if (not entry.permission or user.has_perm(entry.permission)) and (not entry.staff_only or user.is_staff)
    ]


@register.inclusion_tag("partials/main_nav.html", takes_context=True)
def main_nav(context) -> dict:
    request = context.get("request")
    return {"entries": visible_entries(request) if request is not None else []}
