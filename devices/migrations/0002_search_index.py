"""Substring search that uses an index: trigrams.

The device list searches name, HWID and MAC anywhere in the string, which a
B-tree index cannot serve; at 100,000 devices a scan costs ~100 ms a query,
and a page needs two (count and rows).
- SQLite: an FTS5 table with the trigram tokenizer holds each device's
  searchable text, kept in step by triggers (so the ORM, bulk imports, the
  admin and raw SQL all keep it current).
- PostgreSQL: pg_trgm GIN indexes on the columns themselves serve the
  ordinary icontains/contains lookups; no extra table.
"""

from django.db import migrations

from devices import search_index

SQLITE_BACKWARD = [
    *(f"DROP TRIGGER IF EXISTS devices_search_{name}" for name in search_index.TRIGGERS),
    "DROP TABLE IF EXISTS devices_search",
]

POSTGRES_FORWARD = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    # Django's icontains compiles to UPPER(col::text) LIKE UPPER(%s).
    'CREATE INDEX devices_device_name_trgm ON devices_device USING gin (upper("name"::text) gin_trgm_ops)',
    'CREATE INDEX devices_device_hwid_trgm ON devices_device USING gin (upper("hwid"::text) gin_trgm_ops)',
    'CREATE INDEX devices_mac_address_trgm ON devices_macaddress USING gin ("address" gin_trgm_ops)',
]
POSTGRES_BACKWARD = [
    "DROP INDEX IF EXISTS devices_device_name_trgm",
    "DROP INDEX IF EXISTS devices_device_hwid_trgm",
    "DROP INDEX IF EXISTS devices_mac_address_trgm",
]


def _run(statements_by_vendor):
    def run(apps, schema_editor):
        for statement in statements_by_vendor.get(schema_editor.connection.vendor, []):
            schema_editor.execute(statement)

    return run


def _install_sqlite(apps, schema_editor):
    # Only the table: its triggers and contents are put in place after every
    # migrate (devices/apps.py), once no migration will rebuild the tables.
    if schema_editor.connection.vendor == "sqlite":
        schema_editor.execute(search_index.CREATE_TABLE)


class Migration(migrations.Migration):
    dependencies = [("devices", "0001_initial")]

    operations = [
        migrations.RunPython(_install_sqlite, _run({"sqlite": SQLITE_BACKWARD})),
        migrations.RunPython(
            _run({"postgresql": POSTGRES_FORWARD}),
            _run({"sqlite": SQLITE_BACKWARD, "postgresql": POSTGRES_BACKWARD}),
        )
    ]
