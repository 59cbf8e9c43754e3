"""The client's IP address, as the login throttle and the password-reset limit see it."""

from __future__ import annotations

import ipaddress

from django.conf import settings
from django.http import HttpRequest


def _is_ip(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


def client_ip(request: HttpRequest) -> str:
    """REMOTE_ADDR, or behind N trusted proxies the address the outermost one saw.

    Each proxy appends the peer it saw to X-Forwarded-For, so only the last N
    entries are trustworthy: everything to their left may be forged by the client.
    """
    peer = request.META.get("REMOTE_ADDR", "")
    proxies = settings.GEARSDASH_TRUSTED_PROXIES
    if proxies <= 0:
        return peer
    forwarded = [item.strip() for item in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    if len(forwarded) < proxies:
        return peer
    candidate = forwarded[-proxies]
    return candidate if _is_ip(candidate) else peer
