"""Settings of one simulator instance.

`SimulatorConfig` is re-exported by `fakegears.server` (the documented import
path). `FaultSettings` is the part that can change at run time through
`POST /_sim/faults`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from typing import Any

DEMO_CLIENT_ID = "gearsdash-demo"
DEMO_CLIENT_SECRET = "gearsdash-demo-secret"
# The only public token response shows expires_in 43199 (about 12 h,
# Spring Security OAuth2's default minus rounding), docs/upstream/api-notes.md §3 [C].
DEFAULT_TOKEN_LIFETIME = 43199.0


@dataclass
class SimulatorConfig:
    """Everything a simulator instance is started with (all have defaults)."""

    host: str = "127.0.0.1"
    port: int = 0  # 0 = pick a free ephemeral port
    seed: int = 42
    devices: int = 40
    # Rate limit: at most `limit` accepted requests in any `window` seconds.
    limit: int = 10
    window: float = 60.0
    per_endpoint: bool = False  # key the window by endpoint template, not account-wide
    limit_token_endpoint: bool = False  # also count /o/oauth/token against the limit
    # OAuth client.
    client_id: str = DEMO_CLIENT_ID
    client_secret: str = DEMO_CLIENT_SECRET
    token_lifetime: float = DEFAULT_TOKEN_LIFETIME
    static_token: str | None = None
    # Base of the remediation links; default http://<host>:<actual port>.
    public_url: str | None = None
    # Account segment of remediation links; default derived from the seed.
    account_id: str | None = None
    strict_ids: bool = False
    remediation_unknown_404: bool = False  # v2.2 unknown device -> 404 instead of 200
    # Faults (initial values of FaultSettings).
    error_rate: float = 0.0
    fail_next: int = 0
    latency: float = 0.0
    hang_rate: float = 0.0
    hang_next: int = 0
    hang_seconds: float = 30.0
    malformed_next: int = 0
    down: bool = False
    remediation_link_override: str | None = None
    # Diagnostics.
    log_requests: bool = False  # one redacted line per request on stderr
    request_log_size: int = 10_000

    def validate(self) -> None:
        """Raise ValueError naming the first invalid setting."""
        _require(0 <= self.port <= 65535, "port must be 0..65535")
        _require(self.devices >= 0, "devices must be >= 0")
        _require(self.limit >= 1, "limit must be >= 1")
        _require(math.isfinite(self.window) and self.window > 0, "window must be > 0")
        _require(bool(self.client_id), "client_id must not be empty")
        _require(bool(self.client_secret), "client_secret must not be empty")
        _require(self.token_lifetime > 0, "token_lifetime must be > 0")
        _require(self.static_token is None or bool(self.static_token), "static_token must not be empty")
        _require(self.request_log_size >= 1, "request_log_size must be >= 1")
        self.initial_faults().validate()

    def initial_faults(self) -> FaultSettings:
        return FaultSettings(
            error_rate=self.error_rate,
            fail_next=self.fail_next,
            latency=self.latency,
            hang_rate=self.hang_rate,
            hang_next=self.hang_next,
            hang_seconds=self.hang_seconds,
            malformed_next=self.malformed_next,
            down=self.down,
            remediation_link_override=self.remediation_link_override,
        )


@dataclass
class FaultSettings:
    """Injected faults; all off by default. Changed by POST /_sim/faults."""

    error_rate: float = 0.0  # probability an accepted API request answers 500
    fail_next: int = 0  # the next K accepted API requests answer 500
    latency: float = 0.0  # seconds added to every accepted API request
    hang_rate: float = 0.0  # probability an accepted API request hangs
    hang_next: int = 0  # the next K accepted API requests hang
    hang_seconds: float = 30.0  # how long a hung request sleeps (then 504)
    # The next K accepted API requests answer 200 with an HTML body, as a
    # misbehaving proxy or gateway might: clients must not trust a 200 blindly.
    malformed_next: int = 0
    down: bool = False  # API, OAuth and remediation pages answer 503
    remediation_link_override: str | None = None  # forced remediation_link value

    def validate(self) -> None:
        _require(0.0 <= self.error_rate <= 1.0, "error_rate must be between 0 and 1")
        _require(0.0 <= self.hang_rate <= 1.0, "hang_rate must be between 0 and 1")
        _require(self.fail_next >= 0, "fail_next must be >= 0")
        _require(self.hang_next >= 0, "hang_next must be >= 0")
        _require(self.malformed_next >= 0, "malformed_next must be >= 0")
        _require(math.isfinite(self.latency) and self.latency >= 0, "latency must be >= 0")
        _require(math.isfinite(self.hang_seconds) and self.hang_seconds >= 0, "hang_seconds must be >= 0")

    def to_dict(self) -> dict[str, Any]:
        return {item.name: getattr(self, item.name) for item in fields(self)}

    def updated(self, changes: dict[str, Any]) -> FaultSettings:
        """A validated copy with `changes` applied (partial update from JSON).

        Raises ValueError naming the offending key for unknown keys or values
        of the wrong type or range.
        """
        known = {item.name: item for item in fields(self)}
        values = self.to_dict()
        for key, value in changes.items():
            if key not in known:
                raise ValueError(f"unknown setting {key!r}; known: {', '.join(sorted(known))}")
            values[key] = _coerce(key, value)
        result = FaultSettings(**values)
        result.validate()
        return result


_INT_KEYS = {"fail_next", "hang_next", "malformed_next"}
_FLOAT_KEYS = {"error_rate", "latency", "hang_rate", "hang_seconds"}


def _coerce(key: str, value: Any) -> Any:
    # bool is a subclass of int in Python; reject it where a number is meant.
    if key in _INT_KEYS:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"{key} must be an integer")
        return value
    if key in _FLOAT_KEYS:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueError(f"{key} must be a number")
        return float(value)
    if key == "down":
        if not isinstance(value, bool):
            raise ValueError("down must be true or false")
        return value
    if key == "remediation_link_override":
        if value is not None and not isinstance(value, str):
            raise ValueError("remediation_link_override must be a string or null")
        return value or None
    raise ValueError(f"unknown setting {key!r}")  # pragma: no cover - guarded by caller


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise ValueError(message)
