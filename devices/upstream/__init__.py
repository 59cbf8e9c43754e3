"""The client of the MetaDefender IT Access cloud API: one method per endpoint, no Django.

Import from here; the modules are an implementation detail:
`client` (GearsClient), `answers` (one HTTP answer read, and its texts),
`results` (what the cloud answered), `listing` (Get Devices pages, checked),
`errors` (how a call failed),
`redaction` (text made safe to show or log), `transport` (one HTTP exchange
bounded by a deadline and a size cap).
"""

from devices.upstream.client import (
    ACTION_KINDS,
    BULK_ACTION_KINDS,
    BULK_PATH,
    OPT_HWID,
    OPT_MAC,
    TOKEN_PATH,
    GearsClient,
)
from devices.upstream.errors import (
    CAUSES,
    CONNECT_TIMEOUT,
    NAME_NOT_FOUND,
    REFUSED,
    TLS,
    TLS_UNTRUSTED,
    UNREADABLE,
    GearsAuthError,
    GearsError,
    GearsNotFound,
    GearsPastEnd,
    GearsRateLimited,
)
from devices.upstream.listing import ENVELOPES, EXEMPT_FLAG, PAGE_SIZE, CloudDevice, DevicePage
from devices.upstream.redaction import MSG_LIMIT, clean_text
from devices.upstream.results import (
    DEFAULT_EXPIRES_IN,
    DEFAULT_RETRY_AFTER,
    ActionResult,
    BulkActionResult,
    Exchange,
    RateLimitInfo,
    RemediationResult,
    RemediationState,
    Token,
)
from devices.upstream.transport import MAX_BODY, DeadlineAdapter

__all__ = [
    "ACTION_KINDS",
    "BULK_ACTION_KINDS",
    "BULK_PATH",
    "CAUSES",
    "CONNECT_TIMEOUT",
    "DEFAULT_EXPIRES_IN",
    "DEFAULT_RETRY_AFTER",
    "ENVELOPES",
    "EXEMPT_FLAG",
    "MAX_BODY",
    "MSG_LIMIT",
    "NAME_NOT_FOUND",
    "OPT_HWID",
    "OPT_MAC",
    "PAGE_SIZE",
    "REFUSED",
    "TLS",
    "TLS_UNTRUSTED",
    "TOKEN_PATH",
    "UNREADABLE",
    "ActionResult",
    "BulkActionResult",
    "CloudDevice",
    "DeadlineAdapter",
    "DevicePage",
    "Exchange",
    "GearsAuthError",
    "GearsClient",
    "GearsError",
    "GearsNotFound",
    "GearsPastEnd",
    "GearsRateLimited",
    "RateLimitInfo",
    "RemediationResult",
    "RemediationState",
    "Token",
    "clean_text",
]
