"""gearsdash settings.

Everything a deployment changes comes from the environment (see
docs/configuration.md); the embedded defaults run the demo: SQLite in var/, the
django-q2 ORM broker, and the bundled upstream simulator on 127.0.0.1:8001.
"""

from __future__ import annotations

import secrets
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from gearsdash.env import (
    env_bool,
    env_ca_bundle,
    env_email,
    env_float,
    env_int,
    env_list,
    env_log_level,
    env_rate_limit,
    env_str,
    env_url,
)
from gearsdash.logconfig import FORMATS, logging_config

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("GEARSDASH_VAR_DIR", str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)

DEBUG = env_bool("DJANGO_DEBUG", False)


def _secret_key() -> str:
    """DJANGO_SECRET_KEY, or a random key kept in var/ so sessions survive restarts."""
    key = env_str("DJANGO_SECRET_KEY")
    if key:
        if len(key) < 50:
            raise ImproperlyConfigured("DJANGO_SECRET_KEY must be at least 50 characters long.")
        return key
    key_file = VAR_DIR / "secret_key"
    if not key_file.exists():
        key_file.touch(mode=0o600)
        key_file.write_text(secrets.token_urlsafe(50))
    return key_file.read_text().strip()


SECRET_KEY = _secret_key()
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", ["127.0.0.1", "localhost"])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    # Serves static files in development the same way as in production.
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "django_q",
    # Login throttling: failed attempts per (username, address), with an admin to unlock.
    "axes",
    # The automation API (/api/v1/) and its OpenAPI schema; the sidecar ships Swagger UI and Redoc as static files.
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "devices",
]

MIDDLEWARE = [
    # First, so that its one line per request times everything below it.
    "gearsdash.access_log.AccessLogMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    # Before the CSRF check, which is the first to read a form: a body over its cap is never read.
    "gearsdash.body_limit.BodyLimitMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Every view needs a login unless marked @login_not_required.
    "gearsdash.middleware.HtmxLoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Last, as django-axes requires: turns a locked-out login into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "gearsdash.urls"
WSGI_APPLICATION = "gearsdash.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "gearsdash.password_reset.password_reset_context",
            ],
        },
    },
]

# Database: PostgreSQL (or anything dj-database-url knows) when DATABASE_URL is
# set, otherwise a SQLite file in var/. Each gunicorn thread and django-q2 worker
# keeps its connection this many seconds (0: one per request), checked before reuse.
DATABASE_CONN_MAX_AGE = env_int("DATABASE_CONN_MAX_AGE", 60, minimum=0)
_database_url = env_str("DATABASE_URL")
if _database_url:
    try:
        _database = dj_database_url.parse(
            _database_url, conn_max_age=DATABASE_CONN_MAX_AGE, conn_health_checks=True
        )
    except ValueError as exc:
        raise ImproperlyConfigured(f"DATABASE_URL is not a database URL: {exc}") from None
else:
    _database = {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": VAR_DIR / "gearsdash.sqlite3",
        "OPTIONS": {
            # The site and the django-q2 cluster write at once: WAL lets reads go
            # on during a write, and IMMEDIATE takes the write lock up front
            # instead of failing half-way through a transaction.
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
        },
    }
