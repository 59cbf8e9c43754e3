"""The database's clock: the one clock every worker machine shares."""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.db import connection
from django.utils import timezone


def db_now() -> datetime:
    """Now, on the database's clock.

    PostgreSQL's now() is the transaction's start; clock_timestamp() moves.
    SQLite is a local file, so its processes share this machine's clock.
    GEARS_CLOCK = "local" reads this process's clock instead (tests move it).
    """
    if connection.vendor == "postgresql" and settings.GEARS_CLOCK == "database":
        with connection.cursor() as cursor:
            cursor.execute("SELECT clock_timestamp()")
            return cursor.fetchone()[0]
    return timezone.now()
