"""The simulated OAuth endpoints: /o/oauth/token and /o/oauth/authorize.

Shapes follow docs/upstream/api-notes.md §3: the token response is the one public example
(PacketFence guide [C]); error bodies are Spring Security OAuth2 style [I].
The token endpoint is not rate limited unless `limit_token_endpoint` is set
(the vendor does not say, docs/upstream/api-notes.md §1).
"""

from __future__ import annotations

import base64
import binascii
from urllib.parse import unquote, urlencode, urlsplit

from fakegears.ratelimit import RateDecision
from fakegears.responses import Request, Response, json_response
from fakegears.state import SimulatorState

TOKEN_PATH = "/o/oauth/token"
AUTHORIZE_PATH = "/o/oauth/authorize"
GRANT_TYPES = ("client_credentials", "authorization_code", "refresh_token")
_NO_STORE = [("Cache-Control", "no-store"), ("Pragma", "no-cache")]


def oauth_error(
    status: int, error: str, description: str, headers: list[tuple[str, str]] | None = None
) -> Response:
    return json_response(
        status, {"error": error, "error_description": description}, (headers or []) + _NO_STORE
    )


def token_endpoint(state: SimulatorState, request: Request, rate_key: str) -> tuple[Response, bool]:
    """Handle GET/POST /o/oauth/token. Returns (response, counted against the limit)."""
    if request.method not in ("GET", "POST"):
        return oauth_error(405, "method_not_allowed", "Use GET or POST", [("Allow", "GET, POST")]), False
    params = request.form()
    client_id, client_secret = params.get("client_id"), params.get("client_secret")
    if client_id is None and client_secret is None:
        client_id, client_secret = _basic_credentials(request.header("Authorization"))
    if not state.client_is_valid(client_id, client_secret):
        return (
            oauth_error(
                401, "invalid_client", "Bad client credentials", [("WWW-Authenticate", 'Basic realm="oauth"')]
            ),
            False,
        )

    decision: RateDecision | None = None
    if state.config.limit_token_endpoint:
        decision = state.limiter.acquire(rate_key)
        if not decision.allowed:
            return _with_rate_headers(rate_limited_response(decision), decision), False

    grant_type = params.get("grant_type")
    if not grant_type:
        response = oauth_error(400, "invalid_request", "Missing grant type")
    elif grant_type == "client_credentials":
        response = json_response(200, state.issue_token(grant_type), _NO_STORE)
    elif grant_type == "authorization_code":
        if state.redeem_auth_code(params.get("code"), params.get("redirect_uri")):
            response = json_response(200, state.issue_token(grant_type), _NO_STORE)
        else:
            response = oauth_error(
                400, "invalid_grant", "Invalid authorization code or redirect_uri mismatch"
            )
    elif grant_type == "refresh_token":
        refresh_token = params.get("refresh_token")
        if state.refresh_token_is_valid(refresh_token):
            response = json_response(200, state.issue_token(grant_type, refresh_token), _NO_STORE)
        else:
            response = oauth_error(400, "invalid_grant", "Invalid refresh token")
    else:
        response = oauth_error(400, "unsupported_grant_type", "Unsupported grant type")
    if decision is not None:
        response = _with_rate_headers(response, decision)
    return response, decision is not None


def authorize_endpoint(state: SimulatorState, request: Request) -> Response:
    """GET /o/oauth/authorize: approves at once and redirects with ?code=<6 chars>.

    The real service shows an OPSWAT SSO login and a consent page first
    (docs/upstream/api-notes.md §3 [D]); the simulator skips both [I].
    """
    if request.method != "GET":
        return oauth_error(405, "method_not_allowed", "Use GET", [("Allow", "GET")])
    query = request.query
    client_id = query.get("client_id")
    if client_id != state.config.client_id:
        return oauth_error(401, "invalid_client", "Unknown client_id")
    if query.get("response_type") != "code":
        return oauth_error(400, "unsupported_response_type", "response_type must be code")
    redirect_uri = query.get("redirect_uri")
    if not redirect_uri:
        return oauth_error(400, "invalid_request", "A redirect_uri is required")
    parts = urlsplit(redirect_uri)
    # Only absolute http(s) URLs: never redirect a browser to javascript: etc.
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return oauth_error(400, "invalid_request", "redirect_uri must be an absolute http(s) URL")
    code = state.create_auth_code(client_id, redirect_uri)
    extra = {"code": code}
    if "state" in query:
        extra["state"] = query["state"]
    target = redirect_uri.split("#", 1)[0]
    separator = "&" if parts.query else ("" if target.endswith("?") else "?")
    location = target + separator + urlencode(extra)
    return Response(302, b"", "text/plain; charset=utf-8", [("Location", location), *_NO_STORE])


def rate_limited_response(decision: RateDecision) -> Response:
    """429 as specified in docs/upstream/api-notes.md §7.4 [I]: JSON body, Retry-After = Reset-Time."""
    return json_response(
        429,
        {"result": 0, "msg": "Rate limit exceeded"},
        [("Retry-After", str(decision.reset_seconds))],
    )


def _with_rate_headers(response: Response, decision: RateDecision) -> Response:
    response.headers = decision.headers() + response.headers
    return response


def _basic_credentials(header: str | None) -> tuple[str | None, str | None]:
    """client_id/secret from `Authorization: Basic ...` (Spring accepts both ways)."""
    if not header or not header[:6].lower() == "basic ":
        return None, None
    try:
        decoded = base64.b64decode(header[6:].strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None, None
    user, sep, password = decoded.partition(":")
    if not sep:
        return None, None
    return unquote(user), unquote(password)
