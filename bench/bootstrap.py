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
