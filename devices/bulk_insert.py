"""New devices and their MAC rows written in bulk, without a model instance per row.

At 100,000 rows the ORM's bulk_create spends most of an import's time
building instances and SQL. Here the ids are taken first (PostgreSQL's
sequence; on SQLite the write lock the transaction holds), then PostgreSQL
takes the rows by COPY and SQLite by one prepared statement per table.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from django.db import connection

from devices.models import Device, MacAddress
from devices.search_index import new_devices_indexed_at_end

# The Device columns the caller gives, in the order of its tuples.
VALUE_FIELDS = ("name", "hwid", "owner_name", "owner_email", "notes")
_STAMPS = ("created_at", "updated_at")


def insert_devices(values: Sequence[tuple], macs: Sequence[Sequence[str]], now: datetime) -> list[int]:
    """Insert one device per tuple of VALUE_FIELDS, with its MACs (the first primary); their ids, in order.

    Values must be valid and normalised already. Call inside a transaction:
    on SQLite the ids are read under its write lock.
    """
    if not values:
        return []
    assert connection.in_atomic_block, "insert_devices needs a transaction"
    ids = _take_ids(len(values))
    fields = [field for field in Device._meta.concrete_fields if not field.primary_key]
    # Every other column as a new Device() would have it.
    fixed = {
        field.attname: field.get_db_prep_save(now if field.name in _STAMPS else field.get_default(), connection)
        for field in fields
        if field.name not in VALUE_FIELDS
    }
    position = {name: index for index, name in enumerate(VALUE_FIELDS)}
    columns = ["id", *(field.column for field in fields)]
    plan = [(position[field.name], None) if field.name in position else (None, fixed[field.attname])
            for field in fields]
    device_rows = [(pk, *(row[index] if index is not None else value for index, value in plan))
                   for pk, row in zip(ids, values)]
    mac_rows = [(pk, mac, i == 0) for pk, addresses in zip(ids, macs) for i, mac in enumerate(addresses)]
    mac_columns = [MacAddress._meta.get_field(name).column for name in ("device", "address", "is_primary")]
    with new_devices_indexed_at_end(connection, ids[0], ids[-1]):
        _write(Device._meta.db_table, columns, device_rows)
        _write(MacAddress._meta.db_table, mac_columns, mac_rows)
    return ids


def _take_ids(count: int) -> list[int]:
    table, column = Device._meta.db_table, Device._meta.pk.column
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
                           [table, column, count])
            return [row[0] for row in cursor.fetchall()]
        # AUTOINCREMENT: never an id used before, even by a deleted device.
        cursor.execute(
            f"SELECT max(coalesce((SELECT seq FROM sqlite_sequence WHERE name = %s), 0), "
            f"coalesce((SELECT max({column}) FROM {table}), 0))",
            [table],
        )
        last = cursor.fetchone()[0]
    return list(range(last + 1, last + 1 + count))


def _write(table: str, columns: list[str], rows: list[tuple]) -> None:
    quote = connection.ops.quote_name
    names = ", ".join(quote(column) for column in columns)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with connection.wrap_database_errors, cursor.cursor.copy(
                f"COPY {quote(table)} ({names}) FROM STDIN"
            ) as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            cursor.executemany(
                f"INSERT INTO {quote(table)} ({names}) VALUES ({', '.join(['%s'] * len(columns))})", rows
            )
