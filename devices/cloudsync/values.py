"""What a listed cloud device means for the inventory: its identifiers, name and the cloud-owned values, storable.

Decisions, in one place:
- compliance: the documented codes 0/1/3; any other code is "unknown".
- exemption: the simulator names the mode; the v2.x flag is 0/1 (Device
  Details v2.1 [D]). 0 is "none"; a bare 1 keeps a known critical/all mode,
  else it is stored as "all": the cloud says the device is exempt without
  saying from what, and "all" is what the console's own bulk exemption sets.
- remediation: a link counts as a fresh fetch; "" means the cloud has none
  (no issues); a device listed without the key keeps its stored state.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.core.exceptions import ValidationError

from devices.models import Compliance, Device, ExemptMode, RemediationState
from devices.upstream import EXEMPT_FLAG, CloudDevice
from devices.validators import normalize_hwid, normalize_mac, one_line

NAME_MAX = Device._meta.get_field("name").max_length
LINK_MAX = Device._meta.get_field("remediation_link").max_length


@dataclass(frozen=True)
class Listed:
    """One cloud device in the inventory's terms."""

    hwid: str
    name: str
    macs: tuple[str, ...]  # canonical, the first the primary
    compliance: str
    exempt: str | None  # an ExemptMode value, EXEMPT_FLAG, or None (not sent)
    remediation: tuple[str, str] | None  # (state, link); None: not sent
    last_seen: datetime | None

    def exempt_mode(self, known: str | None) -> str | None:
        """The mode to store, given the one stored (`known`); None: leave it."""
        if self.exempt != EXEMPT_FLAG:
            return self.exempt
        return known if known in (ExemptMode.CRITICAL, ExemptMode.ALL) else ExemptMode.ALL


def listed(device: CloudDevice, notes: list[str]) -> Listed | None:
    """`device` as the inventory stores it; None (with a note) when its HWID cannot be stored.

    A MAC that is no device's own (malformed, multicast) is dropped with a note.
    """
    try:
        hwid = normalize_hwid(device.hwid)
    except ValidationError:
        hwid = None
    if hwid is None:
        notes.append(f"A cloud device has a HWID the inventory cannot store ({device.hwid[:70]!r}): skipped.")
        return None
    macs: list[str] = []
    for raw in device.macs:
        try:
            mac = normalize_mac(raw)
        except ValidationError:
            notes.append(f"{hwid}: MAC {raw[:40]!r} is not a device's own address: not stored.")
            continue
        if mac not in macs:
            macs.append(mac)
    return Listed(
        hwid=hwid,
        name=_name(device.hostname, hwid),
        macs=tuple(macs),
        compliance=Compliance.from_cloud(device.status) or Compliance.UNKNOWN,
        exempt=device.exempt,
        remediation=_remediation(device.remediation_link, hwid, notes),
        last_seen=device.last_seen,
    )


def _name(hostname: str, hwid: str) -> str:
    # The name reaches page titles and email subjects: one line, never empty.
    name = one_line(hostname).strip()[:NAME_MAX]
    return name or hwid


def _remediation(link: str | None, hwid: str, notes: list[str]) -> tuple[str, str] | None:
    if link is None:
        return None
    if not link.strip():
        return RemediationState.NO_ISSUES, ""
    if len(link) > LINK_MAX:
        notes.append(f"{hwid}: the remediation link is {len(link):,} characters long, over {LINK_MAX:,}: not stored.")
        return None
    return RemediationState.LINK, link
