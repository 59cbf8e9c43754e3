"""Start Django for a benchmark script: a throw-away var dir (unless set), the test settings, quiet logs."""

from __future__ import annotations

import os
import tempfile


def start_django(*, test_client: bool = True) -> None:
    """Set up Django; call before importing the project's models. DATABASE_URL picks the database."""
    os.environ.setdefault("GEARSDASH_VAR_DIR", tempfile.mkdtemp(prefix="gearsdash-bench-"))
    os.environ["DJANGO_SETTINGS_MODULE"] = "gearsdash.test_settings"
    os.environ.setdefault("GEARSDASH_LOG_LEVEL", "WARNING")
    import django

    django.setup()
    if test_client:
        from django.test.utils import setup_test_environment

        setup_test_environment()  # lets the test client in (ALLOWED_HOSTS: testserver)


def start_django_on(sim, limit: int, window: float, **env: str) -> None:
    """Set up Django with the real settings against the simulator `sim` at `limit` per `window` seconds.

    `env` adds or overrides settings' environment variables; the drainer is not
    kicked (the script drives drainers itself).
    """
    os.environ.update({
        "GEARSDASH_VAR_DIR": os.environ.get("GEARSDASH_VAR_DIR") or tempfile.mkdtemp(prefix="gearsdash-bench-"),
        "GEARS_BASE_URL": sim.base_url,
        "GEARS_RATE_LIMIT": f"{limit}/{window:g}",
        "GEARS_KICK_DRAINER": "0",
        "DJANGO_HTTPS": "0",
        "GEARSDASH_LOG_LEVEL": "WARNING",
        "DJANGO_SETTINGS_MODULE": "gearsdash.settings",
        **env,
    })
    import django

    django.setup()
