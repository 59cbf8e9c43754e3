"""Remediation: the cloud's link for a device with issues, fetched as a call kind of the outbox, and shared.

`links` says which links may be rendered as links and how to share them
(mail, QR code); `calls` fetches them through the outbox and keeps them fresh.
"""

from devices.remediation.calls import (
    PAGE_VIEW_FETCHES,
    ensure_fresh_remediation,
    open_remediation_fetch,
    page_view_fetches_waiting,
    remediation_is_stale,
)
from devices.remediation.links import email_body, fits_in_qr, is_trusted_link, mailto_url, qr_note, qr_svg

__all__ = [
    "PAGE_VIEW_FETCHES",
    "email_body",
    "ensure_fresh_remediation",
    "fits_in_qr",
    "is_trusted_link",
    "mailto_url",
    "open_remediation_fetch",
    "page_view_fetches_waiting",
    "qr_note",
    "qr_svg",
    "remediation_is_stale",
]
