"""The app's models, by job: the inventory, the outbox, the audit log, cloud syncs, notices.

Every public name is exported here: import models from `devices.models`.
"""

from devices.models.audit import AuditEntry
from devices.models.inventory import (
    Compliance,
    Device,
    DeviceImport,
    ExemptMode,
    ImportStatus,
    MacAddress,
    RemediationState,
    Standing,
    UpstreamId,
)
from devices.models.notices import Notice, NoticeKind, NoticeTone
from devices.models.outbox import (
    BULK_ENDPOINT_KINDS,
    DEVICE_ACTIONS,
    DEVICE_KINDS,
    EXEMPT_MODE_OF,
    PENDING_STATUSES,
    Action,
    ActionKind,
    ActionStatus,
    BulkJob,
    BulkMetering,
    DrainerSlot,
    PauseKind,
    Priority,
    UpstreamAttempt,
    UpstreamState,
    UpstreamToken,
)
from devices.models.search import DeviceQuerySet, mac_fragments
from devices.models.sync import CloudSync, SyncStatus, SyncTrigger
from devices.models.tokens import ApiScope, ApiToken, IdempotentRequest, scopes_allowed

__all__ = [
    "ApiScope",
    "ApiToken",
    "IdempotentRequest",
    "scopes_allowed",
    "BULK_ENDPOINT_KINDS",
    "DEVICE_ACTIONS",
    "DEVICE_KINDS",
    "EXEMPT_MODE_OF",
    "PENDING_STATUSES",
    "Action",
    "ActionKind",
    "ActionStatus",
    "AuditEntry",
    "BulkJob",
    "CloudSync",
    "Compliance",
    "Standing",
    "Device",
    "DeviceImport",
    "DeviceQuerySet",
    "DrainerSlot",
    "BulkMetering",
    "PauseKind",
    "ExemptMode",
    "ImportStatus",
    "MacAddress",
    "Notice",
    "NoticeKind",
    "NoticeTone",
    "Priority",
    "RemediationState",
    "SyncStatus",
    "SyncTrigger",
    "UpstreamAttempt",
    "UpstreamId",
    "UpstreamState",
    "UpstreamToken",
    "mac_fragments",
]
