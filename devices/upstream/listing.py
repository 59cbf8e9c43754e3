"""Get Devices v2.2 pages: the answer's envelope, read in every plausible shape, and its devices, checked.

The vendor documents the items (docs/upstream/api-notes.md §2.4: hwid,
hostname, status, remediation_link, ...) but not the envelope, nor a count,
nor what a page past the end answers beyond 413 (§7 item 8). So a page may be
a bare JSON array of devices, an object with a `devices` list (the
simulator's default), or one with a `results` list (the vendor's Search
Devices v2.1), each with or without a count (`total`, `total_count`). A count
is only a hint for progress: the list ends at a page shorter than `limit`
(an empty one included), or at a 413, whatever any count said.

An envelope that does not fit is refused whole (nothing of it is used). One
device that does not fit is skipped with a note naming its position and the
field, never a value; the rest of the page stands.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from devices.upstream.answers import is_int
from devices.upstream.results import RateLimitInfo

DEVICES_PATH = "/o/api/v2.2/devices"
# limit 1-50 [D]; a sync always asks for full pages.
PAGE_SIZE = 50
# The v2.x `exempt` is 0/1 (Device Details v2.1 [D]); the simulator says which
# mode. A bare 1 is passed on as this, and the caller decides the mode.
EXEMPT_FLAG = "exempt"
EXEMPT_MODES = ("none", "critical", "all")
# The envelopes a page is read from: a bare array, or an object holding the list under one of these keys.
ENVELOPE_ARRAY = "array"
LIST_KEYS = ("devices", "results")
ENVELOPES = (ENVELOPE_ARRAY, *LIST_KEYS)
# Where a count may be, in order of preference.
COUNT_KEYS = ("total", "total_count")
NO_LIST = "the cloud's page had no list of devices"


@dataclass(frozen=True)
class CloudDevice:
    """One device as Get Devices v2.2 lists it; values as sent (the caller normalises MACs and HWIDs)."""

    hwid: str
    hostname: str
    status: int  # 0 compliant, 1 non-compliant, 3 still reporting [D]; others passed on
    exempt: str | None  # "none", "critical", "all", EXEMPT_FLAG; None: not sent
    remediation_link: str | None  # "": the cloud has none; None: not sent
    last_seen: datetime | None  # aware, UTC
    macs: tuple[str, ...]


@dataclass(frozen=True)
class DevicePage:
    """One page of Get Devices v2.2, as read."""

    count: int | None  # devices the cloud says it has, with this page; None: the page gave no count
    page: int
    limit: int
    devices: tuple[CloudDevice, ...]
    http_status: int
    rate_limit: RateLimitInfo | None
    envelope: str = "devices"  # one of ENVELOPES
    skipped: tuple[str, ...] = ()  # one note per listed device that did not fit (position and field)

    @property
    def listed(self) -> int:
        """Items the page listed, skipped ones included: what tells a full page from the last."""
        return len(self.devices) + len(self.skipped)

    @property
    def is_last(self) -> bool:
        """A page shorter than `limit` (an empty one included) ends the list; a count never does."""
        return self.listed < self.limit

    @property
    def pages_total(self) -> int | None:
        """Pages of `limit` the count makes (at least 1); None without a count."""
        if self.count is None:
            return None
        return max(1, math.ceil(self.count / self.limit))


@dataclass(frozen=True)
class ParsedPage:
    """What `parse_page` read of one page's JSON."""

    envelope: str
    count: int | None
    devices: tuple[CloudDevice, ...]
    skipped: tuple[str, ...]


def check_page_request(page: int, limit: int) -> None:
    """Refuse a page or limit the endpoint cannot take (a bug of the caller's, not the cloud's answer)."""
    if isinstance(page, bool) or not isinstance(page, int) or page < 1:
        raise ValueError("page must be an integer from 1")
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= PAGE_SIZE:
        raise ValueError(f"limit must be an integer from 1 to {PAGE_SIZE}")


