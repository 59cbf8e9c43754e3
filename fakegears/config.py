"""Settings of one simulator instance.

`SimulatorConfig` is re-exported by `fakegears.server` (the documented import
path). Its fault fields (error_rate, fail_next, ...) are inherited from
`fakegears.faults.FaultFields`, where each fault is declared once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fakegears.faults import FaultFields, FaultSettings
from fakegears.kinds import Number, Text

__all__ = [
    "DEFAULT_TOKEN_LIFETIME",
    "DEMO_CLIENT_ID",
    "DEMO_CLIENT_SECRET",
    "FaultSettings",
    "SimulatorConfig",
]

DEMO_CLIENT_ID = "gearsdash-demo"
DEMO_CLIENT_SECRET = "gearsdash-demo-secret"
# The only public token response shows expires_in 43199 (about 12 h,
# Spring Security OAuth2's default minus rounding), docs/upstream/api-notes.md §3 [C].
DEFAULT_TOKEN_LIFETIME = 43199.0

# Kinds of the settings that are not faults; the command line parses its flags with the same ones.
PORT = Number(integer=True, low=0, high=65535)
DEVICE_COUNT = Number(integer=True, low=0)
LIMIT = Number(integer=True, low=1)
POSITIVE_SECONDS = Number(low=0, above_low=True)
NON_EMPTY = Text()
LOG_SIZE = Number(integer=True, low=1)


@dataclass(kw_only=True)
class SimulatorConfig(FaultFields):
    """Everything a simulator instance is started with (all have defaults).

    Keyword-only: the fault fields come first in the inherited field order.
    """

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
    # Serve https with this PEM certificate (chain) and key instead of http, as a cloud behind a private CA.
    tls_cert: str | None = None
    tls_key: str | None = None
    # Diagnostics.
    log_requests: bool = False  # one redacted line per request on stderr
    request_log_size: int = 10_000

    def validate(self) -> None:
        """Raise ValueError naming the first invalid setting."""
        checks: list[tuple[str, Any, Number | Text]] = [
            ("port", self.port, PORT),
            ("devices", self.devices, DEVICE_COUNT),
            ("limit", self.limit, LIMIT),
            ("window", self.window, POSITIVE_SECONDS),
            ("client_id", self.client_id, NON_EMPTY),
            ("client_secret", self.client_secret, NON_EMPTY),
            ("token_lifetime", self.token_lifetime, POSITIVE_SECONDS),
            ("request_log_size", self.request_log_size, LOG_SIZE),
        ]
        if self.static_token is not None:
            checks.append(("static_token", self.static_token, NON_EMPTY))
        if (self.tls_cert is None) != (self.tls_key is None):
            raise ValueError("tls_cert and tls_key go together")
        for name, value, kind in checks:
            try:
                kind.accept(value)
            except ValueError as problem:
                raise ValueError(f"{name} {problem}") from None
        self.validate_faults()

    def initial_faults(self) -> FaultSettings:
        # Through the control API's own path, so "" means no override here as well.
        return FaultSettings().updated(self.fault_values())
