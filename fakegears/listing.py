"""How Get Devices v2.2 pages are shaped: every reading the vendor's pages leave open, each selectable.

The vendor documents the items of a page but not its envelope, nor a count,
and both a 413 and an empty page past the end have been seen
(docs/upstream/api-notes.md §2.4, §7 item 8). A client must read them all,
so the simulator can play each: these settings are declared like the faults
(`fakegears.faults.FaultFields` inherits them), so each has a command-line
flag, a `SimulatorConfig` field and a key of `POST /_sim/faults`.

The defaults are the simulator's historic shape, which the demo shows:
`{"total", "page", "limit", "devices": [...]}` and 413 past the end.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from fakegears.kinds import Choice, Kind, Number

ENVELOPES = ("devices", "results", "array")
COUNTS = ("total", "total_count", "none")
PAST_END = ("413", "empty")


def _setting(default: Any, kind: Kind, help: str) -> Any:  # noqa: A002 - argparse's word
    return field(default=default, metadata={"kind": kind, "help": help})


@dataclass(kw_only=True)
class ListingFields:
    """The shape of Get Devices pages (and one fault of their items)."""

    devices_envelope: str = _setting(
        "devices", Choice(ENVELOPES),
        "Get Devices page shape: an object with a devices list, one with a results list (as Search Devices v2.1), "
        "or a bare JSON array")
    devices_count: str = _setting(
        "total", Choice(COUNTS), "the count a Get Devices object page carries: total, total_count or none")
    past_end: str = _setting(
        "413", Choice(PAST_END), "a Get Devices page past the end answers 413, or 200 with an empty list")
    broken_device_next: int = _setting(
        0, Number(integer=True, low=0), "the next K Get Devices pages list their first device with an empty hwid")


def page_body(settings: ListingFields, items: list[dict[str, Any]], total: int, page: int, limit: int) -> Any:
    """One page's JSON in the envelope and with the count `settings` select."""
    if settings.devices_envelope == "array":
        return items
    body: dict[str, Any] = {}
    if settings.devices_count != "none":
        body[settings.devices_count] = total
    body.update({"page": page, "limit": limit, settings.devices_envelope: items})
    return body
