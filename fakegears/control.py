"""The simulator's own control API under /_sim/ (JSON, no auth, no rate limit).

Not part of the upstream API: it lets tests and demos inspect the simulator
and switch faults on and off while it runs.
"""

from __future__ import annotations

import json

from fakegears.responses import Request, Response, json_response
from fakegears.state import SimulatorState

CONTROL_PREFIX = "/_sim/"


def control_endpoint(state: SimulatorState, request: Request) -> Response:
    name = request.path[len(CONTROL_PREFIX) :].rstrip("/")
    method = request.method
    if name == "health":
        return _only(method, "GET") or json_response(200, {"ok": True})
    if name == "stats":
        return _only(method, "GET") or json_response(200, state.stats())
    if name == "devices":
        return _only(method, "GET") or json_response(200, {"devices": state.devices_snapshot()})
    if name == "faults":
        if method == "GET":
            with state.lock:
                return json_response(200, state.faults.to_dict())
        if method != "POST":
            return _method_not_allowed("GET, POST")
        return _update_faults(state, request)
    if name == "expire-tokens":
        return _only(method, "POST") or json_response(200, {"expired": state.expire_tokens()})
    if name == "reset":
        if method != "POST":
            return _method_not_allowed("POST")
        state.reset()
        return json_response(200, {"reset": True, "faults": state.faults.to_dict()})
    return json_response(404, {"error": "not_found", "error_description": "Unknown control endpoint"})


def _update_faults(state: SimulatorState, request: Request) -> Response:
    """Partial update: only the keys given change. Answers the current settings."""
    raw = request.body()
    try:
        changes = json.loads(raw.decode("utf-8")) if raw.strip() else {}
    except (UnicodeDecodeError, ValueError):
        return json_response(
            400, {"error": "invalid_json", "error_description": "Body must be a JSON object"}
        )
    if not isinstance(changes, dict):
        return json_response(
            400, {"error": "invalid_json", "error_description": "Body must be a JSON object"}
        )
    try:
        return json_response(200, state.update_faults(changes))
    except ValueError as problem:
        return json_response(400, {"error": "invalid_setting", "error_description": str(problem)})


def _only(method: str, allowed: str) -> Response | None:
    return None if method == allowed else _method_not_allowed(allowed)


def _method_not_allowed(allowed: str) -> Response:
    return json_response(
        405,
        {"error": "method_not_allowed", "error_description": f"Use {allowed}"},
        [("Allow", allowed)],
    )
