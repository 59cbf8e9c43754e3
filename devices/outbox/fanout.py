"""A bulk job's writes done by the database in a few set-based statements, not one row at a time.

Building 10,000 Action objects in Python and inserting them through the ORM
costs seconds; an INSERT ... SELECT over the device table costs milliseconds.
"""

from __future__ import annotations

from django.db import connection
from django.db.models import Case, CharField, F, IntegerField, Value, When
from django.db.models.functions import Cast, Concat

from devices.inventory import in_chunks
from devices.models import Action, Device


def chunk_size() -> int:
    """Ids per statement: SQLite builds of old allow 999 variables in one; PostgreSQL has no such limit."""
    return 900 if connection.features.max_query_params else 50_000


def _column_values(prototype: Action, key_prefix: str) -> dict:
    """What each column of a new action holds: the prototype's values, the device's id and key."""
    values = {}
    for field in Action._meta.concrete_fields:
        if field.primary_key:
            continue
        if field.attname == "device_id":
            values[field.column] = F("pk")
        elif field.attname == "opt":
            # The identifier type the call will use, so that ETAs group batches without a join.
            values[field.column] = Case(When(hwid__isnull=False, then=Value(1)), default=Value(0),
                                        output_field=IntegerField())
        elif field.attname == "coalesce_key":
            values[field.column] = Concat(Value(key_prefix), Cast("pk", CharField()), output_field=CharField())
        else:
            # pre_save fills auto_now_add; every other field keeps the prototype's value or default.
            value = field.pre_save(prototype, add=True)
            values[field.column] = Value(value, output_field=field.target_field if field.is_relation else field)
    return values


def insert_pending(device_ids: list[int], prototype: Action, key_prefix: str) -> int:
    """Insert a copy of `prototype` for each existing device in `device_ids`; how many went in.

    A device that already has a pending action under its key (`key_prefix` +
    id) is skipped by the one-pending-action-per-key constraint itself, so a
    click queued at the same moment never fails the whole job.
    """
    values = _column_values(prototype, key_prefix)
    names = {column: f"v{i}" for i, column in enumerate(values)}
    columns = ", ".join(connection.ops.quote_name(column) for column in values)
    inserted = 0
    with connection.cursor() as cursor:
        for chunk in in_chunks(device_ids, chunk_size()):
            select = (
                Device.objects.filter(pk__in=chunk).order_by("pk")
                .annotate(**{names[column]: expression for column, expression in values.items()})
                .values_list(*names.values())
            )
            sql, params = select.query.sql_with_params()
            cursor.execute(
                f"INSERT INTO {connection.ops.quote_name(Action._meta.db_table)} ({columns}) {sql} ON CONFLICT DO NOTHING",
                params,
            )
            inserted += cursor.rowcount
    return inserted


def link_superseded(superseded_ids: list[int], job_id: int) -> None:
    """Point each superseded action at the job's action that replaced it (same key)."""
    table = connection.ops.quote_name(Action._meta.db_table)
    # Written out, statuses included, as the partial unique index on the key
    # is declared: SQLite uses that index only for a literal match.
    pending = ", ".join(f"'{status.value}'" for status in Action.PENDING)
    for chunk in in_chunks(superseded_ids, chunk_size()):
        placeholders = ", ".join(["%s"] * len(chunk))
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {table} SET superseded_by_id = fresh.id FROM {table} AS fresh"
                f" WHERE fresh.coalesce_key = {table}.coalesce_key AND fresh.status IN ({pending})"
                f" AND fresh.bulk_job_id = %s AND {table}.id IN ({placeholders})"
                f" AND {table}.status = %s AND {table}.superseded_by_id IS NULL",
                [job_id, *chunk, Action.Status.SUPERSEDED.value],
            )
