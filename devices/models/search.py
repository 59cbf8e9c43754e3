"""Device search: one indexed lookup per column, a MAC typed in any notation."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import connection, models
from django.db.models.expressions import RawSQL

from devices.validators import mac_search_digits, normalize_mac


def mac_fragments(digits: str) -> list[str]:
    """How hex digits ("0c29f") can appear inside a colon-form MAC.

    A run of digits starts on a byte boundary or one digit into a byte, so it
    shows up in `00:0c:29:f2:7a:29` in one of two shapes ("0c:29:f", "0:c2:9f").
    Matching either keeps MAC search on the plain, indexed address column.
    """
    shapes = []
    for offset in (0, 1):
        head, rest = digits[:offset], digits[offset:]
        pairs = [rest[i : i + 2] for i in range(0, len(rest), 2)]
        shapes.append(":".join(([head] if head else []) + pairs))
    return list(dict.fromkeys(shape for shape in shapes if shape))


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


class DeviceQuerySet(models.QuerySet):
    def search(self, text: str) -> DeviceQuerySet:
        """Devices whose name, HWID, owner name or owner email contains `text` (any case), or with a MAC
        containing it typed in any notation ("00-0C-29", "0c29f2").

        The match is a UNION of one indexed lookup per column, so each branch
        uses its own trigram index instead of the planner scanning a table to
        evaluate an OR.
        """
        text = text.strip()
        if not text:
            return self
        try:
            full_mac = normalize_mac(text)
        except ValidationError:
            full_mac = None
        digits = None if full_mac else mac_search_digits(text)
        if connection.vendor == "sqlite":
            selects, params = self._sqlite_branches(text, digits)
        else:
            selects, params = self._sql_branches(text, digits)
        if full_mac:
            selects.append("SELECT device_id FROM devices_macaddress WHERE address = %s")
            params.append(full_mac)
        return self.filter(pk__in=RawSQL(" UNION ".join(selects), params))

    @staticmethod
    def _sqlite_branches(text: str, digits: str | None) -> tuple[list[str], list[str]]:
        # The FTS5 trigram index serves LIKE only without an ESCAPE clause, so
        # "%" and "_" typed by the user act as wildcards there; instr() then
        # keeps exact substrings only. lower() on both sides folds ASCII, as
        # Django's icontains does on SQLite.
        needles = [text] + ([digits] if digits and digits != text.lower() else [])
        branch = "SELECT rowid FROM devices_search WHERE terms LIKE %s AND instr(lower(terms), lower(%s)) > 0"
        params: list[str] = []
        for needle in needles:
            params += [f"%{needle}%", needle]
        return [branch] * len(needles), params

    @staticmethod
    def _sql_branches(text: str, digits: str | None) -> tuple[list[str], list[str]]:
        # Written as Django's icontains/contains compile, so that the pg_trgm
        # expression indexes of migrations 0002 and 0011 apply.
        pattern = f"%{_like_escape(text)}%"
        # Owner name and email: operators look people up (trigram indexes of migration 0020).
        selects = [
            f'SELECT id FROM devices_device WHERE UPPER("{column}"::text) LIKE UPPER(%s)'
            for column in ("name", "hwid", "owner_name", "owner_email")
        ]
        params = [pattern] * len(selects)
        for fragment in mac_fragments(digits) if digits else []:
            selects.append('SELECT device_id FROM devices_macaddress WHERE UPPER("address"::text) LIKE UPPER(%s)')
            params.append(f"%{fragment}%")
        return selects, params
