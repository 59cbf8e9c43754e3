"""Mutable state of one simulator: devices, OAuth grants, faults, stats and log.

One `SimulatorState` backs one WSGI app. All mutation happens under
`self.lock` (the rate limiter has its own lock), so the app can be served by a
threaded server.

Secrets (access/refresh tokens, auth codes, the client secret) live only in
the dicts below; nothing here writes them to the request log or stats.
"""

from __future__ import annotations

import random
import secrets
import string
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass
from typing import Any

from fakegears.clock import Clock, SystemClock
from fakegears.config import SimulatorConfig
from fakegears.data import SimDevice, generate_devices, is_canonical_mac, normalize_mac
from fakegears.faults import FaultSettings
from fakegears.ratelimit import SlidingWindowLimiter

# Query parameters whose values are secrets and are replaced in the log.
REDACTED_PARAMS = frozenset({"access_token", "client_secret", "refresh_token", "code", "password"})
REDACTED = "[redacted]"
AUTH_CODE_LIFETIME = 600.0  # [I] codes are short-lived; ten minutes is generous
_CODE_ALPHABET = string.ascii_letters + string.digits


@dataclass
class AccessToken:
    client_id: str
    expires_at: float  # monotonic
    grant_type: str


@dataclass
class AuthorizationCode:
    client_id: str
    redirect_uri: str
    expires_at: float  # monotonic


@dataclass(frozen=True)
class DeviceLookup:
    """Result of resolving an identifier: `device` is None when not found.

    `invalid` is True when opt=0 and the value is not a MAC address at all.
    """

    device: SimDevice | None
    canonical_value: str
    invalid: bool = False


def derive_account_id(seed: int) -> str:
    """Account segment of remediation links, shaped like the vendor's example
    `AKLOMFNH123518` (8 letters + 6 digits), deterministic per seed."""
    rng = random.Random(f"fakegears-account:{seed}")
    return "".join(rng.choices(string.ascii_uppercase, k=8)) + "".join(rng.choices(string.digits, k=6))


