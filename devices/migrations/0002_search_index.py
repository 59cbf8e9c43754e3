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

# The searchable text of one device: name, HWID, and each MAC in both the
# colon form and bare digits, so "0c29f2" and "0c:29:f2" both hit an index.
_TERMS = """
    SELECT d.id, d.name || char(10) || coalesce(d.hwid, '') || char(10) || coalesce(
        (SELECT group_concat(m.address || ' ' || replace(m.address, ':', ''), ' ')
         FROM devices_macaddress m WHERE m.device_id = d.id), '')
    FROM devices_device d WHERE d.id = {target}
"""


def _refresh(target: str) -> str:
    return (
        f"DELETE FROM devices_search WHERE rowid = {target};\n"
        f"INSERT INTO devices_search(rowid, terms) {_TERMS.format(target=target)};\n"
    )


SQLITE_FORWARD = [
    "CREATE VIRTUAL TABLE devices_search USING fts5(terms, tokenize='trigram')",
    f"CREATE TRIGGER devices_search_device_insert AFTER INSERT ON devices_device BEGIN {_refresh('new.id')} END",
    f"CREATE TRIGGER devices_search_device_update AFTER UPDATE OF name, hwid ON devices_device BEGIN {_refresh('old.id')} {_refresh('new.id')} END",
    "CREATE TRIGGER devices_search_device_delete AFTER DELETE ON devices_device BEGIN DELETE FROM devices_search WHERE rowid = old.id; END",
    f"CREATE TRIGGER devices_search_mac_insert AFTER INSERT ON devices_macaddress BEGIN {_refresh('new.device_id')} END",
    f"CREATE TRIGGER devices_search_mac_update AFTER UPDATE ON devices_macaddress BEGIN {_refresh('old.device_id')} {_refresh('new.device_id')} END",
    f"CREATE TRIGGER devices_search_mac_delete AFTER DELETE ON devices_macaddress BEGIN {_refresh('old.device_id')} END",
    "INSERT INTO devices_search(rowid, terms) " + _TERMS.replace("WHERE d.id = {target}", ""),
]
SQLITE_BACKWARD = [
    *(f"DROP TRIGGER IF EXISTS devices_search_{name}" for name in
      ["device_insert", "device_update", "device_delete", "mac_insert", "mac_update", "mac_delete"]),
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


class Migration(migrations.Migration):
    dependencies = [("devices", "0001_initial")]

    operations = [
        migrations.RunPython(
            _run({"sqlite": SQLITE_FORWARD, "postgresql": POSTGRES_FORWARD}),
            _run({"sqlite": SQLITE_BACKWARD, "postgresql": POSTGRES_BACKWARD}),
        )
    ]
