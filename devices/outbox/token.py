"""The shared access token: read it, or refresh it once across every worker."""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.db import transaction

from devices.models import UpstreamToken
from devices.outbox.clock import db_now
from devices.upstream import GearsClient, GearsError

logger = logging.getLogger(__name__)

# Refresh the token this long before the cloud says it expires.
TOKEN_EARLY = timedelta(seconds=60)


class TokenUnavailable(Exception):
    """No access token could be had; the message says why (never the token)."""


def current_token(client: GearsClient) -> tuple[str, int]:
    """The shared access token and its version, fetching one if needed."""
    if settings.GEARS_ACCESS_TOKEN:
        return settings.GEARS_ACCESS_TOKEN, 0
    row = UpstreamToken.objects.get_or_create(pk=1)[0]
    if row.access_token and row.expires_at and row.expires_at > db_now() + TOKEN_EARLY:
        return row.access_token, row.version
    return refresh_token(client, row.version)


def refresh_token(client: GearsClient, failed_version: int) -> tuple[str, int]:
    """Replace the token that `failed_version` named — once, across every worker.

    The row lock makes refreshes single-flight: a worker that waited for it
    finds the version moved on and uses the new token.
    """
    if settings.GEARS_ACCESS_TOKEN:
        raise TokenUnavailable("GEARS_ACCESS_TOKEN was refused and cannot be refreshed.")
    UpstreamToken.objects.get_or_create(pk=1)
    with transaction.atomic():
        row = UpstreamToken.objects.select_for_update().get(pk=1)
        now = db_now()
        if row.version != failed_version and row.access_token and row.expires_at and row.expires_at > now + TOKEN_EARLY:
            return row.access_token, row.version
        try:
            token = client.fetch_token(settings.GEARS_CLIENT_ID, settings.GEARS_CLIENT_SECRET)
        except GearsError as exc:
            raise TokenUnavailable(f"Could not get an access token: {exc}") from None
        row.access_token = token.access_token
        row.expires_at = now + timedelta(seconds=token.expires_in)
        row.version += 1
        row.fetched_at = now
        row.save()
        logger.info("fetched a new access token (version %d)", row.version)
        return row.access_token, row.version
