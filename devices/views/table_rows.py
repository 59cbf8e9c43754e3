"""The device list's rows as the table shows them, worked out in one pass per page.

A page shows 50 to 100 rows. Per row, the template filters (naturaltime, date,
default, length), the display lookups and two URL reversals cost more than the
rest of the page. Here each cell is a plain value the table template
prints as it is; the URLs are reversed once per page and the MACs read in one query.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from django.contrib.humanize.templatetags.humanize import naturaltime
from django.urls import reverse
from django.utils.formats import localize
from django.utils.timezone import template_localtime

from devices.models import Device, ExemptMode, MacAddress, Standing
from devices.models.inventory import STANDING_NOTES

NONE_SHOWN = "—"


class IdUrl:
    """A URL that takes one id (`<int:pk>/`), reversed once: `IdUrl("devices:device-detail")(42)`."""

    # An id no inventory reaches, only looked for in the reversed URL.
    PROBE = 987_654_321_987_654_321

    def __init__(self, name: str):
        self.head, _, self.tail = reverse(name, args=[self.PROBE]).partition(str(self.PROBE))

    def __call__(self, pk: int | str) -> str:
        return f"{self.head}{pk}{self.tail}"


@dataclass(slots=True)
class Moment:
    """A time as the list prints it: `<time datetime="{{ iso }}" title="{{ full }}">{{ ago }}</time>`."""

    iso: str
    full: str
    ago: str

    @classmethod
    def of(cls, value: datetime | None) -> Moment | None:
        """What `|date:'c'`, `{{ value }}` and `|naturaltime` print, in the current time zone."""
        if value is None:
            return None
        local = template_localtime(value)
        return cls(local.isoformat(), localize(local), naturaltime(value))


@dataclass(slots=True)
class DeviceRow:
    pk: str
    name: str
    url: str
    action_url: str
    hwid: str
    mac: str  # the primary MAC, else the first
    more_macs: int  # MACs besides that one
    owner: str
    standing: str  # Device.standing: the cloud's status read beside the exemption
    standing_label: str
    standing_note: str
    cloud_missing_since: datetime | None
    exempt_mode: str | None
    exempt_label: str
    last_seen: Moment | None
    updated: Moment


def macs_by_device(devices: list[Device]) -> dict[int, list[str]]:
    """Each device's MAC addresses, primary first (Device.ordered_macs), in one query."""
    found: dict[int, list[str]] = {device.pk: [] for device in devices}
    rows = MacAddress.objects.filter(device_id__in=found).order_by("device_id", "-is_primary", "id")
    for device_id, address in rows.values_list("device_id", "address"):
        found[device_id].append(address)
    return found


# The standings whose label needs its reason beside it: the list explains them once, under the table.
EXPLAINED = (Standing.EXEMPT, Standing.ISSUES_REPORTED)


def standing_notes(rows: list[DeviceRow]) -> list[tuple[str, str, str]]:
    """(value, label, note) of each explained standing the rows show, in `EXPLAINED` order."""
    shown = {row.standing for row in rows}
    return [(s.value, s.label, STANDING_NOTES[s]) for s in EXPLAINED if s.value in shown]


def table_rows(devices: Iterable[Device]) -> list[DeviceRow]:
    devices = list(devices)
    macs = macs_by_device(devices) if devices else {}
    detail_url, action_url = IdUrl("devices:device-detail"), IdUrl("devices:action-create")
    exempt_labels = dict(ExemptMode.choices)
    return [
        DeviceRow(
            pk=str(device.pk),
            name=device.name,
            url=detail_url(device.pk),
            action_url=action_url(device.pk),
            hwid=device.hwid or NONE_SHOWN,
            mac=macs[device.pk][0] if macs[device.pk] else NONE_SHOWN,
            more_macs=max(0, len(macs[device.pk]) - 1),
            owner=device.owner_name or device.owner_email or NONE_SHOWN,
            standing=(standing := device.standing).value,
            standing_label=standing.label,
            standing_note=STANDING_NOTES[standing],
            cloud_missing_since=device.cloud_missing_since,
            exempt_mode=device.exempt_mode,
            exempt_label=exempt_labels.get(device.exempt_mode, device.exempt_mode),
            last_seen=Moment.of(device.last_seen_at),
            updated=Moment.of(device.updated_at),
        )
        for device in devices
    ]