DATABASES = {"default": _database}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# django-axes first: it refuses a locked-out (username, address) before any password is checked.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env_int("GEARSDASH_LOGIN_FAILURE_LIMIT", 5, minimum=1)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("GEARSDASH_LOGIN_COOLOFF_MINUTES", 15, minimum=1))
# Locking a username everywhere would let anyone lock anyone out; an address alone
# would lock out a whole office behind one NAT.
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
# Failures are kept (AccessAttempt); a row per successful login would only grow.
AXES_DISABLE_ACCESS_LOG = True
AXES_LOCKOUT_CALLABLE = "gearsdash.lockout.lockout_response"
AXES_USERNAME_CALLABLE = "gearsdash.lockout.attempted_username"
AXES_CLIENT_IP_CALLABLE = "gearsdash.client_ip.client_ip"
# How many reverse proxies in front of the site append to X-Forwarded-For
# (0: REMOTE_ADDR is the client). Too high lets a client choose its own address.
GEARSDASH_TRUSTED_PROXIES = env_int("GEARSDASH_TRUSTED_PROXIES", 0, minimum=0)
# The automation API (devices/api). Tokens only, or a browser session with its CSRF token.
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "devices.api.auth.BearerTokenAuthentication",
        "devices.api.auth.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["devices.api.auth.HasScopes"],
    "DEFAULT_THROTTLE_CLASSES": ["devices.api.throttle.TokenRate"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "devices.api.problems.problem_handler",
    "UNAUTHENTICATED_USER": None,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "gearsdash API",
    "DESCRIPTION": "Devices, actions and the cloud's budget, for scripts. Authenticate with `Authorization: Bearer gd_...`.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    # Served from the site's static files (drf-spectacular-sidecar), never a CDN: the CSP allows 'self' only.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "ActionKindEnum": "devices.models.ActionKind",
        "DeviceActionKindEnum": "devices.api.serializers.DEVICE_KIND_CHOICES",
        "RemediationStateEnum": "devices.models.RemediationState",
    },
}
# A new token's lifetime unless its creator says otherwise, and the longest allowed.
API_TOKEN_DEFAULT_DAYS = env_int("API_TOKEN_DEFAULT_DAYS", 90, minimum=1)
API_TOKEN_MAX_DAYS = env_int("API_TOKEN_MAX_DAYS", 366, minimum=1)
# Requests per token (a session: per user) to the API, apart from the cloud's budget; over it, 429.
API_RATE_LIMIT = env_rate_limit("API_RATE_LIMIT", "120/60")
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "overview"  # a login without `next` lands on the overview at /
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = env_str("DJANGO_TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

# CSV uploads are read in memory; 10 MB is about 100,000 devices.
DATA_UPLOAD_MAX_MEMORY_SIZE = 12 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 12 * 1024 * 1024
DEVICE_IMPORT_MAX_BYTES = env_int("GEARSDASH_IMPORT_MAX_BYTES", 10 * 1024 * 1024, minimum=1024)
# Every other request body (logins, bulk forms); the import's upload view takes
# DEVICE_IMPORT_MAX_BYTES and its form (gearsdash/body_limit.py).
GEARSDASH_MAX_BODY_BYTES = env_int("GEARSDASH_MAX_BODY_BYTES", 1024 * 1024, minimum=1024)

# Hardening that applies whenever DEBUG is off (`manage.py check --deploy` is
# clean with the defaults). A plain-HTTP deployment turns the HTTPS parts off
# with DJANGO_HTTPS=0.
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
if not DEBUG and env_bool("DJANGO_HTTPS", True):
    SECURE_SSL_REDIRECT = True
    # A load balancer probes each node over plain HTTP: a redirect would read as a failure.
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env_int("DJANGO_HSTS_SECONDS", 31536000, minimum=0)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = env_bool("DJANGO_HSTS_PRELOAD", True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", [])

EMAIL_BACKEND = env_str("DJANGO_EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
# The sender of remediation links and password resets.
DEFAULT_FROM_EMAIL = env_email("DJANGO_DEFAULT_FROM_EMAIL", "webmaster@localhost")
# Password reset is offered only with an email backend that delivers (gearsdash/password_reset.py).
GEARSDASH_PASSWORD_RESET_RATE = env_rate_limit("GEARSDASH_PASSWORD_RESET_RATE", "5/3600")
GEARSDASH_PASSWORD_RESET_EMAIL_RATE = env_rate_limit("GEARSDASH_PASSWORD_RESET_EMAIL_RATE", "3/3600")

# The default cache stays in memory (django-q2 writes its stats there often); the
# throttle's counts live in a database table so every process and machine shares them
# (created by `migrate`, see devices/apps.py).
CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
    "throttle": {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": "gearsdash_throttle"},
}

# Content-Security-Policy: no inline script or style anywhere, so none is allowed.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
    }
}

# The upstream: MetaDefender IT Access (formerly OPSWAT Gears). The defaults
# point at the bundled simulator, which `make run` starts. They apply only to
# the demo (GEARSDASH_DEMO=1, as `make run` sets it) or with DEBUG on: a
# production start without its own upstream would send every action to a
# simulator that is not there, with the demo's credentials.
GEARSDASH_DEMO = env_bool("GEARSDASH_DEMO", False)
if not (DEBUG or GEARSDASH_DEMO):
    _missing = [] if env_str("GEARS_BASE_URL") else ["GEARS_BASE_URL"]
    if not env_str("GEARS_ACCESS_TOKEN") and not (env_str("GEARS_CLIENT_ID") and env_str("GEARS_CLIENT_SECRET")):
        _missing.append("GEARS_CLIENT_ID and GEARS_CLIENT_SECRET (or GEARS_ACCESS_TOKEN)")
    if _missing:
        raise ImproperlyConfigured(
            "Set " + "; ".join(_missing) + ": without them the console would use the demo simulator's "
            "address and credentials. GEARSDASH_DEMO=1 runs the demo."
        )
GEARS_BASE_URL = env_url("GEARS_BASE_URL", "http://127.0.0.1:8001")
GEARS_CLIENT_ID = env_str("GEARS_CLIENT_ID", "gearsdash-demo")
GEARS_CLIENT_SECRET = env_str("GEARS_CLIENT_SECRET", "gearsdash-demo-secret")
GEARS_ACCESS_TOKEN = env_str("GEARS_ACCESS_TOKEN")
GEARS_RATE_LIMIT = env_rate_limit("GEARS_RATE_LIMIT", "10/60")
GEARS_TIMEOUT = env_float("GEARS_TIMEOUT", 15.0, minimum=0.1)
GEARS_CONNECT_TIMEOUT = env_float("GEARS_CONNECT_TIMEOUT", 5.0, minimum=0.1)
# TLS to the cloud is always verified: against the system's CAs, or, for a
# proxy or gateway with a private CA, against this PEM bundle ("": the system's).
GEARS_CA_BUNDLE = env_ca_bundle("GEARS_CA_BUNDLE")
# Added to every slot: covers clock-rate differences and window-edge rounding
# between our database clock and the cloud's (see devices/ratelimit.py).
GEARS_RATE_MARGIN = env_float("GEARS_RATE_MARGIN", 0.25, minimum=0.0)
# Transient failures are retried after RETRY_BASE * 2^n seconds (+ jitter),
# at most RETRY_CAP apart, MAX_ATTEMPTS times in all.
GEARS_RETRY_BASE = env_float("GEARS_RETRY_BASE", 30.0, minimum=0.01)
GEARS_RETRY_CAP = env_float("GEARS_RETRY_CAP", 1800.0, minimum=0.01)
GEARS_MAX_ATTEMPTS = env_int("GEARS_MAX_ATTEMPTS", 8, minimum=1)
# Consecutive transient failures that pause all sending (the circuit breaker).
GEARS_BREAKER_THRESHOLD = env_int("GEARS_BREAKER_THRESHOLD", 3, minimum=1)
# A device page fetches its remediation link again once it is older than this.
GEARS_REMEDIATION_TTL = env_int("GEARS_REMEDIATION_TTL", 15 * 60, minimum=0)
# Devices per request on the bulk action endpoint (docs/upstream/api-notes.md
# §2.3): waiting bulk actions of one kind and identifier type go out together.
# 1 sends every action alone.
GEARS_BATCH_SIZE = env_int("GEARS_BATCH_SIZE", 50, minimum=1)
# Believe the cloud's X-RateLimit-* headers (the account's budget, which other
# clients may share) and learn from its answers how it meters bulk requests.
# Off, the budget is the local log alone: the blind limiter, for comparison.
GEARS_CLOUD_WORD = env_bool("GEARS_CLOUD_WORD", True)
# A cloud sync (Get Devices v2.2, 50 devices a request) starts when the last
# one started longer ago than this many seconds; 0 turns the schedule off.
GEARS_SYNC_INTERVAL = env_int("GEARS_SYNC_INTERVAL", 6 * 3600, minimum=0)
# The share of every window that waiting bulk work keeps from clicks (see devices/ratelimit.py):
# clicks go first, but cannot starve a bulk job. 0 turns the floor off.
GEARS_BULK_FLOOR = env_float("GEARS_BULK_FLOOR", 1 / 3, minimum=0.0)
if GEARS_BULK_FLOOR > 1:
    raise ImproperlyConfigured(f"GEARS_BULK_FLOOR={GEARS_BULK_FLOOR!r} is a share of the window: at most 1.")
# How many drainers may send at once (across every worker and machine).
GEARS_DRAINERS = env_int("GEARS_DRAINERS", 2, minimum=1)
# A drainer gives its django-q2 worker back after this long, and queues
# itself again if work remains (well inside Q_CLUSTER's 90 s timeout below).
GEARS_DRAIN_RUNTIME = env_float("GEARS_DRAIN_RUNTIME", 45.0, minimum=1.0)
# Kick a drainer when an enqueue commits. Tests that drive drainers by hand
# turn it off.
GEARS_KICK_DRAINER = env_bool("GEARS_KICK_DRAINER", True)
# The outbox's clock: the database's, the one every worker machine shares.
# Tests on a fake clock use "local" (Python's, which they can move).
GEARS_CLOCK = "database"
if not GEARS_ACCESS_TOKEN and not (GEARS_CLIENT_ID and GEARS_CLIENT_SECRET):
    raise ImproperlyConfigured(
        "Set GEARS_ACCESS_TOKEN, or both GEARS_CLIENT_ID and GEARS_CLIENT_SECRET."
    )

# django-q2 hosts background work. The ORM broker needs nothing but the
# database; Redis can replace it at scale (Q_CLUSTER_REDIS_URL).
Q_CLUSTER = {
    "name": "gearsdash",
    "workers": env_int("Q_CLUSTER_WORKERS", 2, minimum=1),
    "timeout": 90,  # a drainer runs GEARS_DRAIN_RUNTIME, plus one call at most
    "retry": 120,  # must exceed timeout, or a slow task runs twice
    "max_attempts": 1,
    "ack_failures": True,
    "catch_up": False,
    "poll": 0.2,
    "save_limit": 250,
    "label": "Background tasks",
}
_q_redis = env_str("Q_CLUSTER_REDIS_URL")
if _q_redis:
    Q_CLUSTER["redis"] = _q_redis
else:
    Q_CLUSTER["orm"] = "default"

# Plain lines for a terminal, one JSON object a line for a log collector (GEARSDASH_LOG_FORMAT=json).
GEARSDASH_LOG_FORMAT = env_str("GEARSDASH_LOG_FORMAT", "plain").lower()
if GEARSDASH_LOG_FORMAT not in FORMATS:
    raise ImproperlyConfigured(f"GEARSDASH_LOG_FORMAT={GEARSDASH_LOG_FORMAT!r} is not a log format: use plain or json.")
LOGGING = logging_config(
    fmt=GEARSDASH_LOG_FORMAT,
    level=env_log_level("GEARSDASH_LOG_LEVEL", "INFO"),
    # The one line per request: INFO logs every click; polls and /healthz only at DEBUG.
    access_level=env_log_level("GEARSDASH_SERVER_LOG_LEVEL", "INFO"),
    queue_level=env_log_level("GEARSDASH_QUEUE_LOG_LEVEL", "WARNING"),
)

DEVICE_LIST_PAGE_SIZES = (25, 50, 100)
