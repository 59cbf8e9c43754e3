"""The simulated `/o/api/...` endpoints: routing table and handlers.

Authentication, rate limiting and fault injection happen before these
handlers run (see `fakegears.app`); a handler only validates its inputs
(400) and answers 404/200. Upstream references are to
docs/upstream/api-notes.md; [D] documented, [I] inferred.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from fakegears.data import SimDevice
from fakegears.listing import page_body
from fakegears.responses import Request, Response, json_response, parse_int, parse_opt, result_msg
from fakegears.state import SimulatorState

# Device Action v2.0 types (device-action-v2.0.txt [D]).
ACTION_TYPES = ("dhcprenew", "exempt_critical", "exempt_all", "unexempt")
# The bulk variant documents no exempt_critical (docs/upstream/api-notes.md §2.3 [D]).
BULK_ACTION_TYPES = ("dhcprenew", "exempt_all", "unexempt")
EXEMPT_MODE_FOR_ACTION = {"exempt_critical": "critical", "exempt_all": "all", "unexempt": "none"}
MAX_PAGE_SIZE = 50  # Get Devices v2.2: limit 1-50, more -> 406 [D]
GROUP_BY_VALUES = ("none", "hwid", "host", "issues")

Handler = Callable[[SimulatorState, Request, dict[str, str], str], Response]


@dataclass(frozen=True)
class Route:
    method: str
    # Path segments after /o/api/; ":name" segments capture a value.
    pattern: tuple[str, ...]
    handler: Handler

    @property
    def template(self) -> str:
        """Endpoint template incl. version, e.g. /o/api/v2/devices/:id/action.

        Also the rate-limit key in --per-endpoint mode.
        """
        return "/o/api/" + "/".join(self.pattern)

    def match(self, segments: list[str]) -> dict[str, str] | None:
        if len(segments) != len(self.pattern):
            return None
        params: dict[str, str] = {}
        for expected, actual in zip(self.pattern, segments, strict=True):
            if expected.startswith(":"):
                if not actual:
                    return None
                params[expected[1:]] = actual
            elif expected != actual:
                return None
        return params


def match_route(path: str, method: str) -> tuple[Route | None, dict[str, str], bool]:
    """Find the route for `path` (which starts with /o/api/).

    Returns (route, params, method_allowed); route is None if no route has
    this path. One trailing slash is ignored.
    """
    rest = path[len("/o/api/") :]
    if rest.endswith("/"):
        rest = rest[:-1]
    segments = rest.split("/")
    path_match: tuple[Route, dict[str, str]] | None = None
    for route in ROUTES:
        params = route.match(segments)
        if params is None:
            continue
        if route.method == method:
            return route, params, True
        path_match = path_match or (route, params)
    if path_match:
        return path_match[0], path_match[1], False
    return None, {}, False


def allowed_methods(route: Route) -> str:
    return ", ".join(sorted({r.method for r in ROUTES if r.pattern == route.pattern}))


# --- Device Action v2.0 ------------------------------------------------------


def device_action(state: SimulatorState, request: Request, params: dict[str, str], base: str) -> Response:
    """POST /o/api/v2/devices/:id/action?types=..&opt=.. (all inputs in the query [D])."""
    action = request.query.get("types")
    if not action:
        return result_msg(400, "Missing required parameter: types")
    if action not in ACTION_TYPES:
        return result_msg(400, "Invalid types; expected one of: " + ", ".join(ACTION_TYPES))
    opt, problem = parse_opt(request.query.get("opt"))
    if problem or opt is None:
        return result_msg(400, problem or "bad opt")
    lookup = state.find_device(params["id"], opt)
    if lookup.invalid:
        # [I] docs/upstream/api-notes.md §7.3: a malformed identifier is a 400, checked before 404.
        return result_msg(400, "Invalid MAC address")
    if lookup.device is None:
        # [I] the vendor lists 404 without a body; §7.5 picks this one.
        return result_msg(404, "Device not found")
    with state.lock:
        applied = apply_action(lookup.device, action)
    if not applied:
        # [I] §7.5: an agent that is not persistent cannot renew DHCP leases.
        return result_msg(200, "Device has no persistent agent")
    return result_msg(200, "OK", result=1)  # [D]


def apply_action(device: SimDevice, action: str) -> bool:
    """Change the simulated device; False if the action cannot apply. Call under the lock."""
    if action == "dhcprenew":
        if not device.persistent_agent:
            return False
        device.dhcp_renewals += 1
        return True
    device.exempt = EXEMPT_MODE_FOR_ACTION[action]
    return True


# --- Devices Action v2.0 (bulk) ----------------------------------------------


def bulk_device_action(
    state: SimulatorState, request: Request, params: dict[str, str], base: str
) -> Response:
    """POST /o/api/v2/devices/action with a JSON body (docs/upstream/api-notes.md §2.3 [D]).

    One result per list entry, in order: 1 applied, 0 not (unknown device,
    malformed MAC, or dhcprenew without a persistent agent).
    """
    # [I] The Content-Type is not checked: the vendor lists 415 but never
    # says when, and a missing header must not break a JSON body.
    try:
        body = json.loads(request.body().decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return result_msg(400, "Malformed JSON body")
    if not isinstance(body, dict):
        return result_msg(400, "JSON body must be an object")
    action = body.get("types")
    if action == "exempt_critical":
        return result_msg(400, "exempt_critical is not supported by the bulk action API")
    if action not in BULK_ACTION_TYPES:
        return result_msg(400, "Invalid types; expected one of: " + ", ".join(BULK_ACTION_TYPES))
    has_macs = "MAC_list" in body
    has_hwids = "HWID_list" in body
    if has_macs == has_hwids:
        return result_msg(400, "Give exactly one of MAC_list or HWID_list")
    list_name = "MAC_list" if has_macs else "HWID_list"
    identifiers = body[list_name]
    if not isinstance(identifiers, list):
        return result_msg(400, f"{list_name} must be a list")
    list_opt = 0 if has_macs else 1
    if "opt" in body:
        raw_opt = body["opt"]
        if isinstance(raw_opt, bool) or raw_opt not in (0, 1, "0", "1"):
            return result_msg(400, "opt must be 0 (MAC address) or 1 (HWID)")
        # [I] opt is redundant with the list name; a contradiction is a client bug.
        if int(raw_opt) != list_opt:
            return result_msg(400, f"opt {int(raw_opt)} does not match {list_name}")

    results: list[int] = []
    with state.lock:
        for identifier in identifiers:
            if not isinstance(identifier, str):
                results.append(0)
                continue
            device = state.find_device(identifier, list_opt).device
            results.append(1 if device is not None and apply_action(device, action) else 0)
    return json_response(200, {"result": results})


# --- Get Remediation Link v2.2 and v2.0 --------------------------------------


def remediation_v22(state: SimulatorState, request: Request, params: dict[str, str], base: str) -> Response:
    """GET /o/api/v2.2/devices/:value/remediation (get-remediation-link-v2.2.txt [D]).

    Unknown device: 200 with the documented body [I status], or 404 with
    --remediation-unknown-404.
    """
    unknown_status = 404 if state.config.remediation_unknown_404 else 200
    return _remediation(state, request, params["value"], base, unknown_status)


def remediation_v20(state: SimulatorState, request: Request, params: dict[str, str], base: str) -> Response:
    """GET /o/api/v2/devices/:value/remediation: same as v2.2, but unknown -> 404
    ([I] docs/upstream/api-notes.md §2.2: v2.0 lists 404 where v2.2 documents a body)."""
    return _remediation(state, request, params["value"], base, 404)


def _remediation(
    state: SimulatorState, request: Request, value: str, base: str, unknown_status: int
) -> Response:
    opt, problem = parse_opt(request.query.get("opt"))
    if problem or opt is None:
        return result_msg(400, problem or "bad opt")
    lookup = state.find_device(value, opt)
    if lookup.invalid:
        return result_msg(400, "Invalid MAC address")
    if lookup.device is None:
        return result_msg(unknown_status, "Device not found")
    with state.lock:
        has_issues = state.shows_issues(lookup.device)
        link = state.remediation_link(lookup.device, lookup.canonical_value, base)
    if not has_issues:
        return result_msg(200, "Device has no issues")
    return json_response(200, {"remediation_link": link})


# --- Get Devices v2.2 ----------------------------------------------------------


def list_devices_v22(state: SimulatorState, request: Request, params: dict[str, str], base: str) -> Response:
    """GET /o/api/v2.2/devices?limit=&page= (docs/upstream/api-notes.md §2.4 [D], response envelope [I]).

    limit 1-50, default 1 [D]; over 50 -> 406 [D]; page (1-based [I]) past
    the end -> 413 [D]. `order` sorts by last_seen (des = newest first,
    the default [I]); `GroupBy` is accepted but grouping is not simulated.
    """
    limit = parse_int(request.query.get("limit", "1"))
    if limit is None:
        return result_msg(400, "limit must be an integer")
    if limit > MAX_PAGE_SIZE:
        return result_msg(406, f"limit must not exceed {MAX_PAGE_SIZE}")
    if limit < 1:
        return result_msg(400, f"limit must be between 1 and {MAX_PAGE_SIZE}")
    page = parse_int(request.query.get("page", "1"))
    if page is None or page < 1:
        return result_msg(400, "page must be an integer >= 1")
    order = request.query.get("order", "des")
    if order not in ("des", "asc"):
        return result_msg(400, "order must be des or asc")
    group_by = request.query.get("GroupBy", "none")
    if group_by not in GROUP_BY_VALUES:
        return result_msg(400, "GroupBy must be one of: " + ", ".join(GROUP_BY_VALUES))

    now = datetime.now(UTC)
    with state.lock:
        shape = state.faults
        total = len(state.devices)
        pages = max(1, math.ceil(total / limit))
        if page > pages and shape.past_end == "413":
            return result_msg(413, "page is past the end of the data")
        ordered = sorted(
            state.devices,
            key=lambda device: device.last_seen_seconds_ago,
            reverse=(order == "asc"),
        )
        chunk = ordered[(page - 1) * limit : page * limit]
        items = [_device_item(state, device, base, now) for device in chunk]
        if items and shape.broken_device_next > 0:
            shape.broken_device_next -= 1
            items[0]["hwid"] = ""
    return json_response(200, page_body(shape, items, total, page, limit))


def _device_item(state: SimulatorState, device: SimDevice, base: str, now: datetime) -> dict[str, Any]:
    link = state.remediation_link(device, device.macs[0], base) if state.shows_issues(device) else ""
    return {
        "hwid": device.hwid,
        "hostname": device.hostname,
        "nickname": device.nickname,
        "agent_type": device.agent_type,
        "agent_version": device.agent_version,
        "status": device.status,
        "total_issue": device.total_issue,
        "exempt": device.exempt,
        "remediation_link": link,
        "last_seen": device.last_seen_at(now).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "machine_type": device.machine_type,
        "os_info": {"name": device.os_name},
        "network_info": [{"mac_addr": mac} for mac in device.macs],
    }


ROUTES: tuple[Route, ...] = (
    Route("POST", ("v2", "devices", "action"), bulk_device_action),
    Route("POST", ("v2", "devices", ":id", "action"), device_action),
    Route("GET", ("v2.2", "devices", ":value", "remediation"), remediation_v22),
    Route("GET", ("v2", "devices", ":value", "remediation"), remediation_v20),
    Route("GET", ("v2.2", "devices"), list_devices_v22),
)
