"""The shared access token: read it, or refresh it once across every worker.

A failed token request pauses sending like any failed call (breaker): a
refused connection, a timeout or a 5xx briefly, growing with failures in a
row; refused credentials for AUTH_PAUSE. Nobody asks again during the pause.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction

from devices.models import UpstreamToken
from devices.outbox.breaker import paused_until, token_granted, token_refused, token_unreachable
from devices.outbox.clock import db_now
from devices.upstream import GearsAuthError, GearsClient, GearsError

logger = logging.getLogger(__name__)

# Refresh the token at most this long before the cloud says it expires ...
TOKEN_EARLY = timedelta(seconds=60)
# ... and at most this share of its lifetime: a token is used for 90 % of its
# life (one grant per lifetime), and 10 % still covers a connect and clock drift.
TOKEN_EARLY_SHARE = 0.1
# OAuth error codes that mean the client id or secret is wrong (RFC 6749 §5.2).
CREDENTIAL_ERRORS = ("invalid_client", "unauthorized_client")


class TokenUnavailable(Exception):
    """No access token could be had; the message says why (never the token)."""


def refresh_margin(lifetime: timedelta) -> timedelta:
    """How long before expiry a token of `lifetime` is replaced: the smaller of TOKEN_EARLY and a tenth of it."""
    return min(TOKEN_EARLY, lifetime * TOKEN_EARLY_SHARE)


def is_fresh(row: UpstreamToken, now: datetime) -> bool:
    if not (row.access_token and row.expires_at):
        return False
    margin = refresh_margin(row.expires_at - row.fetched_at) if row.fetched_at else TOKEN_EARLY
    return row.expires_at > now + margin


def current_token(client: GearsClient) -> tuple[str, int]:
    """The shared access token and its version, fetching one if needed."""
    if settings.GEARS_ACCESS_TOKEN:
        return settings.GEARS_ACCESS_TOKEN, 0
    row = UpstreamToken.objects.get_or_create(pk=1)[0]
    if is_fresh(row, db_now()):
        return row.access_token, row.version
    return refresh_token(client, row.version)


def credentials_refused(error: GearsError) -> bool:
    """A 401, or an OAuth error naming the client: the same credentials will be refused again."""
    return isinstance(error, GearsAuthError) or any(code in str(error) for code in CREDENTIAL_ERRORS)


def refresh_token(client: GearsClient, failed_version: int) -> tuple[str, int]:
    """Replace the token that `failed_version` named — once, across every worker.

    The row lock makes refreshes single-flight: a worker that waited for it
    finds the version moved on and uses the new token, or finds the pause the
    failed request set and does not ask again.
    """
    if settings.GEARS_ACCESS_TOKEN:
        message = "GEARS_ACCESS_TOKEN was refused and cannot be refreshed."
        token_refused(message)
        raise TokenUnavailable(message)
    UpstreamToken.objects.get_or_create(pk=1)
    with transaction.atomic():
        row = UpstreamToken.objects.select_for_update().get(pk=1)
        now = db_now()
        if row.version != failed_version and is_fresh(row, now):
            return row.access_token, row.version
        until = paused_until(now)
        if until is not None:
            raise TokenUnavailable(f"Sending is paused until {until:%H:%M:%S}; no token is asked for before.")
        try:
            token = client.fetch_token(settings.GEARS_CLIENT_ID, settings.GEARS_CLIENT_SECRET)
        except GearsError as exc:
            # Recorded, and committed, before the token lock is let go: a worker that waited for it sees the pause.
            failure = f"Could not get an access token: {exc}"
            if exc.permanent:
                token_refused(failure, credentials=credentials_refused(exc))
            else:
                token_unreachable(exc, failure)
        else:
            failure = None
            row.access_token = token.access_token
            row.expires_at = now + timedelta(seconds=token.expires_in)
            row.version += 1
            row.fetched_at = now
            row.save()
            token_granted()
    if failure is not None:
        raise TokenUnavailable(failure)
    logger.info("fetched a new access token (version %d)", row.version)
    return row.access_token, row.version
