"""The simulator as a WSGI application.

Request pipeline for the API (`/o/api/...`), in this order, per docs/upstream/api-notes.md §7.3:

1. `down` fault            -> 503 (not counted)
2. authentication          -> 401 (not counted)
3. rate limit at arrival   -> 429 (rejected requests use no quota)
4. injected faults, drawn at arrival: latency, then hang (-> 504), 500, or a
   malformed 200 (HTML instead of JSON)
5. routing                 -> 404 unknown path, 405 wrong method
6. the endpoint's own checks -> 400, then 404/200

Every API response carries X-RateLimit-Limit/-Remaining/-Reset-Time; the
uncounted ones (503, 401) report the current window without changing it.

Nothing here writes an access token anywhere: the request log and the optional
stderr line use the query with secrets replaced by "[redacted]".
"""

from __future__ import annotations

import sys
import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from fakegears.api import allowed_methods, match_route
from fakegears.clock import Clock
from fakegears.config import SimulatorConfig
from fakegears.control import CONTROL_PREFIX, control_endpoint
from fakegears.metering import other_client_share, request_cost, with_rate_headers
from fakegears.oauth import (
    AUTHORIZE_PATH,
    TOKEN_PATH,
    authorize_endpoint,
    oauth_error,
    rate_limited_response,
    token_endpoint,
)
from fakegears.ratelimit import RateDecision
from fakegears.remediation_page import PAGE_PREFIX, PAGE_TEMPLATE, remediation_page
from fakegears.responses import Request, Response, html_response, json_response, result_msg
from fakegears.state import SimulatorState, redact_query

API_PREFIX = "/o/api/"
ACCOUNT_WIDE_KEY = "account"
UNMATCHED_API_ENDPOINT = "/o/api/(unmatched)"
MALFORMED_BODY = "<html>oops</html>"  # the `malformed_next` fault's 200 body

StartResponse = Callable[..., Any]


@dataclass
class Outcome:
    response: Response
    endpoint: str  # template used for stats, e.g. /o/api/v2/devices/:id/action
    counted: bool = False  # did it use rate-limit quota
    logged: bool = True  # control API calls stay out of the request log
    # For counted requests, the limiter's arrival time, so that the log is
    # ordered exactly like the limiter's decisions.
    arrival: float | None = None


