"""Get Devices v2.2 pages: the answer's envelope and its devices, checked strictly.

The vendor documents the items (docs/upstream/api-notes.md §2.4: hwid,
hostname, status, remediation_link, ...) but not the envelope; the simulator's
is `{"total", "page", "limit", "devices": [...]}` and a 2014 client fixture
adds `last_seen` and `network_info[{mac_addr}]`. A page that does not fit
this shape is refused whole: a sync writes a page completely or not at all.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timezone
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
    """One page of Get Devices v2.2."""

    total: int  # devices the cloud has, as it said with this page
    page: int
    limit: int
    devices: tuple[CloudDevice, ...]
    http_status: int
    rate_limit: RateLimitInfo | None
    # The page's shape: "array" (a bare JSON array), "devices" or "results" (the object key holding the list) ...
    envelope: str = "devices"
    # ... and the count it gave (`total` or `total_count`), None when it gave none.
    count: int | None = None

    @property
    def pages_total(self) -> int:
        """Pages of `limit` the cloud's total makes (at least 1)."""
        return max(1, math.ceil(self.total / self.limit))


def check_page_request(page: int, limit: int) -> None:
    """Refuse a page or limit the endpoint cannot take (a bug of the caller's, not the cloud's answer)."""
    if isinstance(page, bool) or not isinstance(page, int) or page < 1:
        raise ValueError("page must be an integer from 1")
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= PAGE_SIZE:
        raise ValueError(f"limit must be an integer from 1 to {PAGE_SIZE}")


def parse_page(body: dict[str, Any], page: int, limit: int) -> tuple[int, tuple[CloudDevice, ...]]:
    """The total and the devices of one page's JSON object; ValueError says what does not fit.

    Messages name fields and positions, never values (a value could carry anything).
    """
    total = body.get("total")
    if not is_int(total) or total < 0:
        raise ValueError("total is not a non-negative integer")
    if "page" in body and body["page"] != page:
        raise ValueError(f"page {page} was asked for, another came back")
    items = body.get("devices")
    if not isinstance(items, list):
        raise ValueError("devices is not a list")
    if len(items) > limit:
        raise ValueError(f"{len(items)} devices on a page of {limit}")
    return total, tuple(_device(item, position) for position, item in enumerate(items, start=1))


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
    return seen.replace(tzinfo=timezone.utc) if seen.tzinfo is None else seen.astimezone(timezone.utc)


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
