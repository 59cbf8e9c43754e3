"""Writing devices: the one place that turns validated values into rows.

`save_device` writes one device (the form), `save_devices` many at once (the
CSV import); both leave each device with exactly its record's MACs, the first
being the primary. `save_device` and the deletes write the device's audit
entries (old → new) in the same transaction.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from devices import audit
from devices.bulk_insert import VALUE_FIELDS, insert_devices
from devices.models import AuditEntry, Device, MacAddress

# The Device columns a DeviceRecord holds (its MACs are rows of their own).
RECORD_FIELDS = VALUE_FIELDS
# Ids per `IN (...)` list: well under SQLite's and PostgreSQL's parameter limits.
LOOKUP_CHUNK = 5000
_WRITE_BATCH = 1000


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

    def changes_from(self, old: DeviceRecord) -> list[list[str]]:
        """[field, old, new] for each field that differs from `old`, as readable text (MACs space-separated)."""
        return [
            [name, _text(getattr(old, name)), _text(getattr(self, name))]
            for name in ("name", "hwid", "macs", "owner_name", "owner_email", "notes")
            if getattr(old, name) != getattr(self, name)
        ]


EMPTY_RECORD = DeviceRecord(name="", hwid=None)


def _text(value) -> str:
    if isinstance(value, list):
        return " ".join(value)
    return value or ""


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
def save_device(device: Device | None, record: DeviceRecord, *, user=None) -> Device:
    """Create or update a device, make its MAC rows match `record.macs`, and
    record who did it with each field's old and new value (nothing when nothing changed).

    Uniqueness is the database's job: a concurrent save of the same identifier
    raises IntegrityError, which the caller reports.
    """
    # Read from the database, not the instance: a bound form has already written its values onto it.
    old = stored_records([device.pk]).get(device.pk, EMPTY_RECORD) if device and device.pk else None
    device = _filled(device or Device(), record)
    device.save()
    set_macs(device, record.macs)
    record_change(device, old, record, user=user)
    return device


def record_change(device: Device, old: DeviceRecord | None, new: DeviceRecord | None = None, *, user=None) -> None:
    """The CREATED (`old` None) or EDITED entry of `device`, if anything changed; `new` defaults to what is stored."""
    new = new or stored_records([device.pk])[device.pk]
    changes = new.changes_from(old or EMPTY_RECORD)
    if changes:
        verb = AuditEntry.Verb.CREATED if old is None else AuditEntry.Verb.EDITED
        audit.record(verb, user, device=device, changes=changes)


def _deletion_changes(record: DeviceRecord) -> list[list[str]]:
    """What a deleted device was: its values as old, nothing as new."""
    return EMPTY_RECORD.changes_from(record)


@transaction.atomic
def delete_device(device: Device, *, user=None) -> None:
    """Delete a device; its audit entry keeps the name and the values it had."""
    old = stored_records([device.pk]).get(device.pk)
    audit.record(AuditEntry.Verb.DELETED, user, device=device, changes=_deletion_changes(old) if old else [])
    device.delete()


@transaction.atomic
def delete_devices(device_ids: list[int], *, user=None, detail: str = "") -> int:
    """Delete these devices, one audit entry each (written in bulk); returns how many were deleted."""
    stored = stored_records(device_ids)
    audit.record_many(
        audit.entry(AuditEntry.Verb.DELETED, user, device=Device(pk=pk, name=record.name), detail=detail,
                    changes=_deletion_changes(record))
        for pk, record in stored.items()
    )
    deleted = 0
    for chunk in in_chunks(list(stored)):
        deleted += Device.objects.filter(pk__in=chunk).delete()[1].get("devices.Device", 0)
    return deleted


def _filled(device: Device, record: DeviceRecord) -> Device:
    for name in RECORD_FIELDS:
        setattr(device, name, getattr(record, name))
    return device


def in_chunks(items: list, size: int = LOOKUP_CHUNK) -> Iterator[list]:
    """`items` in slices of `size`, for lookups by long lists of values."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


