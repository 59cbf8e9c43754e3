"""The device actions as call kinds: Device Action v2.0 one device at a time, Devices Action v2.0 in batches.

dhcprenew, exempt_all and unexempt are types the bulk endpoint takes
(docs/upstream/api-notes.md §2.3), so their bulk work is batched;
exempt_critical is not, and goes one device per request. What an exemption
action asks for is a desired state, so a confirmed one is written to the
device as its exemption mode.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from devices.models import (
    BULK_ENDPOINT_KINDS,
    DEVICE_ACTIONS,
    EXEMPT_MODE_OF,
    Action,
    Device,
    UpstreamId,
    UpstreamState,
)
from devices.outbox.kinds import CallKind, register
from devices.outbox.limits import fit
from devices.upstream import ActionResult, GearsClient


@dataclass(frozen=True)
class BatchItem:
    """One device's entry in a bulk answer."""

    applied: bool
    target: UpstreamId


class DeviceAction(CallKind):
    untargetable = "The device has neither a HWID nor a MAC address."

    def __init__(self, name: str) -> None:
        self.name = name
        self.batched = name in BULK_ENDPOINT_KINDS

    def target(self, action: Action) -> UpstreamId | None:
        return action.device.upstream_identifier

    def send(self, client: GearsClient, token: str, claim) -> ActionResult:
        return client.device_action(token, claim.target.value, claim.target.opt, self.name)

    def send_batch(self, client: GearsClient, token: str, batch):
        return client.bulk_device_action(token, self.name, batch.identifiers, batch.opt)

    def answered(self, action: Action, result: ActionResult | BatchItem, state: UpstreamState, now: datetime) -> str:
        if isinstance(result, BatchItem):
            # The bulk answer is a bare 0 or 1 per device: 0 means the cloud has no device by that identifier [D §2.3].
            ok, msg = result.applied, "OK" if result.applied else "0 (not applied)"
            why = f"The cloud has no device with {result.target}."
        else:
            ok, msg = result.ok, result.msg
            why = f"The cloud refused it: {result.msg}"
        action.status = Action.Status.SUCCEEDED if ok else Action.Status.FAILED
        action.finished_at = now
        action.upstream_msg = fit(Action, "upstream_msg", msg)
        action.last_error = "" if ok else fit(Action, "last_error", why)
        if ok and action.kind in EXEMPT_MODE_OF:
            Device.objects.filter(pk=action.device_id).update(exempt_mode=EXEMPT_MODE_OF[action.kind],
                                                              exempt_confirmed_at=now)
        return ""


for _kind, _label in DEVICE_ACTIONS:
    register(DeviceAction(_kind))
