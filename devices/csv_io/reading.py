"""Reading an uploaded inventory CSV: its encoding, its header, its rows one at a time."""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass

from devices.csv_io.cells import CLOUD_COLUMNS, COLUMNS, EXPORT_COLUMNS, unescape_cell

# The key under which a row that cannot be read carries its message.
ROW_ERROR = "__error__"
# An inventory has ten columns: a header far wider is not one, and is refused
# before anything is done per column.
MAX_COLUMNS = 100
# The longest header line given to the CSV reader: a hundred long column names.
# A longer one is refused before the reader makes a string of each of its
# millions of cells (9 MB of commas took seconds).
MAX_HEADER_CHARS = 100 * MAX_COLUMNS
# Names an error message lists before it says "and N more".
LISTED_NAMES = 5


class CsvFormatError(ValueError):
    """The file as a whole cannot be read as an inventory CSV."""


def decode_upload(data: bytes) -> str:
    """UTF-8 text with or without a byte-order mark, or CsvFormatError."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise CsvFormatError(
            f"The file is not UTF-8 text (byte 0x{data[exc.start]:02x} at position {exc.start}). "
            "Save it as “CSV UTF-8” and upload it again."
        ) from None


def _sniff_delimiter(header_line: str) -> str:
    return ";" if header_line.count(";") > header_line.count(",") else ","


@dataclass
class RawRow:
    line: int
    values: dict[str, str]  # unescaped cells by column; {ROW_ERROR: message} when unreadable


def iter_rows(text: str) -> tuple[list[str], Iterator[RawRow]]:
    """The header's columns and an iterator over the non-blank rows, or CsvFormatError.

    The rows are read as they are asked for, so a file is never held twice:
    a line that is not CSV, or a file without rows, raises CsvFormatError
    when the iteration reaches it.
    """
    text = text.lstrip("\ufeff")
    if "\x00" in text:
        raise CsvFormatError("The file contains NUL bytes: it is not a CSV text file.")
    first_line = _first_line(text)
    if first_line is None:
        raise CsvFormatError("The file is empty.")
    delimiter = _sniff_delimiter(first_line)
    _check_header_line(first_line, delimiter)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    columns = None
    for cells in _cells(reader):
        if any(cell.strip() for cell in cells):
            _check_width(len(cells))
            columns = [cell.strip().lower() for cell in cells]
            break
    if columns is None:
        raise CsvFormatError("The file is empty.")
    _check_header(columns)
    return columns, _rows(reader, columns)


def _first_line(text: str) -> str | None:
    """The first non-blank line, as str.splitlines() cuts lines, without splitting the whole file."""
    size = 1 << 16
    while True:
        lines = text[:size].splitlines()
        whole = size >= len(text)
        for line in lines if whole else lines[:-1]:  # the last line of a prefix may be cut short
            if line.strip():
                return line
        if whole:
            return None
        size *= 4


def _cells(reader) -> Iterator[list[str]]:
    """The reader's records; an unreadable one is reported at the line it starts on.

    A quote never closed makes the reader run on to the field size limit,
    tens of thousands of lines later: the line it stopped at says nothing.
    """
    start = reader.line_num + 1
    try:
        for cells in reader:
            yield cells
            start = reader.line_num + 1
    except csv.Error as exc:
        if "field limit" in str(exc):
            raise CsvFormatError(
                f"Line {start} cannot be read as CSV: a quote opened there is never closed "
                f"(or a field is longer than {csv.field_size_limit():,} characters)."
            ) from None
        raise CsvFormatError(f"Line {start} cannot be read as CSV: {exc}.") from None


def _rows(reader, columns: list[str]) -> Iterator[RawRow]:
    width = len(columns)
    found = False
    for cells in _cells(reader):
        if not any(cell.strip() for cell in cells):
            continue
        found = True
        if len(cells) != width:
            yield RawRow(reader.line_num, {ROW_ERROR: f"has {len(cells)} fields; the header has {width}."})
            continue
        values = dict(zip(columns, cells, strict=True))
        # Most rows hold no apostrophe: unescaping only those is a third of the reading time.
        if "'" in "".join(cells):
            values = {column: unescape_cell(cell) for column, cell in values.items()}
        yield RawRow(reader.line_num, values)
    if not found:
        raise CsvFormatError("The file has a header but no device rows.")


def read_rows(text: str) -> tuple[list[str], list[RawRow]]:
    """The header's columns and every non-blank row, or CsvFormatError."""
    columns, rows = iter_rows(text)
    return columns, list(rows)


def check_readable(text: str) -> None:
    """Raise CsvFormatError unless `text` reads as an inventory CSV to its end; keeps no row."""
    columns, rows = iter_rows(text)
    for _ in rows:
        pass


def _listed(names: list[str]) -> str:
    """A few names, each shortened, then "and N more": a message stays short whatever the header."""
    shown = ", ".join(repr(name if len(name) <= 40 else name[:40] + "…") for name in names[:LISTED_NAMES])
    rest = len(names) - LISTED_NAMES
    return f"{shown} and {rest:,} more" if rest > 0 else shown


def _check_width(width: int) -> None:
    if width > MAX_COLUMNS:
        raise CsvFormatError(f"The header has {width:,} columns; an inventory CSV has at most "
                             f"{MAX_COLUMNS}. The columns are: {','.join(COLUMNS)}.")


def _check_header_line(line: str, delimiter: str) -> None:
    if len(line) <= MAX_HEADER_CHARS:
        return
    if '"' not in line:  # no quoted cell: every delimiter starts a column
        _check_width(line.count(delimiter) + 1)
    raise CsvFormatError(f"The header line is {len(line):,} characters long; an inventory CSV's header "
                         f"is at most {MAX_HEADER_CHARS:,}. The columns are: {','.join(COLUMNS)}.")


def _check_header(columns: list[str]) -> None:
    unknown = [c for c in columns if c not in EXPORT_COLUMNS]
    if unknown:
        raise CsvFormatError(f"Unknown column(s) in the header: {_listed(unknown)}. "
                             f"The columns are: {','.join(COLUMNS)} (and, ignored, {','.join(CLOUD_COLUMNS)}).")
    repeated = sorted(name for name, n in Counter(columns).items() if n > 1)
    if repeated:
        raise CsvFormatError("Column(s) appear twice in the header: " + ", ".join(repeated) + ".")
    if "hwid" not in columns and "macs" not in columns:
        raise CsvFormatError("The header needs a hwid or a macs column, to match rows to devices.")
