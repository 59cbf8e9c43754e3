"""Normalisation of the two device identifiers the upstream knows.

MACs are stored in the upstream's canonical form (every documented example is
lowercase and colon-separated, `00:0c:29:f2:7a:29`); HWIDs are kept as typed,
since the upstream shows both 32 lowercase hex and 16 uppercase characters and
matches them exactly.
"""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError
from netaddr import EUI, AddrFormatError, mac_unix_expanded

MAC_CANONICAL_RE = r"^[0-9a-f]{2}(:[0-9a-f]{2}){5}$"
HWID_RE = r"^[A-Za-z0-9_-]{1,64}$"
HWID_MAX_LENGTH = 64
# One line of text: no control character (C0, DEL, C1) and no Unicode line or
# paragraph separator. Python's re and PostgreSQL's regular expressions read it alike.
ONE_LINE_RE = r"^[^\x00-\x1f\x7f-\x9f\u2028\u2029]*$"
MAC_LENGTH = len("00:0c:29:f2:7a:29")

# Only the common notations get as far as netaddr, which would otherwise also
# read integers and shapes such as "0C:29:F2" (three 16-bit groups), turning
# a truncated MAC into a different, valid-looking one.
_MAC_SHAPES = re.compile(
    r"[0-9a-f]{1,2}([:-])[0-9a-f]{1,2}(?:\1[0-9a-f]{1,2}){4}"  # 00:0c:29:f2:7a:29, 00-0c-...
    r"|[0-9a-f]{4}\.[0-9a-f]{4}\.[0-9a-f]{4}"  # 000c.29f2.7a29
    r"|[0-9a-f]{6}[-:]?[0-9a-f]{6}",  # 000c29f27a29, 000c29-f27a29
    re.IGNORECASE,
)
_SPACE_AROUND_SEPARATOR = re.compile(r"\s*([:.\-])\s*")
_HWID = re.compile(HWID_RE)
_MAC_CANONICAL = re.compile(MAC_CANONICAL_RE)
_MAC_EXAMPLE = "00:0c:29:f2:7a:29"
# Bidirectional controls (marks, embeddings, overrides, isolates) reorder the
# text after them: "invoice\u202efdp.exe" shows as "invoiceexe.pdf" in a page
# or an email subject. A name has no use for them.
_BIDI = "\u200e\u200f\u202a-\u202e\u2066-\u2069"
_BIDI_CONTROL = re.compile(f"[{_BIDI}]")
_NOT_ONE_LINE = re.compile(f"[\\x00-\\x1f\\x7f-\\x9f\\u2028\\u2029{_BIDI}]")


def _shown(value: str, limit: int = 40) -> str:
    """The typed value as a message can quote it: shortened, repr-quoted."""
    return repr(value if len(value) <= limit else value[:limit] + "…")


def normalize_mac(value: str) -> str:
    """Return `value` as a lowercase, colon-separated MAC, or raise ValidationError.

    Accepts 00:0C:29:F2:7A:29, 00-0c-29-f2-7a-29, 000c.29f2.7a29, 000c29f27a29,
    in any case and with stray spaces.
    """
    if not isinstance(value, str):
        raise ValidationError("A MAC address must be text.", code="invalid_mac")
    if _MAC_CANONICAL.fullmatch(value):
        # Already canonical: every stored MAC passes here on each write.
        return refuse_special_mac(value)
    compact = _SPACE_AROUND_SEPARATOR.sub(r"\1", value.strip())
    if not compact:
        raise ValidationError("A MAC address is empty.", code="invalid_mac")
    if _MAC_SHAPES.fullmatch(compact):
        try:
            canonical = str(EUI(compact, version=48, dialect=mac_unix_expanded))
        except (AddrFormatError, ValueError, TypeError):
            pass
        else:
            return refuse_special_mac(canonical)
    raise ValidationError(
        "%(value)s is not a MAC address: give six pairs of hex digits, "
        "for example " + _MAC_EXAMPLE + ".",
        code="invalid_mac",
        params={"value": _shown(value)},
    )


def refuse_special_mac(mac: str) -> str:
    """Return the canonical `mac`, or raise when no network card can have it.

    The broadcast address, a multicast (group) address — the lowest bit of the
    first octet set, as in 01:00:5e:00:00:01 — and the all-zero address name a
    group of hosts or none, never one device: the cloud could not match it.
    """
    if mac == "ff:ff:ff:ff:ff:ff":
        reason = "is the broadcast address (every device on the network), not one device's"
    elif int(mac[:2], 16) & 1:
        reason = (
            "is a multicast address (the first octet is odd: it names a group of devices), "
            "not one device's"
        )
    elif mac == "00:00:00:00:00:00":
        reason = "is the all-zero address, which no network card has"
    else:
        return mac
    raise ValidationError(
        "%(value)s " + reason + ": give the device's own MAC address.",
        code="special_mac",
        params={"value": repr(mac)},
    )


def split_mac_list(text: str) -> list[str]:
    """Split a field of several MACs (spaces, commas, semicolons or new lines)."""
    return [part for part in re.split(r"[\s,;]+", text or "") if part]


def normalize_mac_list(text: str) -> list[str]:
    """Normalise every MAC in `text`, keeping order; the first is the primary.

    Raises one ValidationError listing every bad or repeated entry.
    """
    macs: list[str] = []
    errors: list[ValidationError] = []
    for raw in split_mac_list(text):
        try:
            mac = normalize_mac(raw)
        except ValidationError as exc:
            errors.append(exc)
            continue
        if mac in macs:
            errors.append(
                ValidationError(
                    "%(value)s is listed twice.", code="duplicate_mac", params={"value": repr(raw)}
                )
            )
            continue
        macs.append(mac)
    if errors:
        raise ValidationError(errors)
    return macs


def normalize_hwid(value: str | None) -> str | None:
    """Return the HWID stripped of surrounding spaces, None when empty, or raise."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValidationError("A HWID must be text.", code="invalid_hwid")
    hwid = value.strip()
    if not hwid:
        return None
    if len(hwid) > HWID_MAX_LENGTH:
        raise ValidationError(
            "%(value)s is too long for a HWID: at most 64 characters.",
            code="invalid_hwid",
            params={"value": _shown(hwid)},
        )
    if not _HWID.fullmatch(hwid):
        raise ValidationError(
            "%(value)s is not a HWID: use letters, digits, '-' and '_' only "
            "(the cloud shows 32 lowercase hex or 16 uppercase characters).",
            code="invalid_hwid",
            params={"value": _shown(hwid)},
        )
    return hwid


def validate_one_line(value: str) -> None:
    """Refuse a line break, tab or other control character: names reach page titles, CSV rows and email subjects."""
    found = _NOT_ONE_LINE.search(value or "")
    if found:
        raise ValidationError(
            "Use one line of text: remove the line break, tab or control character (U+%(code)s).",
            code="not_one_line",
            params={"code": f"{ord(found.group()):04X}"},
        )


def one_line(text: str) -> str:
    """`text` for places such as email headers: bidirectional controls dropped, every line break
    and other control character made a space."""
    return _NOT_ONE_LINE.sub(" ", _BIDI_CONTROL.sub("", text))


def mac_search_digits(text: str) -> str | None:
    """The hex digits of a (partial) MAC typed in any notation, for searching.

    "0C-29-F2" gives "0c29f2". Returns None when `text` is not made of hex
    digits and separators, or has fewer than two digits.
    """
    compact = re.sub(r"[\s:.\-]", "", text or "")
    if len(compact) < 2 or len(compact) > 12 or not re.fullmatch(r"[0-9A-Fa-f]+", compact):
        return None
    return compact.lower()
