"""Deterministic demo inventory for the simulator, and device-identifier helpers.

`generate_devices(seed, count)` is also used by the gearsdash dashboard to load
the same inventory the simulator serves, so its signature and the meaning of
the `SimDevice` fields are a stable interface.

Everything random comes from one `random.Random(seed)`, never from the global
`random` module or `hash()`, so the same seed gives the same devices in every
run and every process (string hashing is salted per process; this module never
relies on it).

Identifier formats follow docs/upstream/api-notes.md §2.6: MACs are stored lowercase and
colon-separated (the only form in the vendor's examples [D]); HWIDs come in the
two documented styles, 32 lowercase hex digits and 16 uppercase letters+digits.
"""

from __future__ import annotations

import random
import re
import string
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

EXEMPT_MODES = ("none", "critical", "all")

# Issue texts are invented; the vendor's API only ever reports counts
# (`total_issue`, docs/upstream/api-notes.md §2.4) and the remediation page lists them.
ISSUE_CATALOG = (
    "Antivirus real-time protection is disabled",
    "Antivirus definitions are out of date",
    "Firewall is disabled",
    "Disk encryption is not enabled",
    "Critical operating system patches are missing",
    "Screen lock is not configured",
    "Unauthorized application installed: uTorrent",
    "Potentially unwanted application detected",
    "Backup software is not running",
    "Web browser is out of date",
)

# Real vendor OUIs (VMware, Apple, Dell, Lenovo, Microsoft Hyper-V, ...), so the
# generated MACs look like what an inventory would hold.
_OUIS = (
    "00:0c:29",
    "00:50:56",
    "3c:22:fb",
    "a4:5e:60",
    "f4:8e:38",
    "d4:81:d7",
    "54:ee:75",
    "8c:16:45",
    "f8:75:a4",
    "00:15:5d",
    "98:fa:9b",
    "b4:2e:99",
)
_FIRST_NAMES = (
    "Ana",
    "Ben",
    "Chloe",
    "David",
    "Elif",
    "Farid",
    "Grace",
    "Hiro",
    "Ines",
    "Jonas",
    "Kemi",
    "Liam",
    "Maya",
    "Noah",
    "Olga",
    "Pavel",
    "Quinn",
    "Rosa",
    "Sami",
    "Tara",
    "Umar",
    "Vera",
    "Wen",
    "Yusuf",
    "Zoe",
)
_LAST_NAMES = (
    "Alvarez",
    "Becker",
    "Chen",
    "Dubois",
    "Eriksen",
    "Fischer",
    "Garcia",
    "Haddad",
    "Ivanova",
    "Jensen",
    "Kowalski",
    "Lopez",
    "Moreau",
    "Nakamura",
    "Okafor",
    "Petrov",
    "Rossi",
    "Schmidt",
    "Tanaka",
    "Usman",
    "Varga",
    "Weber",
    "Yilmaz",
    "Zhang",
)
_DEPARTMENTS = ("FIN", "ENG", "HR", "OPS", "MKT", "SALES", "IT", "LAB")
# (machine type, hostname code, nickname word, operating systems)
_MACHINE_KINDS = (
    ("laptop", "LT", "laptop", ("Windows 11 Pro", "Windows 10 Enterprise", "macOS 14 Sonoma")),
    ("desktop", "WS", "desktop", ("Windows 11 Pro", "Windows 10 Pro", "Ubuntu 22.04 LTS")),
    ("vm", "VM", "VM", ("Windows Server 2022", "Ubuntu 22.04 LTS")),
    ("server", "SRV", "server", ("Windows Server 2019", "Red Hat Enterprise Linux 9")),
)
_UPPER_ALNUM = string.ascii_uppercase + string.digits


