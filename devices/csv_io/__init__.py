"""CSV import and export of the inventory.

Columns: name,hwid,macs,owner_name,owner_email,notes. `macs` holds several
MACs separated by spaces, the first being the primary. An export imports back
unchanged. Import is two steps: `plan_import` validates every row against the
file and the database without writing; `apply_import` validates again, then
writes all rows (or only the valid ones) in short transactions, each
re-planned under the lock so it is written as planned. Both read the file row
by row and keep counts, not rows.
"""

from devices.csv_io.applying import (
    ImportInterrupted,
    ImportRejected,
    ImportResult,
    apply_import,
)
from devices.csv_io.cells import CLOUD_COLUMNS, COLUMNS, EXPORT_COLUMNS, escape_cell, unescape_cell
from devices.csv_io.export import csv_lines, device_rows, iter_devices_csv
from devices.csv_io.planning import FieldChange, ImportPlan, PlannedRow, plan_import
from devices.csv_io.reading import CsvFormatError, RawRow, check_readable, decode_upload, read_rows

__all__ = [
    "CLOUD_COLUMNS", "COLUMNS", "CsvFormatError", "EXPORT_COLUMNS", "FieldChange", "ImportInterrupted", "ImportPlan", "ImportRejected",
    "ImportResult", "PlannedRow", "RawRow", "apply_import", "check_readable", "csv_lines", "decode_upload",
    "device_rows", "escape_cell", "iter_devices_csv", "plan_import", "read_rows", "unescape_cell",
]
