"""Rows written in bulk without a model instance per row: new devices with their MACs, audit entries.

At 100,000 rows the ORM's bulk_create spends most of an import's time
building instances and SQL. Here a new device's id is taken first
(PostgreSQL's sequence; on SQLite the write lock the transaction holds),
then PostgreSQL takes the rows by COPY and SQLite by one prepared statement
per table.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from django.db import connection, models

from devices.models import Device, MacAddress
from devices.search_index import new_devices_indexed_at_end

# The Device columns the caller gives, in the order of its tuples.
VALUE_FIELDS = ("name", "hwid", "owner_name", "owner_email", "notes")
# Values the database takes as Python gives them; any other field's are prepared (a JSON document).
_PLAIN_FIELDS = (models.CharField, models.TextField, models.IntegerField, models.BooleanField, models.ForeignKey)


def insert_devices(values: Sequence[tuple], macs: Sequence[Sequence[str]], now: datetime) -> list[int]:
    """Insert one device per tuple of VALUE_FIELDS, with its MACs (the first primary); their ids, in order.

    Values must be valid and normalised already. Call inside a transaction:
    on SQLite the ids are read under its write lock.
    """
    if not values:
        return []
    assert connection.in_atomic_block, "insert_devices needs a transaction"
    ids = _take_ids(len(values))
    columns, device_rows = _rows(Device, ("id", *VALUE_FIELDS), [(pk, *row) for pk, row in zip(ids, values, strict=True)], now)
    mac_rows = [(pk, mac, i == 0) for pk, addresses in zip(ids, macs, strict=True) for i, mac in enumerate(addresses)]
    mac_columns = [MacAddress._meta.get_field(name).column for name in ("device", "address", "is_primary")]
    with new_devices_indexed_at_end(connection, ids[0], ids[-1]):
        _write(Device._meta.db_table, columns, device_rows)
        _write(MacAddress._meta.db_table, mac_columns, mac_rows)
    return ids


def insert_rows(model: type[models.Model], names: Sequence[str], values: Sequence[tuple], now: datetime,
                **fixed) -> None:
    """Insert one row of `model` per tuple of the fields `names`, with the same `fixed` field values on each.

    Every other column is as a new instance would have it (its default; `now`
    for auto_now and auto_now_add); the database numbers the rows. The values
    must be valid already: nothing is checked here.
    """
    if values:
        _write(model._meta.db_table, *_rows(model, names, values, now, fixed, with_pk=False))


def _rows(model: type[models.Model], names: Sequence[str], values: Sequence[tuple], now: datetime,
          fixed: dict | None = None, with_pk: bool = True) -> tuple[list[str], list[tuple]]:
    """The columns and database rows of `model` for these tuples of the fields `names`, every other field filled in."""
    fields = [field for field in model._meta.concrete_fields if with_pk or not field.primary_key]
    given = {model._meta.get_field(name).name: index for index, name in enumerate(names)}
    fixed = {model._meta.get_field(name).name: value for name, value in (fixed or {}).items()}
    # Per column: the tuple's index and the field when its value needs preparing, or one value for every row.
    plan = []
    for field in fields:
        if field.name in given:
            plan.append((given[field.name], None if isinstance(field, _PLAIN_FIELDS) else field, None))
        else:
            stamped = getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False)
            value = fixed[field.name] if field.name in fixed else now if stamped else field.get_default()
            plan.append((None, None, field.get_db_prep_save(value, connection)))
    rows = [tuple(value if index is None else row[index] if prepare is None
                  else prepare.get_db_prep_save(row[index], connection) for index, prepare, value in plan)
            for row in values]
    return [field.column for field in fields], rows


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
