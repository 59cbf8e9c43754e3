"""The inventory at a glance: devices counted by compliance, exemption, remediation state and presence.

One aggregate query whatever the inventory's size; each count carries the
device list's query string that shows the devices it counts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlencode

from django.db.models import Count, Q

from devices.models import Device, ExemptMode, RemediationState, Standing

# "Not seen for N days" on the overview: the cloud last heard from the device longer ago.
UNSEEN_DAYS = 7
# The exemption filter's value for devices whose mode the cloud never confirmed.
EXEMPT_UNKNOWN = "unknown"


@dataclass(frozen=True)
class Bucket:
    """One count and the device list's query string that lists what it counts."""

    key: str
    label: str
    count: int
    query: str


@dataclass(frozen=True)
class FleetCounts:
    total: int
    compliance: list[Bucket]
    exemption: list[Bucket]
    remediation: list[Bucket]
    not_in_cloud: Bucket
    unseen: Bucket
    never_seen: Bucket


def _buckets(now: datetime) -> list[tuple[str, str, str, dict, Q]]:
    """(group, key, label, list query, condition) for every count the overview shows."""
    # Compliance as the list shows it: an exempt device the cloud calls compliant is counted as exempt.
    rows = [("compliance", s.value, s.label, {"compliance": s.value}, Device.standing_q(s)) for s in Standing]
    rows += [("exemption", m.value, m.label, {"exempt": m.value}, Q(exempt_mode=m.value)) for m in ExemptMode]
    rows.append(("exemption", EXEMPT_UNKNOWN, "Not confirmed yet", {"exempt": EXEMPT_UNKNOWN},
                 Q(exempt_mode__isnull=True)))
    rows += [("remediation", s.value, s.label, {"remediation": s.value}, Q(remediation_state=s.value))
             for s in RemediationState]
    rows.append(("presence", "missing", "Not in the cloud", {"cloud": "missing"}, Q(cloud_missing_since__isnull=False)))
    rows.append(("presence", "unseen", f"Not seen for {UNSEEN_DAYS} days", {"unseen_days": UNSEEN_DAYS},
                 Q(last_seen_at__lt=now - timedelta(days=UNSEEN_DAYS))))
    # Apart from the quiet ones: a device imported minutes ago has not gone quiet.
    rows.append(("presence", "never", "Never seen", {"seen": "never"}, Q(last_seen_at__isnull=True)))
    return rows


def fleet_counts(now: datetime) -> FleetCounts:
    """Every count in one pass over the devices table."""
    rows = _buckets(now)
    aggregates = {f"n{i}": Count("id", filter=condition) for i, (*_, condition) in enumerate(rows)}
    result = Device.objects.aggregate(total=Count("id"), **aggregates)
    groups: dict[str, list[Bucket]] = {}
    for i, (group, key, label, query, _) in enumerate(rows):
        groups.setdefault(group, []).append(Bucket(key, label, result[f"n{i}"], urlencode(query)))
    missing, unseen, never_seen = groups["presence"]
    return FleetCounts(result["total"], groups["compliance"], groups["exemption"], groups["remediation"],
                       missing, unseen, never_seen)
