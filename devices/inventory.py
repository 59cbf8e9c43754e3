"""Writing devices: the one place that turns validated values into rows."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db import transaction

from devices.models import Device, MacAddress


@dataclass
class DeviceRecord:
    """A device's editable values, already normalised (MACs canonical, primary first)."""

    name: str
    hwid: str | None
    macs: list[str] = field(default_factory=list)
    owner_name: str = ""
    owner_email: str = ""
    notes: str = ""

    @classmethod
    def of(cls, device: Device) -> DeviceRecord:
        return cls(
            name=device.name,
            hwid=device.hwid,
            macs=[mac.address for mac in device.ordered_macs],
            owner_name=device.owner_name,
            owner_email=device.owner_email,
            notes=device.notes,
        )


def conflicting_owners(
    hwid: str | None, macs: list[str], exclude_device_id: int | None
) -> dict[str, Device]:
    """Which of these identifiers already belong to another device, and to which."""
    taken: dict[str, Device] = {}
    if hwid:
        other = Device.objects.filter(hwid=hwid).exclude(pk=exclude_device_id).first()
        if other:
            taken[hwid] = other
    if macs:
        rows = (
            MacAddress.objects.filter(address__in=macs)
            .exclude(device_id=exclude_device_id)
            .select_related("device")
        )
        for row in rows:
            taken[row.address] = row.device
    return taken


@transaction.atomic
def save_device(device: Device | None, record: DeviceRecord) -> Device:
    """Create or update a device and make its MAC rows match `record.macs`.

    Uniqueness is the database's job: a concurrent save of the same identifier
    raises IntegrityError, which the caller reports.
    """
    device = device or Device()
    device.name = record.name
    device.hwid = record.hwid
    device.owner_name = record.owner_name
    device.owner_email = record.owner_email
    device.notes = record.notes
    device.save()
    set_macs(device, record.macs)
    return device


def set_macs(device: Device, macs: list[str]) -> None:
    """Replace a device's MACs with `macs`, the first being the primary."""
    device.macs.exclude(address__in=macs).delete()
    primary = macs[0] if macs else None
    # Clear the old primary before marking the new one: one primary per device
    # is a database constraint, checked row by row.
    device.macs.filter(is_primary=True).exclude(address=primary).update(is_primary=False)
    existing = set(device.macs.values_list("address", flat=True))
    MacAddress.objects.bulk_create(
        [MacAddress(device=device, address=mac) for mac in macs if mac not in existing]
    )
    if primary:
        device.macs.filter(address=primary).update(is_primary=True)
