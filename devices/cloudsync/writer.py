"""Writing one page of the cloud's device list into the inventory, in one transaction.

A listed device is matched by HWID, else by one of its MACs (only to a device
without a HWID of its own: a different HWID is a different machine). Unknown
devices are added; known ones get the cloud-owned values (compliance,
exemption, last seen, remediation, presence) and keep their name, owner and
notes. A timeline row is written only when something changed; last seen
alone is no change (it moves at every sync of an active device).
A few queries per page, whatever its size: lookups by lists, bulk writes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from django.db import connection, transaction

from devices import audit
from devices.cloudsync.values import Listed, listed
from devices.models import AuditEntry, Device, ExemptMode, MacAddress, RemediationState
from devices.upstream import CloudDevice

# What a sync writes on a known device (cloud-owned; the operator's fields are never among them).
CLOUD_FIELDS = (
    "compliance", "exempt_mode", "exempt_confirmed_at", "last_seen_at", "remediation_state",
    "remediation_link", "remediation_fetched_at", "remediation_error", "cloud_synced_at", "cloud_missing_since",
)
# Of those, the ones whose change the timeline shows, with the labels of their values. Compliance is
# shown as the list shows it (Device.standing): an exemption turns "Non-compliant" into "Exempt (issues
# not counted)", not into the "Compliant" the cloud reports for an exempt device.
AUDITED = {"exempt_mode": ExemptMode, "remediation_state": RemediationState}
IN_CLOUD = {True: "Yes", False: "No", None: "Not synced yet"}


@dataclass
class PageWrite:
    """What one page did to the inventory."""

    added: int = 0
    updated: int = 0  # known devices with a change the timeline shows
    listed: int = 0
    notes: list[str] = field(default_factory=list)  # what could not be stored, and why


def write_page(devices: Sequence[CloudDevice], *, now: datetime, user=None, label: str = "a cloud sync") -> PageWrite:
    """Write one page; `now` is the sync's clock, `user` who asked for the sync (None: the schedule)."""
    result = PageWrite()
    wanted: dict[str, Listed] = {}
    for device in devices:
        item = listed(device, result.notes)
        if item is not None and item.hwid not in wanted:  # a device listed twice is written once
            wanted[item.hwid] = item
    result.listed = len(wanted)
    with transaction.atomic():
        known, new = _match(list(wanted.values()))
        entries = _update(known, now, user)
        entries += _create(new, now, user, label, result.notes)
        audit.record_many(entries)
    result.updated = sum(1 for entry in entries if entry.verb == AuditEntry.Verb.SYNCED)
    result.added = sum(1 for entry in entries if entry.verb == AuditEntry.Verb.CREATED)
    return result


def _match(items: list[Listed]) -> tuple[dict[int, Listed], list[Listed]]:
    """The inventory device each item is (by HWID, else MAC), and the items it lacks."""
    by_hwid = dict(Device.objects.filter(hwid__in=[item.hwid for item in items]).values_list("hwid", "pk"))
    macs = [mac for item in items for mac in item.macs]
    owners = dict(MacAddress.objects.filter(address__in=macs).values_list("address", "device_id"))
    # Only a device without a HWID may be the one a MAC names.
    hwid_less = set(Device.objects.filter(pk__in=set(owners.values()), hwid__isnull=True).values_list("pk", flat=True))
    known: dict[int, Listed] = {}
    new: list[Listed] = []
    for item in items:
        pk = by_hwid.get(item.hwid)
        if pk is None:
            pk = next((owners[mac] for mac in item.macs if owners.get(mac) in hwid_less), None)
        if pk is None or pk in known:
            new.append(item)
        else:
            known[pk] = item
    return known, new


def _text(name: str, value) -> str:
    if value is None:
        return ""
    choices = AUDITED.get(name)
    return str(choices(value).label) if choices else str(value)


