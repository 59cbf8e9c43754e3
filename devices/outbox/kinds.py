"""The call-kind registry: one object per kind of upstream call, and nothing else knows a kind by name.

A kind says what one of its actions is sent with (`target`, read under the
claim's lock), how it is sent through the client (`send`), how an answer is
recorded (`answered`) and what else a final failure changes (`failed`); and
whether it is batched and in which lane it waits. The drainer, the claim,
the outcome and the ETAs ask the registry. The device actions register here;
a feature with calls of its own (the cloud sync's pages, remediation
fetches) registers its kind from its own package when the app is ready, so
the outbox imports none of them.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any, ClassVar

from django.conf import settings

from devices.models import Action, Priority, UpstreamState
from devices.upstream import GearsClient

# A claim (devices.outbox.claim.Claim or Batch): the claim imports this registry, so it is not named here.
Claim = Batch = Any


class CallKind:
    """One kind of upstream call. Subclasses set `name` and override what differs."""

    name: ClassVar[str]
    # Bulk work of this kind goes out GEARS_BATCH_SIZE devices per request, through the bulk endpoint.
    batched: ClassVar[bool] = False
    # A new request for this kind is answered by one already on its way (a read), not only by one waiting.
    joins_call_in_flight: ClassVar[bool] = False
    # Why an action of this kind cannot be sent, when `target` finds nothing to send it with.
    untargetable: ClassVar[str] = "The action has nothing the cloud could be called with."

    def target(self, action: Action) -> Any:
        """What the call is made with (read under the claim's lock); None: it cannot be sent."""
        raise NotImplementedError

    def send(self, client: GearsClient, token: str, claim: Claim) -> Any:
        """Make the call through the client: its result, or a GearsError raised."""
        raise NotImplementedError

    def send_batch(self, client: GearsClient, token: str, batch: Batch) -> Any:
        """Make one request for a batch of this kind (batched kinds only)."""
        raise NotImplementedError

    def answered(self, action: Action, result: Any, state: UpstreamState, now: datetime) -> str:
        """Record an answer on the action (and what it changes); a non-empty text: the answer could not be
        used, and the call counts as a transient failure with that text."""
        raise NotImplementedError

    def refused(self, action: Action, error: Any, now: datetime) -> bool:
        """Take a permanent error (a 4xx) as this kind's answer, if it is one (recorded on the action): True.
        False leaves it a failure, as for most kinds."""
        return False

    def failed(self, action: Action, outcome: Any, now: datetime) -> None:
        """What else an action that failed for good changes (nothing, unless the kind says)."""

    def goes_in_batches(self, action: Action) -> bool:
        return self.batched and action.priority >= Priority.BULK


_REGISTRY: dict[str, CallKind] = {}


def register(kind: CallKind) -> CallKind:
    """Add a kind (once per name: registering the same name again replaces it, as a reload does)."""
    _REGISTRY[kind.name] = kind
    return kind


def call_kind(name: str) -> CallKind:
    try:
        return _REGISTRY[name]
    except KeyError:
        raise LookupError(f"no call kind registered for {name!r}") from None


def kind_of(action: Action) -> CallKind:
    return call_kind(action.kind)


def registered() -> Iterator[CallKind]:
    return iter(_REGISTRY.values())


def batched_kinds() -> tuple[str, ...]:
    """The kinds whose bulk work shares requests, in registration order."""
    return tuple(kind.name for kind in _REGISTRY.values() if kind.batched)


def batches(kind: str) -> bool:
    """Bulk work of `kind` shares requests (a batch size of 1 makes every request carry one device)."""
    return call_kind(kind).batched and settings.GEARS_BATCH_SIZE > 1


def is_batched(action: Action) -> bool:
    """The one answer to "does this action go out in a batch with others?"."""
    return batches(action.kind) and kind_of(action).goes_in_batches(action)