@dataclass
class SimDevice:
    """One simulated managed endpoint.

    Mutable on purpose: the simulator changes `exempt` and `dhcp_renewals`
    when Device Action calls succeed.
    """

    hostname: str
    hwid: str
    macs: list[str]
    owner_name: str
    owner_email: str
    issues: list[str] = field(default_factory=list)
    exempt: str = "none"
    persistent_agent: bool = True
    remediation_token: str = ""
    nickname: str = ""
    machine_type: str = "laptop"
    os_name: str = ""
    agent_version: str = ""
    # Relative, not absolute, so that generated data is identical across runs
    # while the API still reports a recent `last_seen`.
    last_seen_seconds_ago: int = 0
    dhcp_renewals: int = 0

    @property
    def agent_type(self) -> str:
        """Agent kind as reported by Get Devices ([I] string form)."""
        return "persistent" if self.persistent_agent else "on-demand"

    @property
    def total_issue(self) -> int:
        return len(self.issues)

    @property
    def status(self) -> int:
        """Get Devices v2.2 status: 0 compliant, 1 non-compliant.

        [I] A device counts as compliant when it has no issues or is exempted
        (either mode); the vendor does not document how exemption and status
        combine.
        """
        return 1 if self.issues and self.exempt == "none" else 0

    def last_seen_at(self, now: datetime | None = None) -> datetime:
        """Absolute last-seen time, relative to `now` (UTC, whole seconds)."""
        reference = now if now is not None else datetime.now(UTC)
        return (reference - timedelta(seconds=self.last_seen_seconds_ago)).replace(microsecond=0)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able view, used by `GET /_sim/devices`."""
        return {
            "hostname": self.hostname,
            "hwid": self.hwid,
            "macs": list(self.macs),
            "owner_name": self.owner_name,
            "owner_email": self.owner_email,
            "issues": list(self.issues),
            "exempt": self.exempt,
            "persistent_agent": self.persistent_agent,
            "agent_type": self.agent_type,
            "remediation_token": self.remediation_token,
            "nickname": self.nickname,
            "machine_type": self.machine_type,
            "os_name": self.os_name,
            "agent_version": self.agent_version,
            "last_seen_seconds_ago": self.last_seen_seconds_ago,
            "status": self.status,
            "total_issue": self.total_issue,
            "dhcp_renewals": self.dhcp_renewals,
        }


def generate_devices(seed: int = 42, count: int = 40) -> list[SimDevice]:
    """Return `count` demo devices, identical for the same `seed`.

    Guarantees for `count >= 4`: at least one device without issues, one with
    issues, one exempt and one without a persistent agent (tests and demos rely
    on each kind existing). MACs are globally unique across the list, as are
    HWIDs, hostnames and remediation tokens.
    """
    if count < 0:
        raise ValueError("count must be >= 0")
    rng = random.Random(seed)

    # Exactly half (rounded up) of the HWIDs are 32-hex, shuffled so the style
    # does not simply alternate.
    hwid_styles = ["hex32"] * ((count + 1) // 2) + ["alnum16"] * (count // 2)
    rng.shuffle(hwid_styles)

    used_macs: set[str] = set()
    used_hwids: set[str] = set()
    used_tokens: set[str] = set()
    used_emails: set[str] = set()
    devices: list[SimDevice] = []

    for index in range(count):
        first = rng.choice(_FIRST_NAMES)
        last = rng.choice(_LAST_NAMES)
        email = f"{first.lower()}.{last.lower()}@example.com"
        if email in used_emails:
            email = f"{first.lower()}.{last.lower()}{index + 1}@example.com"
        used_emails.add(email)

        machine_type, code, noun, systems = rng.choice(_MACHINE_KINDS)
        department = rng.choice(_DEPARTMENTS)
        hostname = f"{department}-{code}-{index + 1:03d}"

        hwid = _unique(lambda: _random_hwid(rng, hwid_styles[index]), used_hwids)  # noqa: B023 - called within this iteration
        macs = [_unique(lambda: _random_mac(rng), used_macs) for _ in range(rng.randint(1, 3))]
        token = _unique(lambda: "".join(rng.choices(_UPPER_ALNUM, k=17)), used_tokens)

        # Roughly 45 % of devices are clean; the rest have 1-3 issues.
        issues = [] if rng.random() < 0.45 else sorted(rng.sample(ISSUE_CATALOG, rng.randint(1, 3)))
        exempt_roll = rng.random()
        exempt = "critical" if exempt_roll < 0.12 else "all" if exempt_roll < 0.22 else "none"
        persistent = rng.random() >= 0.15
        # Most devices were seen within the hour; some have been away for days.
        seen_ago = rng.randint(20, 3600) if rng.random() < 0.7 else rng.randint(3600, 14 * 86400)

        devices.append(
            SimDevice(
                hostname=hostname,
                hwid=hwid,
                macs=macs,
                owner_name=f"{first} {last}",
                owner_email=email,
                issues=issues,
                exempt=exempt,
                persistent_agent=persistent,
                remediation_token=token,
                nickname=f"{first}'s {noun}",
                machine_type=machine_type,
                os_name=rng.choice(systems),
                agent_version=f"4.3.{rng.randint(1200, 4999)}.0",
                last_seen_seconds_ago=seen_ago,
            )
        )

    if count >= 4:
        _ensure_every_kind_exists(rng, devices)
    return devices


def _ensure_every_kind_exists(rng: random.Random, devices: list[SimDevice]) -> None:
    """Force the kinds tests rely on onto distinct devices, only if missing."""
    clean, dirty, exempted, agentless = rng.sample(range(len(devices)), 4)
    if all(device.issues for device in devices):
        devices[clean].issues = []
    if not any(device.issues for device in devices):
        devices[dirty].issues = [ISSUE_CATALOG[0]]
    if all(device.exempt == "none" for device in devices):
        devices[exempted].exempt = "all"
    if all(device.persistent_agent for device in devices):
        devices[agentless].persistent_agent = False


def _unique(make: Any, used: set[str]) -> str:
    """Draw from `make` until the value is new; deterministic for a seeded rng."""
    while True:
        value = make()
        if value not in used:
            used.add(value)
            return value


def _random_hwid(rng: random.Random, style: str) -> str:
    if style == "hex32":
        return "".join(rng.choices("0123456789abcdef", k=32))
    return "".join(rng.choices(_UPPER_ALNUM, k=16))


def _random_mac(rng: random.Random) -> str:
    tail = ":".join(f"{rng.randrange(256):02x}" for _ in range(3))
    return f"{rng.choice(_OUIS)}:{tail}"


# --- MAC address normalisation ------------------------------------------------

# Used with fullmatch(): "$" would also accept a trailing newline.
_MAC_SEPARATED = re.compile(r"[0-9a-f]{2}([:-])[0-9a-f]{2}(?:\1[0-9a-f]{2}){4}")
_MAC_DOTTED = re.compile(r"[0-9a-f]{4}\.[0-9a-f]{4}\.[0-9a-f]{4}")
_MAC_BARE = re.compile(r"[0-9a-f]{12}")
_MAC_CANONICAL = re.compile(r"[0-9a-f]{2}(?::[0-9a-f]{2}){5}")


def normalize_mac(value: str) -> str | None:
    """Return the canonical `aa:bb:cc:dd:ee:ff` form, or None if not a MAC.

    Accepts colon or dash separators (one kind per address), Cisco dotted
    `aabb.ccdd.eeff` and bare 12-hex-digit forms, in any letter case.
    [I] The vendor only ever shows the lowercase colon form (docs/upstream/api-notes.md §2.6);
    accepting the others is the simulator's lenient default.
    """
    candidate = value.lower()
    if (
        _MAC_SEPARATED.fullmatch(candidate)
        or _MAC_DOTTED.fullmatch(candidate)
        or _MAC_BARE.fullmatch(candidate)
    ):
        digits = re.sub(r"[^0-9a-f]", "", candidate)
        return ":".join(digits[i : i + 2] for i in range(0, 12, 2))
    return None


def is_canonical_mac(value: str) -> bool:
    """True for exactly the stored form: lowercase hex pairs joined by colons."""
    return bool(_MAC_CANONICAL.fullmatch(value))