@transaction.atomic
def save_devices(new: list[DeviceRecord], changed: dict[int, DeviceRecord]) -> list[int]:
    """Create a device for each of `new` and update the devices `changed` names by id.

    A few queries per thousand devices, for imports of tens of thousands: new
    rows go in bulk without model instances (devices.bulk_insert), and a
    changed device's MAC rows are rewritten only when its list differs. No
    MAC may move between devices here (the import refuses a row whose
    identifiers belong to another device). Returns the created devices' ids,
    in the order of `new`.
    """
    now = timezone.now()
    created = insert_devices(
        [tuple(getattr(record, name) for name in RECORD_FIELDS) for record in new], [record.macs for record in new], now
    )
    mac_rows: list[MacAddress] = []
    if changed:
        stored = stored_records(list(changed))
        if len(stored) < len(changed):
            raise IntegrityError(f"{len(changed) - len(stored)} device(s) to update no longer exist")
        # Only the columns that change: SQLite's search triggers fire on name and
        # hwid. Plain UPDATEs: bulk_update's CASE per row costs seconds per thousand.
        by_fields: dict[tuple[str, ...], list[int]] = defaultdict(list)
        for pk, record in changed.items():
            fields = tuple(name for name in RECORD_FIELDS if getattr(stored[pk], name) != getattr(record, name))
            by_fields[fields].append(pk)
        for fields, pks in by_fields.items():
            _update_rows(fields, [changed[pk] for pk in pks], pks, now)
        stale = [pk for pk, record in stored.items() if record.macs != changed[pk].macs]
        for chunk in in_chunks(stale):
            MacAddress.objects.filter(device_id__in=chunk).delete()
        mac_rows += [row for pk in stale for row in _mac_rows(pk, changed[pk].macs)]
    MacAddress.objects.bulk_create(mac_rows, batch_size=_WRITE_BATCH)
    return created


def lock_devices(device_ids: list[int]) -> None:
    """Lock these devices' rows until the transaction ends (PostgreSQL: nobody edits or deletes them)."""
    for chunk in in_chunks(device_ids):
        list(Device.objects.select_for_update().filter(pk__in=chunk).values_list("pk", flat=True))


def identifier_owners(hwids: list[str], macs: list[str]) -> tuple[dict[str, int], dict[str, int]]:
    """Which device holds each of these HWIDs and MACs (normalised already): {identifier: device id}.

    Plain SQL: the ORM would normalise every value of the IN list again, a
    third of an import's planning time.
    """
    return _owners(Device, "hwid", "id", hwids), _owners(MacAddress, "address", "device", macs)


def _owners(model, key: str, owner: str, values: list[str]) -> dict[str, int]:
    quote = connection.ops.quote_name
    key_column, owner_column = (quote(model._meta.get_field(name).column) for name in (key, owner))
    found: dict[str, int] = {}
    select = f"SELECT {key_column}, {owner_column} FROM {quote(model._meta.db_table)} WHERE {key_column}"
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # One array parameter: an IN list of 5,000 parameters took PostgreSQL ten times as long to plan.
            cursor.execute(f"{select} = ANY(%s::text[])", [values])
            return dict(cursor.fetchall())
        for chunk in in_chunks(values):
            cursor.execute(f"{select} IN ({', '.join(['%s'] * len(chunk))})", chunk)
            found.update(cursor.fetchall())
    return found


def _update_rows(fields: tuple[str, ...], records: list[DeviceRecord], pks: list[int], now) -> None:
    """UPDATE `fields` and updated_at of the devices `pks` to their records' values, one statement per row."""
    columns = [Device._meta.get_field(name) for name in (*fields, "updated_at")]
    quote = connection.ops.quote_name
    sql = (
        f"UPDATE {quote(Device._meta.db_table)} SET "
        + ", ".join(f"{quote(column.column)} = %s" for column in columns)
        + f" WHERE {quote(Device._meta.pk.column)} = %s"
    )
    stamp = columns[-1].get_db_prep_save(now, connection)
    params = [
        [*(column.get_db_prep_save(getattr(record, column.name), connection) for column in columns[:-1]), stamp, pk]
        for record, pk in zip(records, pks, strict=True)
    ]
    with connection.cursor() as cursor:
        cursor.executemany(sql, params)


def stored_records(device_ids: list[int]) -> dict[int, DeviceRecord]:
    """The stored DeviceRecord of each of these devices that exists, read as plain tuples."""
    macs = _current_macs(device_ids)
    records: dict[int, DeviceRecord] = {}
    for chunk in in_chunks(device_ids):
        for pk, *values in Device.objects.filter(pk__in=chunk).values_list("pk", *RECORD_FIELDS):
            name, hwid, owner_name, owner_email, notes = values
            records[pk] = DeviceRecord(name, hwid, macs[pk], owner_name, owner_email, notes)
    return records


def _mac_rows(device_id: int, macs: list[str]) -> list[MacAddress]:
    return [MacAddress(device_id=device_id, address=mac, is_primary=(i == 0)) for i, mac in enumerate(macs)]


def _current_macs(device_ids: list[int]) -> dict[int, list[str]]:
    """Each device's stored MACs, primary first (as DeviceRecord.of lists them)."""
    macs: dict[int, list[str]] = {pk: [] for pk in device_ids}
    for chunk in in_chunks(device_ids):
        found = (
            MacAddress.objects.filter(device_id__in=chunk)
            .order_by("device_id", "-is_primary", "id")
            .values_list("device_id", "address")
        )
        for device_id, address in found:
            macs[device_id].append(address)
    return macs


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