class GearsApp:
    """WSGI callable; `state` is the simulator state it serves."""

    def __init__(self, state: SimulatorState) -> None:
        self.state = state

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        request = Request.from_environ(environ, self.state.now())
        try:
            outcome = self.dispatch(request)
        except Exception:  # keep serving; the traceback holds no query values
            traceback.print_exc(file=sys.stderr)
            outcome = Outcome(result_msg(500, "Internal simulator error"), "(error)")
        response = outcome.response
        if outcome.logged:
            self.state.record_request(
                arrival=outcome.arrival if outcome.arrival is not None else request.arrival,
                method=request.method,
                path=request.path,
                query=request.query,
                status=response.status,
                endpoint=outcome.endpoint,
                counted=outcome.counted,
            )
            if self.state.config.log_requests:
                self._log_line(request, response.status)
        start_response(response.status_line(), response.all_headers())
        return [response.body]

    def dispatch(self, request: Request) -> Outcome:
        path = request.path
        if path.startswith(CONTROL_PREFIX):
            return Outcome(control_endpoint(self.state, request), "/_sim/", logged=False)
        if path.startswith(API_PREFIX):
            return self._api(request)
        if path in (TOKEN_PATH, AUTHORIZE_PATH):
            return self._oauth(request)
        if path.startswith(PAGE_PREFIX):
            if self._faults_down():
                return Outcome(html_response(503, "<h1>Service unavailable</h1>"), PAGE_TEMPLATE)
            return Outcome(remediation_page(self.state, request), PAGE_TEMPLATE)
        if path == "/":
            return Outcome(
                json_response(
                    200,
                    {"service": "fakegears", "about": "MetaDefender IT Access (OPSWAT Gears) API simulator"},
                ),
                "/",
            )
        return Outcome(
            json_response(404, {"error": "not_found", "error_description": "No such path"}), "(other)"
        )

    # --- /o/api/ -------------------------------------------------------------

    def _api(self, request: Request) -> Outcome:
        state = self.state
        route, params, method_allowed = match_route(request.path, request.method)
        endpoint = route.template if route else UNMATCHED_API_ENDPOINT
        key = endpoint if state.config.per_endpoint else ACCOUNT_WIDE_KEY

        if self._faults_down():
            response = result_msg(503, "Service unavailable (simulated outage)")
            return Outcome(_with_rate_headers(state, response, state.limiter.peek(key, other_client_share(state))), endpoint)

        token = request.query.get("access_token") or _bearer_token(request.header("Authorization"))
        problem = state.access_token_problem(token)
        if problem is not None:
            # [I] Spring style (docs/upstream/api-notes.md §7.2); the token is never echoed back.
            response = json_response(
                401,
                {"error": "invalid_token", "error_description": problem},
                [("WWW-Authenticate", 'Bearer error="invalid_token"')],
            )
            return Outcome(_with_rate_headers(state, response, state.limiter.peek(key, other_client_share(state))), endpoint)

        decision = state.limiter.acquire(key, request_cost(state, endpoint, request), other_client_share(state))
        if not decision.allowed:
            return Outcome(
                _with_rate_headers(state, rate_limited_response(decision), decision),
                endpoint,
                arrival=decision.arrival,
            )

        # Faults come after counting: a failed call still used quota, as it
        # would behind a real gateway that limits before the backend fails.
        fault = state.draw_fault()
        with state.lock:
            latency = state.faults.latency
            hang_seconds = state.faults.hang_seconds
        if latency > 0:
            state.sleep(latency)
        if fault == "hang":
            # Sleeps until hang_seconds pass or the server stops, whichever first.
            state.sleep(hang_seconds)
            response = result_msg(504, "Gateway timeout (simulated hang)")
        elif fault == "fail":
            response = result_msg(500, "Internal server error (simulated)")
        elif fault == "malformed":
            # A 200 that is not the API's JSON, e.g. a captive portal or a
            # proxy's error page served with the wrong status.
            response = html_response(200, MALFORMED_BODY)
        elif route is None:
            response = result_msg(404, "Unknown API endpoint")
        elif not method_allowed:
            response = result_msg(405, "Method not allowed")
            response.headers.append(("Allow", allowed_methods(route)))
        else:
            try:
                response = route.handler(state, request, params, self._base_url(request))
            except Exception:  # a simulator bug must still answer with the rate headers
                traceback.print_exc(file=sys.stderr)
                response = result_msg(500, "Internal simulator error")
        return Outcome(
            _with_rate_headers(state, response, decision), endpoint, counted=True, arrival=decision.arrival
        )

    # --- /o/oauth/ -----------------------------------------------------------

    def _oauth(self, request: Request) -> Outcome:
        state = self.state
        limited = request.path == TOKEN_PATH and state.config.limit_token_endpoint
        key = TOKEN_PATH if state.config.per_endpoint else ACCOUNT_WIDE_KEY
        if self._faults_down():
            response = oauth_error(503, "temporarily_unavailable", "Service unavailable (simulated outage)")
            if limited:
                _with_rate_headers(state, response, state.limiter.peek(key, other_client_share(state)))
            return Outcome(response, request.path)
        if request.path == AUTHORIZE_PATH:
            return Outcome(authorize_endpoint(state, request), AUTHORIZE_PATH)
        response, counted = token_endpoint(state, request, key)
        if limited and not any(name == "X-RateLimit-Limit" for name, _ in response.headers):
            _with_rate_headers(state, response, state.limiter.peek(key, other_client_share(state)))
        return Outcome(response, TOKEN_PATH, counted=counted)

    # --- helpers ---------------------------------------------------------------

    def _faults_down(self) -> bool:
        with self.state.lock:
            return self.state.faults.down

    def _base_url(self, request: Request) -> str:
        environ = request.environ
        host = (
            environ.get("HTTP_HOST")
            or f"{environ.get('SERVER_NAME', 'localhost')}:{environ.get('SERVER_PORT', '80')}"
        )
        return self.state.public_base_url(f"{environ.get('wsgi.url_scheme', 'http')}://{host}")

    def _log_line(self, request: Request, status: int) -> None:
        query = urlencode(redact_query(request.query), safe="[]")
        target = request.path + (f"?{query}" if query else "")
        remote = request.environ.get("REMOTE_ADDR", "-")
        sys.stderr.write(f'{remote} "{request.method} {target}" {status}\n')


def create_app(
    config: SimulatorConfig | None = None, *, state: SimulatorState | None = None, clock: Clock | None = None
) -> GearsApp:
    """Build the WSGI app from a config (or around an existing state); `clock` defaults to real time."""
    if state is None:
        state = SimulatorState(config or SimulatorConfig(), clock)
    return GearsApp(state)


def _with_rate_headers(state: SimulatorState, response: Response, decision: RateDecision) -> Response:
    return with_rate_headers(state, response, decision)


def _bearer_token(header: str | None) -> str | None:
    if header and header[:7].lower() == "bearer ":
        return header[7:].strip() or None
    return None
