"""The columns of an inventory CSV, and the escaping that keeps a spreadsheet from running a cell."""

from __future__ import annotations

from devices.models import Device

COLUMNS = ("name", "hwid", "macs", "owner_name", "owner_email", "notes")
# What the cloud says of a device: exported to be read, ignored by the import (only a sync writes them).
CLOUD_COLUMNS = ("compliance", "exempt_mode", "last_seen", "in_cloud")
EXPORT_COLUMNS = COLUMNS + CLOUD_COLUMNS
# A quoted CSV field may hold a line break; a name may not.
ONE_LINE_COLUMNS = ("name", "owner_name")
MAX_LENGTHS = {name: Device._meta.get_field(name).max_length for name in ("name", "owner_name", "owner_email", "notes")}
# Cells starting with these are formulas to a spreadsheet: the export prefixes
# them with an apostrophe, and the import takes it off again.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def escape_cell(value: str) -> str:
    if value.startswith(_FORMULA_STARTS) or (
        value.startswith("'") and value[1:2] and value[1:].startswith(_FORMULA_STARTS + ("'",))
    ):
        return "'" + value
    return value


def unescape_cell(value: str) -> str:
    if value.startswith("'") and value[1:2] and value[1:].startswith(_FORMULA_STARTS + ("'",)):
        return value[1:]
    return value