def parse_page(body: Any, page: int, limit: int) -> ParsedPage:
    """The envelope, count and devices of one page's JSON; ValueError says what of the envelope does not fit.

    Messages name fields and positions, never values (a value could carry anything).
    """
    envelope, count, items = _envelope(body, page)
    if len(items) > limit:
        raise ValueError(f"{len(items)} devices on a page of {limit}")
    devices: list[CloudDevice] = []
    skipped: list[str] = []
    for position, item in enumerate(items, start=1):
        try:
            devices.append(_device(item, position))
        except ValueError as why:
            skipped.append(f"{why}: skipped")
    return ParsedPage(envelope, count, tuple(devices), tuple(skipped))


def _envelope(body: Any, page: int) -> tuple[str, int | None, list[Any]]:
    if isinstance(body, list):
        return ENVELOPE_ARRAY, None, body
    if not isinstance(body, dict):
        raise ValueError(NO_LIST)
    if "page" in body and body["page"] != page and str(body["page"]) != str(page):
        raise ValueError(f"page {page} was asked for, another came back")
    for key in LIST_KEYS:
        if key in body:
            items = body[key]
            if not isinstance(items, list):
                raise ValueError(f"{key} is not a list")
            return key, _count(body), items
    raise ValueError(NO_LIST)


def _count(body: dict[str, Any]) -> int | None:
    # A hint only: one that is not a count is as good as none, and refuses nothing.
    for key in COUNT_KEYS:
        value = body.get(key)
        if is_int(value) and value >= 0:
            return value
    return None


def _device(item: Any, position: int) -> CloudDevice:
    where = f"device {position} on the page"
    if not isinstance(item, dict):
        raise ValueError(f"{where} is not an object")
    hwid = item.get("hwid")
    if not isinstance(hwid, str) or not hwid.strip():
        raise ValueError(f"{where}: hwid is not a non-empty string")
    hostname = item.get("hostname", "")
    if hostname is None:
        hostname = ""
    if not isinstance(hostname, str):
        raise ValueError(f"{where}: hostname is not a string")
    status = item.get("status")
    if not is_int(status):
        raise ValueError(f"{where}: status is not an integer")
    link = item.get("remediation_link")
    if link is not None and not isinstance(link, str):
        raise ValueError(f"{where}: remediation_link is not a string")
    return CloudDevice(
        hwid=hwid.strip(),
        hostname=hostname,
        status=status,
        exempt=_exempt(item.get("exempt"), where),
        remediation_link=link,
        last_seen=_last_seen(item.get("last_seen"), where),
        macs=_macs(item.get("network_info"), where),
    )


def _exempt(value: Any, where: str) -> str | None:
    if value is None:
        return None
    if is_int(value) and value in (0, 1):
        return "none" if value == 0 else EXEMPT_FLAG
    if isinstance(value, str) and value in EXEMPT_MODES:
        return value
    raise ValueError(f"{where}: exempt is neither 0/1 nor one of {', '.join(EXEMPT_MODES)}")


def _last_seen(value: Any, where: str) -> datetime | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ValueError(f"{where}: last_seen is not a string")
    try:
        # "2014-07-18T08:59:00Z" (docs/upstream/api-notes.md §2.4 [C]); Python 3.11+ reads the Z.
        seen = datetime.fromisoformat(value.strip())
    except ValueError:
        raise ValueError(f"{where}: last_seen is not an ISO 8601 time") from None
    # No zone given: the cloud's examples are all UTC.
    return seen.replace(tzinfo=UTC) if seen.tzinfo is None else seen.astimezone(UTC)


def _macs(value: Any, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise ValueError(f"{where}: network_info is not a list")
    macs: list[str] = []
    for entry in value:
        if not isinstance(entry, dict):
            raise ValueError(f"{where}: a network_info entry is not an object")
        mac = entry.get("mac_addr")
        if mac is None or mac == "":
            continue  # an interface without a MAC (a VPN tunnel, say)
        if not isinstance(mac, str):
            raise ValueError(f"{where}: a mac_addr is not a string")
        macs.append(mac)
    return tuple(macs)
