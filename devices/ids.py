"""Reading a row id or a page number from a query or a form: ASCII digits, in a database's range.

`str.isdigit()` is true of "²" and of Arabic-Indic or full-width digits, which
int() then refuses or reads; a number past int64 overflows both databases.
Every view reads its numbers here, so each refuses the same inputs the same way.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.core.exceptions import BadRequest

# The largest id a BigAutoField (and SQLite's INTEGER) holds.
MAX_ID = 2**63 - 1


class BadId(BadRequest):
    """A value that is not an id: answered 400 with its message (see gearsdash.urls.bad_request)."""


def parse_id(value: object, *, minimum: int = 1) -> int | None:
    """The int64 from `minimum` up that `value` spells in ASCII digits, or None.

    `minimum=0` for a cursor, where 0 means "before the first".
    """
    if not isinstance(value, str) or not (value.isascii() and value.isdigit()) or len(value) > 19:
        return None
    number = int(value)
    return number if minimum <= number <= MAX_ID else None


def require_id(name: str, value: str) -> int:
    """parse_id, or BadId naming the field and what was sent."""
    number = parse_id(value)
    if number is None:
        raise BadId(f"{name}={value[:40]!r} is not a record number (a whole number from 1 to {MAX_ID:,}).")
    return number


def require_ids(name: str, values: Iterable[str]) -> list[int]:
    """Every value as an id, or BadId for the first that is not one."""
    return [require_id(name, value) for value in values]
