"""A bulk job's writes done by the database in a few set-based statements, not one row at a time.

Building 10,000 Action objects in Python and inserting them through the ORM
costs seconds; an INSERT ... SELECT over the device table costs milliseconds.
On PostgreSQL a list of ids or keys goes as one array parameter, not as
10,000 placeholders: quoting and splicing those cost about 0.1 s per statement.
"""

from __future__ import annotations

from datetime import datetime

from django.db import connection
from django.db.models import Case, CharField, F, IntegerField, Value, When
from django.db.models.functions import Cast, Concat
from django.db.models.lookups import In

from devices.inventory import in_chunks
from devices.models import DEVICE_KINDS, Action, Device


class AnyOf(In):
    """`column IN (values)`, written `column = ANY(array)` on PostgreSQL: the values as one parameter."""

    def as_postgresql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        array_type = f"{self.lhs.output_field.db_type(connection)}[]"
        return f"{lhs} = ANY(%s::{array_type})", [*lhs_params, list(self.rhs)]


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


def supersede_waiting(device_ids: list[int], kind: str, now: datetime) -> dict[int, int]:
    """Mark superseded the waiting actions `kind` replaces on these devices: {action id: device id}.

    Those are the waiting actions under the same keys (the devices' keys for
    `kind`) of another kind: a different exemption change. A kind alone in its
    key family (dhcprenew, a remediation fetch) replaces nothing, and asks nothing.
    """
    key_prefix = Action.coalesce_key_for(0, kind).removesuffix("0")
    others = [k for k in DEVICE_KINDS if k != kind and Action.coalesce_key_for(0, k).startswith(key_prefix)]
    # One look at the waiting rows first: usually none of another kind waits, and 10,000 key lookups are saved.
    if not others or not Action.objects.filter(status__in=Action.PENDING, kind__in=others).exists():
        return {}
    superseded = {}
    for chunk in in_chunks(device_ids, chunk_size()):
        keys = [f"{key_prefix}{pk}" for pk in chunk]
        waiting = Action.objects.filter(AnyOf(F("coalesce_key"), keys), status__in=Action.PENDING, kind__in=others)
        found = dict(waiting.values_list("pk", "device_id"))
        if found:
            # Only rows still waiting: one a drainer claimed meanwhile is on its way.
            Action.objects.filter(AnyOf(F("pk"), list(found)), status__in=Action.PENDING).update(
                status=Action.Status.SUPERSEDED, finished_at=now)
        superseded.update(found)
    return superseded


def insert_pending(device_ids: list[int], prototype: Action, key_prefix: str) -> dict[int, int]:
    """Insert a copy of `prototype` for each existing device in `device_ids`: {device id: new action id}.

    A device that already has a pending action under its key (`key_prefix` +
    id) is skipped by the one-pending-action-per-key constraint itself, so a
    click queued at the same moment never fails the whole job.
    """
    values = _column_values(prototype, key_prefix)
    names = {column: f"v{i}" for i, column in enumerate(values)}
    columns = ", ".join(connection.ops.quote_name(column) for column in values)
    table = connection.ops.quote_name(Action._meta.db_table)
    inserted = {}
    with connection.cursor() as cursor:
        for chunk in in_chunks(device_ids, chunk_size()):
            select = (
                Device.objects.filter(AnyOf(F("pk"), chunk)).order_by("pk")
                .annotate(**{names[column]: expression for column, expression in values.items()})
                .values_list(*names.values())
            )
            sql, params = select.query.sql_with_params()
            cursor.execute(f"INSERT INTO {table} ({columns}) {sql} ON CONFLICT DO NOTHING RETURNING device_id, id", params)
            inserted.update(cursor.fetchall())
    return inserted


def link_superseded(replaced_by: dict[int, int]) -> None:
    """Point each superseded action at the action that replaced it: {superseded id: new id}.

    The pairs come from the INSERT itself. Found by a join instead, the new
    rows were planned from statistics that did not count them yet: a loop of
    10,000 over 10,000 rows, minutes on PostgreSQL.
    """
    table = connection.ops.quote_name(Action._meta.db_table)
    only = f"{table}.status = %s AND {table}.superseded_by_id IS NULL"
    pairs = list(replaced_by.items())
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                f"UPDATE {table} SET superseded_by_id = pair.new FROM unnest(%s::bigint[], %s::bigint[])"
                f" AS pair(old, new) WHERE {table}.id = pair.old AND {only}",
                [[old for old, _ in pairs], [new for _, new in pairs], Action.Status.SUPERSEDED.value],
            )
            return
        for chunk in in_chunks(pairs, chunk_size() // 2):
            cases = " ".join(["WHEN %s THEN %s"] * len(chunk))
            placeholders = ", ".join(["%s"] * len(chunk))
            cursor.execute(
                f"UPDATE {table} SET superseded_by_id = CASE id {cases} END WHERE id IN ({placeholders}) AND {only}",
                [*(value for pair in chunk for value in pair), *(old for old, _ in chunk),
                 Action.Status.SUPERSEDED.value],
            )
