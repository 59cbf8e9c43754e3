"""Small readers for settings taken from the environment.

Each one fails loudly, naming the variable, so a typo in a deployment stops
start-up instead of silently running with a default.
"""

from __future__ import annotations

import os
import re
import ssl
from dataclasses import dataclass
from email.utils import parseaddr

from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.core.validators import validate_email

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default).strip()


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(
        f"{name}={raw!r} is not a boolean: use one of 1/0, true/false, yes/no, on/off."
    )


def env_int(name: str, default: int, *, minimum: int | None = None) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw.strip())
    except ValueError:
        raise ImproperlyConfigured(f"{name}={raw!r} is not a whole number.") from None
    if minimum is not None and value < minimum:
        raise ImproperlyConfigured(f"{name}={value} must be at least {minimum}.")
    return value


def env_float(name: str, default: float, *, minimum: float = 0.0) -> float:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = float(raw.strip())
    except ValueError:
        raise ImproperlyConfigured(f"{name}={raw!r} is not a number.") from None
    if not value >= minimum:  # also refuses NaN
        raise ImproperlyConfigured(f"{name}={raw!r} must be at least {minimum}.")
    return value


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None:
        return default
    items = [item.strip() for item in raw.split(",") if item.strip()]
    if not items:
        raise ImproperlyConfigured(f"{name} is set but lists nothing.")
    return items


def env_url(name: str, default: str) -> str:
    value = env_str(name, default)
    if not re.fullmatch(r"https?://[^\s/?#]+(/[^\s?#]*)?", value):
        raise ImproperlyConfigured(
            f"{name}={value!r} is not an http(s) URL such as https://gears.opswat.com."
        )
    return value.rstrip("/")


def env_email(name: str, default: str) -> str:
    """An email sender: `gears@example.com` or `Gears console <gears@example.com>`."""
    value = env_str(name, default)
    _, address = parseaddr(value)
    try:
        if "\n" in value or "\r" in value:
            raise ValidationError("line break")
        validate_email(address)
    except ValidationError:
        raise ImproperlyConfigured(
            f"{name}={value!r} is not an email sender such as gears@example.com "
            "or 'Gears console <gears@example.com>'."
        ) from None
    return value


def env_log_level(name: str, default: str) -> str:
    """A logging level name: DEBUG, INFO, WARNING, ERROR or CRITICAL."""
    value = env_str(name, default).upper()
    if value not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
        raise ImproperlyConfigured(f"{name}={value!r} is not a log level: use DEBUG, INFO, WARNING, ERROR or CRITICAL.")
    return value


def env_ca_bundle(name: str) -> str:
    """A path to a PEM file of CA certificates (for a private CA), or "" for the system's CAs.

    Loaded once here, as the TLS client will load it, so a missing file, a
    directory, or a file without a PEM certificate stops start-up instead of
    failing every call later.
    """
    value = env_str(name)
    if not value:
        return ""
    if not os.path.isfile(value):
        raise ImproperlyConfigured(f"{name}={value!r} is not a file: give the path of a PEM bundle of CA certificates.")
    try:
        ssl.create_default_context(cafile=value)
    except ssl.SSLError:
        raise ImproperlyConfigured(
            f"{name}={value!r} holds no PEM certificate (-----BEGIN CERTIFICATE-----): give a PEM bundle of CA certificates."
        ) from None
    except OSError as problem:
        raise ImproperlyConfigured(f"{name}={value!r} cannot be read ({problem.strerror or type(problem).__name__}).") from None
    return value


@dataclass(frozen=True)
class RateLimit:
    """At most `requests` upstream calls start in any `window` seconds."""

    requests: int
    window: float

    def __str__(self) -> str:
        return f"{self.requests} per {self.window:g} s"


def env_rate_limit(name: str, default: str) -> RateLimit:
    """Read 'N/W' (N requests per W seconds), e.g. '10/60' or '10/1.5'."""
    raw = env_str(name, default)
    match = re.fullmatch(r"(\d+)\s*/\s*(\d+(?:\.\d+)?)\s*s?", raw)
    if not match:
        raise ImproperlyConfigured(
            f"{name}={raw!r} is not a rate limit: write N/W, N requests per W seconds, e.g. 10/60."
        )
    requests, window = int(match[1]), float(match[2])
    if requests < 1 or window <= 0:
        raise ImproperlyConfigured(f"{name}={raw!r}: both N and W must be above zero.")
    return RateLimit(requests, window)
