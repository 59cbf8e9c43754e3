"""SQLite's trigram search table (FTS5) and the triggers that keep it current.

Django rebuilds a table on SQLite to alter it (create new, copy, drop old,
rename), and SQLite refuses that rename while a trigger names the table. So
the triggers are dropped before every `migrate` and recreated after it, with
the index rebuilt from the tables (about 2 s at 100,000 devices). See
devices/apps.py. PostgreSQL uses pg_trgm indexes instead (migration 0002).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

# The searchable text of one device: name, HWID, owner name and email, and
# each MAC in both the colon form and bare digits, so "0c29f2" and "0c:29:f2"
# both hit the index.
_TERMS = """
    SELECT d.id, d.name || char(10) || coalesce(d.hwid, '') || char(10) || d.owner_name || char(10)
        || d.owner_email || char(10) || coalesce(
        (SELECT group_concat(m.address || ' ' || replace(m.address, ':', ''), ' ')
         FROM devices_macaddress m WHERE m.device_id = d.id), '')
    FROM devices_device d
"""
TRIGGERS = ("device_insert", "device_update", "device_delete", "mac_insert", "mac_update", "mac_delete")


def _refresh(target: str) -> str:
    return (
        f"DELETE FROM devices_search WHERE rowid = {target};\n"
        f"INSERT INTO devices_search(rowid, terms) {_TERMS} WHERE d.id = {target};\n"
    )


CREATE_TABLE = "CREATE VIRTUAL TABLE IF NOT EXISTS devices_search USING fts5(terms, tokenize='trigram')"
CREATE_TRIGGERS = [
    f"CREATE TRIGGER devices_search_device_insert AFTER INSERT ON devices_device BEGIN {_refresh('new.id')} END",
    f"CREATE TRIGGER devices_search_device_update AFTER UPDATE OF name, hwid, owner_name, owner_email ON devices_device BEGIN {_refresh('old.id')} {_refresh('new.id')} END",
    "CREATE TRIGGER devices_search_device_delete AFTER DELETE ON devices_device BEGIN DELETE FROM devices_search WHERE rowid = old.id; END",
    f"CREATE TRIGGER devices_search_mac_insert AFTER INSERT ON devices_macaddress BEGIN {_refresh('new.device_id')} END",
    f"CREATE TRIGGER devices_search_mac_update AFTER UPDATE ON devices_macaddress BEGIN {_refresh('old.device_id')} {_refresh('new.device_id')} END",
    f"CREATE TRIGGER devices_search_mac_delete AFTER DELETE ON devices_macaddress BEGIN {_refresh('old.device_id')} END",
]


def _has_table(cursor, name: str) -> bool:
    cursor.execute("SELECT 1 FROM sqlite_master WHERE name = %s", [name])
    return cursor.fetchone() is not None


def drop_triggers(connection) -> None:
    if connection.vendor != "sqlite":
        return
    with connection.cursor() as cursor:
        for name in TRIGGERS:
            cursor.execute(f"DROP TRIGGER IF EXISTS devices_search_{name}")


def install(connection) -> None:
    """Create the table if needed, (re)create the triggers, rebuild the index."""
    if connection.vendor != "sqlite":
        return
    with connection.cursor() as cursor:
        if not (_has_table(cursor, "devices_device") and _has_table(cursor, "devices_macaddress")):
            return
        cursor.execute(CREATE_TABLE)
        for name in TRIGGERS:
            cursor.execute(f"DROP TRIGGER IF EXISTS devices_search_{name}")
        for statement in CREATE_TRIGGERS:
            cursor.execute(statement)
        cursor.execute("DELETE FROM devices_search")
        cursor.execute(f"INSERT INTO devices_search(rowid, terms) {_TERMS}")


@contextmanager
def new_devices_indexed_at_end(connection, first_id: int, last_id: int) -> Iterator[None]:
    """Index the new devices first_id..last_id, and their MACs, in one statement after the block.

    For bulk inserts of new devices, inside a transaction: the insert triggers
    step aside for the block (other connections never see them missing), since
    row by row they cost four times what one INSERT ... SELECT does.
    """
    if connection.vendor != "sqlite":
        yield
        return
    paused = [index for index, name in enumerate(TRIGGERS) if name.endswith("_insert")]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM sqlite_master WHERE type = 'trigger' AND name IN (%s, %s)",
            [f"devices_search_{TRIGGERS[index]}" for index in paused],
        )
        if cursor.fetchone()[0] != len(paused):  # no index to keep (a database being migrated)
            yield
            return
        for index in paused:
            cursor.execute(f"DROP TRIGGER devices_search_{TRIGGERS[index]}")
    yield
    with connection.cursor() as cursor:
        for index in paused:
            cursor.execute(CREATE_TRIGGERS[index])
        cursor.execute(f"INSERT INTO devices_search(rowid, terms) {_TERMS} WHERE d.id BETWEEN %s AND %s",
                       [first_id, last_id])
