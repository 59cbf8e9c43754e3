"""Test doubles for the outbox: a clock moved only on purpose, and an upstream client with scripted answers."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from devices import outbox
from devices.upstream import ActionResult, BulkActionResult, GearsError, RemediationResult, Token


class FakeClock:
    """Wall clock and monotonic clock in one, moved only on purpose."""

    def __init__(self, traveller) -> None:
        self.traveller = traveller
        self.slept: list[float] = []

    def now(self) -> datetime:
        return outbox.db_now()

    def monotonic(self) -> float:
        return outbox.db_now().timestamp()

    def advance(self, seconds: float) -> None:
        self.traveller.shift(seconds)

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.advance(seconds)


@dataclass
class Call:
    endpoint: str  # "token", "action", "bulk" or "remediation"
    token: str = ""
    identifier: str = ""
    opt: int | None = None
    kind: str = ""
    identifiers: tuple[str, ...] = ()  # a bulk call's devices, in order


@dataclass
class FakeUpstream:
    """The GearsClient interface with scripted answers; every call is recorded.

    `script` holds what the next calls answer, in order (a result, or an
    exception to raise); when it is empty every action succeeds. `tokens`
    does the same for fetch_token. `latency` moves the fake clock per call.
    A bulk call applies every device but those in `unknown` (answered 0).
    Granted tokens live `token_lifetime` seconds; until `down_until` every
    call, token requests included, fails as a refused connection would.
    """

    clock: FakeClock | None = None
    latency: float = 0.0
    script: list = field(default_factory=list)
    tokens: list = field(default_factory=list)
    calls: list[Call] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)  # the endpoint of each call refused while down
    granted: int = 0
    token_lifetime: float = 3600
    down_until: datetime | None = None
    unknown: set[str] = field(default_factory=set)

    def fetch_token(self, client_id: str, client_secret: str) -> Token:
        self.calls.append(Call("token"))
        self._refuse_if_down()
        if self.tokens:
            answer = self.tokens.pop(0)
            if isinstance(answer, Exception):
                raise answer
            return answer
        self.granted += 1
        return Token(access_token=f"token-{self.granted:02d}-0123456789abcdef", expires_in=self.token_lifetime)

    def device_action(self, access_token: str, identifier: str, opt: int, kind: str) -> ActionResult:
        self.calls.append(Call("action", access_token, identifier, opt, kind))
        return self._answer(ActionResult(ok=True, msg="OK", http_status=200, rate_limit=None))

    def bulk_device_action(self, access_token: str, kind: str, identifiers, opt: int) -> BulkActionResult:
        identifiers = tuple(identifiers)
        self.calls.append(Call("bulk", access_token, opt=opt, kind=kind, identifiers=identifiers))
        applied = tuple(identifier not in self.unknown for identifier in identifiers)
        return self._answer(BulkActionResult(applied=applied, http_status=200, rate_limit=None))

    def remediation_link(self, access_token: str, identifier: str, opt: int) -> RemediationResult:
        self.calls.append(Call("remediation", access_token, identifier, opt))
        return self._answer(RemediationResult("no_issues", None, "Device has no issues", 200, None))

    def _refuse_if_down(self) -> None:
        if self.down_until is not None and self.clock is not None and self.clock.now() < self.down_until:
            self.refused.append(self.calls[-1].endpoint)
            raise GearsError("cannot connect to the cloud (ConnectionError)", permanent=False, ambiguous=False)

    def _answer(self, default):
        self._refuse_if_down()
        if self.clock is not None and self.latency:
            self.clock.advance(self.latency)
        answer = self.script.pop(0) if self.script else default
        if isinstance(answer, Exception):
            raise answer
        return answer

    def sent(self) -> list[Call]:
        return [call for call in self.calls if call.endpoint != "token"]

    def devices_sent(self) -> list[str]:
        """Every identifier sent, a bulk call's one by one."""
        return [i for call in self.sent() for i in (call.identifiers if call.endpoint == "bulk" else (call.identifier,))]

    def token_requests(self) -> int:
        return sum(1 for call in self.calls if call.endpoint == "token")


def transient(message: str = "HTTP 500 from the cloud", ambiguous: bool = True) -> GearsError:
    return GearsError(message, permanent=False, status=500, ambiguous=ambiguous)
