"""Owner search and the owner sort, indexed on PostgreSQL.

- Search finds devices by owner name and email: pg_trgm indexes on both, in
  the upper(...) form the search's LIKE compiles to (as for name and HWID,
  migration 0002). SQLite's trigram table takes the two columns in its text,
  rebuilt after this migrate (devices/search_index.py).
- The owner sort puts devices without an owner last in both directions: one
  index per direction on the expression it sorts by (devices.filters.OWNER_SHOWN),
  since a backward scan of one would put them first.
"""

from django.db import migrations

OWNER_SHOWN = """COALESCE(NULLIF("owner_name", ''), NULLIF("owner_email", ''))"""
FORWARD = [
    'CREATE INDEX devices_device_owner_name_trgm ON devices_device USING gin (upper("owner_name"::text) gin_trgm_ops)',
    'CREATE INDEX devices_device_owner_email_trgm ON devices_device USING gin (upper("owner_email"::text) gin_trgm_ops)',
    f'CREATE INDEX device_owner_shown_asc_idx ON devices_device (({OWNER_SHOWN}) ASC NULLS LAST, "id" ASC)',
    f'CREATE INDEX device_owner_shown_desc_idx ON devices_device (({OWNER_SHOWN}) DESC NULLS LAST, "id" DESC)',
]
BACKWARD = [
    "DROP INDEX IF EXISTS devices_device_owner_name_trgm",
    "DROP INDEX IF EXISTS devices_device_owner_email_trgm",
    "DROP INDEX IF EXISTS device_owner_shown_asc_idx",
    "DROP INDEX IF EXISTS device_owner_shown_desc_idx",
]


def _run(statements):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            for statement in statements:
                schema_editor.execute(statement)

    return run


class Migration(migrations.Migration):
    dependencies = [("devices", "0022_connection_check")]

    operations = [migrations.RunPython(_run(FORWARD), _run(BACKWARD))]
