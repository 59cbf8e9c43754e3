"""Settings for the test suite: the real settings, made fast and deterministic."""

import os

# The suite's upstream is the simulator, on the demo's defaults unless a test sets its own.
os.environ.setdefault("GEARSDASH_DEMO", "1")

from gearsdash.settings import *  # noqa: E402,F401,F403
from gearsdash.settings import STORAGES  # noqa: E402

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
# Tests render templates without running collectstatic first.
STORAGES = {**STORAGES, "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}
SECURE_SSL_REDIRECT = False
# The live server for browser tests speaks plain HTTP.
SESSION_COOKIE_SECURE = False
CSRF_COOKIE_SECURE = False
SECURE_HSTS_SECONDS = 0
# Tests drive drainers themselves; kicking one on each enqueue is off unless a
# test turns it on. When on, django-q2 runs the task inline (read at import).
GEARS_KICK_DRAINER = False
Q_CLUSTER = {**Q_CLUSTER, "sync": True}  # noqa: F405
