"""The app's models, by job: the inventory, the outbox, the audit log.

Every public name is exported here: import models from `devices.models`.
"""

from devices.models.audit import AuditEntry
from devices.models.inventory import (
    Device,
    DeviceImport,
    ExemptMode,
    ImportStatus,
    MacAddress,
    RemediationState,
)
from devices.models.outbox import (
    BULK_ENDPOINT_KINDS,
    DEVICE_ACTIONS,
    EXEMPT_MODE_OF,
    PENDING_STATUSES,
    Action,
    ActionKind,
    ActionStatus,
    BulkJob,
    DrainerSlot,
    PauseKind,
    Priority,
    UpstreamAttempt,
    UpstreamState,
    UpstreamToken,
)
from devices.models.search import DeviceQuerySet, mac_fragments

__all__ = [
    "BULK_ENDPOINT_KINDS",
    "DEVICE_ACTIONS",
    "EXEMPT_MODE_OF",
    "PENDING_STATUSES",
    "Action",
    "ActionKind",
    "ActionStatus",
    "AuditEntry",
    "BulkJob",
    "Device",
    "DeviceImport",
    "DeviceQuerySet",
    "DrainerSlot",
    "PauseKind",
    "ExemptMode",
    "ImportStatus",
    "MacAddress",
    "Priority",
    "RemediationState",
    "UpstreamAttempt",
    "UpstreamState",
    "UpstreamToken",
    "mac_fragments",
]
