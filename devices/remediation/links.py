"""Remediation links: which ones the console may render as links, and how to share them.

A misconfigured or compromised upstream must not be able to plant a
`javascript:` or phishing link in the console: only links on the upstream
itself (the scheme and host of GEARS_BASE_URL, so the simulator's work in the
demo) or https on gears.opswat.com are links; anything else is text.
"""

from __future__ import annotations

from urllib.parse import quote, urlsplit

import segno
from django.conf import settings

from devices.validators import one_line

OPSWAT_HOST = "gears.opswat.com"
# Bytes the largest QR code (version 40) holds at error level M, the level used here.
QR_MAX_BYTES = 2331


def _origin(url: str) -> tuple[str, str, int | None] | None:
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    if parts.username or parts.password:
        return None  # user@host links hide where they really go
    return parts.scheme.lower(), (parts.hostname or "").lower(), port


def is_trusted_link(url: str, base_url: str | None = None) -> bool:
    """True for http(s) links on the configured upstream, or https on gears.opswat.com."""
    if not url or any(c in url for c in "\r\n\t ") or url != url.strip():
        return False
    origin = _origin(url)
    if origin is None or origin[0] not in ("http", "https"):
        return False
    base = _origin(base_url or settings.GEARS_BASE_URL)
    if base is not None and origin == base:
        return True
    return origin[0] == "https" and origin[1] == OPSWAT_HOST and origin[2] in (None, 443)


def email_body(device, link: str) -> tuple[str, str]:
    # Names are one line by validation and constraint; the subject is a header, so it is made one line regardless.
    subject = one_line(f"Action needed on {device.name}: fix its compliance issues")
    greeting = f"Hello {device.owner_name}," if device.owner_name else "Hello,"
    body = (
        f"{greeting}\n\nYour device {device.name} has compliance issues. Open this page on the "
        f"device to see them and how to fix them:\n\n{link}\n\nThank you."
    )
    return subject, body


def mailto_url(device, link: str) -> str:
    """A mailto: link to the device's owner, with a subject and body ready to send."""
    subject, body = email_body(device, link)
    return f"mailto:{quote(device.owner_email, safe='@')}?subject={quote(subject)}&body={quote(body)}"


def fits_in_qr(link: str) -> bool:
    # Characters first: a 10 MB link is refused without encoding it.
    return len(link) <= QR_MAX_BYTES and len(link.encode()) <= QR_MAX_BYTES


def qr_svg(link: str) -> str:
    """The link as a QR code, an SVG document (no XML declaration, inline-safe); "" if no QR code can hold it.

    The length is checked before segno runs: segno spends seconds of CPU on a
    huge text before it finds that it does not fit.
    """
    if not fits_in_qr(link):
        return ""
    try:
        # omitsize: a viewBox instead of a fixed width and height, so CSS scales the whole code.
        return segno.make(link, error="m").svg_inline(
            scale=4, border=2, omitsize=True, svgclass="segno", title="QR code of the remediation link"
        )
    except segno.DataOverflowError:
        return ""


def qr_note(link: str) -> str:
    """What the page says instead of a QR code that cannot be made."""
    return (f"No QR code: the link is {len(link.encode()):,} bytes long, more than a QR code holds "
            f"({QR_MAX_BYTES:,}). Copy it or email it instead.")