class SimulatorState:
    """All state of one simulated Gears account."""

    def __init__(self, config: SimulatorConfig, clock: Clock | None = None) -> None:
        config.validate()
        self.config = config
        self.clock: Clock = clock or SystemClock()
        self.lock = threading.RLock()
        # Set when the server stops, to release hung and sleeping requests.
        self.stopping = threading.Event()
        # Filled in by the server once it knows its port (see public_base_url()).
        self.bound_base_url: str | None = None
        self.account_id = config.account_id or derive_account_id(config.seed)
        self.devices: list[SimDevice] = generate_devices(config.seed, config.devices)
        self._by_mac: dict[str, SimDevice] = {}
        self._by_hwid: dict[str, SimDevice] = {}
        self._by_remediation_token: dict[str, SimDevice] = {}
        for device in self.devices:
            for mac in device.macs:
                self._by_mac[mac] = device
            self._by_hwid[device.hwid] = device
            self._by_remediation_token[device.remediation_token] = device

        self.limiter = SlidingWindowLimiter(config.limit, config.window, clock=self.clock.now)
        # Log times are monotonic arrivals shifted to the epoch, so that they
        # are ordered exactly like the limiter's decisions.
        self._epoch_offset = time.time() - self.clock.now()

        self._access_tokens: dict[str, AccessToken] = {}
        self._refresh_tokens: dict[str, str] = {}  # refresh token -> client_id
        self._auth_codes: dict[str, AuthorizationCode] = {}
        if config.static_token:
            self._access_tokens[config.static_token] = AccessToken(config.client_id, float("inf"), "static")
        self._reset_counters()

    # --- clock ------------------------------------------------------------

    def now(self) -> float:
        return self.clock.now()

    def to_epoch(self, monotonic_time: float) -> float:
        return self._epoch_offset + monotonic_time

    def public_base_url(self, fallback: str) -> str:
        """Base for remediation links: --public-url, else the bound address,
        else what the request says (when the app runs under another server)."""
        base = self.config.public_url or self.bound_base_url or fallback
        return base.rstrip("/")

    # --- devices ----------------------------------------------------------

    def find_device(self, value: str, opt: int) -> DeviceLookup:
        """Resolve a path value: opt 0 = MAC address, 1 = HWID (docs/upstream/api-notes.md §2.1)."""
        if opt == 1:
            # HWID lookups are exact: the vendor shows both styles in one case
            # each and never says they are case-insensitive.
            return DeviceLookup(self._by_hwid.get(value), value)
        canonical = normalize_mac(value)
        if canonical is None:
            return DeviceLookup(None, value, invalid=True)
        if self.config.strict_ids and not is_canonical_mac(value):
            return DeviceLookup(None, canonical)
        return DeviceLookup(self._by_mac.get(canonical), canonical)

    def device_for_remediation_page(self, account: str, value: str, token: str) -> SimDevice | None:
        """The device a remediation page URL points to, or None if any part is wrong."""
        device = self._by_remediation_token.get(token)
        if device is None or account != self.account_id:
            return None
        if value == device.hwid or normalize_mac(value) in device.macs:
            return device
        return None

    def shows_issues(self, device: SimDevice) -> bool:
        """Whether the remediation answers give the device's issues (a link): `exempt_hides_issues` says for an exempt one."""
        return bool(device.issues) and not (self.faults.exempt_hides_issues and device.exempt != "none")

    def remediation_link(self, device: SimDevice, canonical_value: str, base: str) -> str:
        override = self.faults.remediation_link_override
        if override:
            return override
        return (
            f"{base}/gears/remediation/{self.account_id}/{canonical_value}/"
            f"{device.remediation_token}/remediation.html"
        )

    def devices_snapshot(self) -> list[dict[str, Any]]:
        with self.lock:
            return [device.to_dict() for device in self.devices]

    # --- OAuth --------------------------------------------------------------

    def client_is_valid(self, client_id: str | None, client_secret: str | None) -> bool:
        return (
            client_id is not None
            and client_secret is not None
            and secrets.compare_digest(client_id.encode(), self.config.client_id.encode())
            and secrets.compare_digest(client_secret.encode(), self.config.client_secret.encode())
        )

    def issue_token(self, grant_type: str, refresh_token: str | None = None) -> dict[str, Any]:
        """Create an access token; returns the token response body.

        `refresh_token` is included for the code and refresh grants (docs/upstream/
        api-notes.md §3 [C]). [I] On refresh the same refresh token is returned again
        (Spring's default reuse), and the previous access token stays valid
        until it expires.
        """
        lifetime = self.config.token_lifetime
        access = str(uuid.uuid4())
        with self.lock:
            self._access_tokens[access] = AccessToken(
                self.config.client_id, self.now() + lifetime, grant_type
            )
            self.token_grants[grant_type] = self.token_grants.get(grant_type, 0) + 1
            body: dict[str, Any] = {
                "access_token": access,
                "token_type": "bearer",
                "expires_in": max(1, int(lifetime)),
                "scope": "read",
            }
            if grant_type in ("authorization_code", "refresh_token"):
                if refresh_token is None:
                    refresh_token = str(uuid.uuid4())
                    self._refresh_tokens[refresh_token] = self.config.client_id
                body["refresh_token"] = refresh_token
            return body

    def access_token_problem(self, token: str | None) -> str | None:
        """None if `token` is currently valid, else the 401 error_description."""
        if not token:
            return "Full authentication is required to access this resource"
        with self.lock:
            record = self._access_tokens.get(token)
            if record is None:
                return "Invalid access token"
            if self.now() >= record.expires_at:
                return "Access token expired"
            return None

    def expire_tokens(self) -> int:
        """Expire every access token (static one included); refresh tokens survive,
        so clients can exercise their refresh-on-401 path."""
        with self.lock:
            now = self.now()
            count = 0
            for record in self._access_tokens.values():
                if record.expires_at > now:
                    record.expires_at = now
                    count += 1
            return count

    def create_auth_code(self, client_id: str, redirect_uri: str) -> str:
        with self.lock:
            while True:
                # Six letters/digits, like the `wJ2RTE` in docs/upstream/api-notes.md §3.
                code = "".join(secrets.choice(_CODE_ALPHABET) for _ in range(6))
                if code not in self._auth_codes:
                    break
            self._auth_codes[code] = AuthorizationCode(
                client_id, redirect_uri, self.now() + AUTH_CODE_LIFETIME
            )
            return code

    def redeem_auth_code(self, code: str | None, redirect_uri: str | None) -> bool:
        """Single use: the code is consumed by any attempt, even a failed one."""
        if not code:
            return False
        with self.lock:
            record = self._auth_codes.pop(code, None)
        return (
            record is not None
            and record.redirect_uri == redirect_uri
            and record.client_id == self.config.client_id
            and self.now() < record.expires_at
        )

    def refresh_token_is_valid(self, refresh_token: str | None) -> bool:
        if not refresh_token:
            return False
        with self.lock:
            return self._refresh_tokens.get(refresh_token) == self.config.client_id

    # --- faults -----------------------------------------------------------

    def draw_fault(self) -> str | None:
        """Decide, at arrival, whether an accepted API request fails: "fail", "hang", "malformed" or None.

        Counters first (exactly the next K requests), then the seeded RNG;
        the RNG is drawn on every call so a sequential client sees the same
        sequence for the same seed.
        """
        with self.lock:
            faults = self.faults
            if faults.fail_next > 0:
                faults.fail_next -= 1
                return "fail"
            if faults.hang_next > 0:
                faults.hang_next -= 1
                return "hang"
            if faults.malformed_next > 0:
                faults.malformed_next -= 1
                return "malformed"
            fail_roll = self.fault_rng.random()
            hang_roll = self.fault_rng.random()
            if fail_roll < faults.error_rate:
                return "fail"
            if hang_roll < faults.hang_rate:
                return "hang"
            return None

    def update_faults(self, changes: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            self.faults = self.faults.updated(changes)
            return self.faults.to_dict()

    def sleep(self, seconds: float) -> bool:
        """Sleep, but wake at once when the server stops. True if stopped."""
        return self.clock.sleep(seconds, self.stopping)

    # --- stats and log ------------------------------------------------------

    def record_request(
        self,
        *,
        arrival: float,
        method: str,
        path: str,
        query: dict[str, str],
        status: int,
        endpoint: str,
        counted: bool,
    ) -> dict[str, Any]:
        entry = {
            "time": self.to_epoch(arrival),
            "method": method,
            "path": path,
            "query": redact_query(query),
            "status": status,
            "endpoint": endpoint,
            "counted": counted,
        }
        with self.lock:
            self.request_log.append(entry)
            per_status = self.status_counts.setdefault(f"{method} {endpoint}", {})
            per_status[str(status)] = per_status.get(str(status), 0) + 1
            if status == 429:
                self.rate_limited += 1
        return entry

    def stats(self) -> dict[str, Any]:
        """The body of GET /_sim/stats."""
        window = self.config.window
        per_key = self.limiter.max_accepted_in_window()
        with self.lock:
            log = list(self.request_log)
            return {
                "limit": self.config.limit,
                "window": window,
                "per_endpoint": self.config.per_endpoint,
                "requests_total": sum(sum(c.values()) for c in self.status_counts.values()),
                "requests_by_endpoint": {k: dict(v) for k, v in self.status_counts.items()},
                "rate_limited": self.rate_limited,
                "other_client_requests": self.limiter.others_spent,
                "max_accepted_in_window": max(per_key.values(), default=0),
                "max_accepted_in_window_by_key": per_key,
                "token_grants": sum(self.token_grants.values()),
                "token_grants_by_type": dict(self.token_grants),
                "faults": self.faults.to_dict(),
                "request_log": log,
            }

    def reset(self) -> None:
        """Clear stats, log, faults and the rate window; keep devices and tokens."""
        with self.lock:
            self._reset_counters()
            self.faults = FaultSettings()
        self.limiter.reset()

    def _reset_counters(self) -> None:
        self.request_log: deque[dict[str, Any]] = deque(maxlen=self.config.request_log_size)
        self.status_counts: dict[str, dict[str, int]] = {}
        self.token_grants: dict[str, int] = {}
        self.rate_limited = 0
        self.faults = self.config.initial_faults()
        self.fault_rng = random.Random(self.config.seed)


def redact_query(query: dict[str, str]) -> dict[str, str]:
    return {key: (REDACTED if key in REDACTED_PARAMS else value) for key, value in query.items()}