def _update(known: dict[int, Listed], now: datetime, user) -> list[AuditEntry]:
    """Write the cloud's values on the known devices; the timeline entries of those that changed."""
    devices = list(Device.objects.filter(pk__in=list(known)).only("name", "hwid", *CLOUD_FIELDS))
    entries = []
    for device in devices:
        item = known[device.pk]
        before = {name: getattr(device, name) for name in AUDITED}
        standing_before = device.standing
        was_in_cloud = device.in_cloud
        device.compliance = item.compliance
        mode = item.exempt_mode(device.exempt_mode)
        if mode is not None:
            device.exempt_mode, device.exempt_confirmed_at = mode, now
        device.last_seen_at = item.last_seen or device.last_seen_at
        if item.remediation is not None:
            # A link from a sync is a fresh fetch: a device page does not fetch again within the TTL.
            device.remediation_state, device.remediation_link = item.remediation
            device.remediation_fetched_at, device.remediation_error = now, ""
        device.cloud_synced_at, device.cloud_missing_since = now, None
        standing = device.standing
        changes = [["compliance", standing_before.label, standing.label]] if standing != standing_before else []
        changes += [[name, _text(name, old), _text(name, getattr(device, name))]
                    for name, old in before.items() if getattr(device, name) != old]
        if was_in_cloud is False:
            changes.append(["in_cloud", IN_CLOUD[False], IN_CLOUD[True]])
        if device.hwid is None:
            # Found by a MAC: the device now has the HWID the cloud knows it by.
            Device.objects.filter(pk=device.pk).update(hwid=item.hwid)
            changes.append(["hwid", "", item.hwid])
        if changes:
            entries.append(audit.entry(AuditEntry.Verb.SYNCED, user, device=device, changes=changes,
                                       detail="Changed by a cloud sync."))
    _save_cloud_fields(devices)
    return entries


def _save_cloud_fields(devices: list[Device]) -> None:
    """One prepared UPDATE of the cloud's columns, run for every device (bulk_update's CASE costs ~10 ms a row in Python)."""
    fields = [Device._meta.get_field(name) for name in CLOUD_FIELDS]
    quote = connection.ops.quote_name
    sql = (f"UPDATE {quote(Device._meta.db_table)} SET "
           + ", ".join(f"{quote(f.column)} = %s" for f in fields)
           + f" WHERE {quote(Device._meta.pk.column)} = %s")
    rows = [[*(f.get_db_prep_save(getattr(device, f.attname), connection) for f in fields), device.pk]
            for device in devices]
    with connection.cursor() as cursor:
        cursor.executemany(sql, rows)


def _create(new: list[Listed], now: datetime, user, label: str, notes: list[str]) -> list[AuditEntry]:
    """Add the devices the inventory lacks, each with the MACs no other device has."""
    owners = dict(MacAddress.objects.filter(address__in=[m for item in new for m in item.macs])
                  .values_list("address", "device__name"))
    rows, mac_lists = [], []
    for item in new:
        macs = []
        for mac in item.macs:
            if mac in owners:
                notes.append(f"{item.hwid}: MAC {mac} belongs to {owners[mac]!r}: left to that device.")
            else:
                owners[mac] = item.name
                macs.append(mac)
        mac_lists.append(macs)
        rows.append(_new_device(item, now))
    created = Device.objects.bulk_create(rows)
    MacAddress.objects.bulk_create([
        MacAddress(device_id=device.pk, address=mac, is_primary=(i == 0))
        for device, macs in zip(created, mac_lists, strict=True) for i, mac in enumerate(macs)
    ])
    return [audit.entry(AuditEntry.Verb.CREATED, user, device=device, detail=f"Added by {label}: the cloud lists it.")
            for device in created]


def _new_device(item: Listed, now: datetime) -> Device:
    device = Device(name=item.name, hwid=item.hwid, compliance=item.compliance, last_seen_at=item.last_seen,
                    cloud_synced_at=now)
    mode = item.exempt_mode(None)
    if mode is not None:
        device.exempt_mode, device.exempt_confirmed_at = mode, now
    if item.remediation is not None:
        device.remediation_state, device.remediation_link = item.remediation
        device.remediation_fetched_at = now
    return device
