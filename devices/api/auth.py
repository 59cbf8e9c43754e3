"""Who an API request is, and what it may do.

A bearer token (`Authorization: Bearer gd_...`) or a browser session. DRF's
SessionAuthentication enforces CSRF, so a logged-in browser reaches /api/ only
with its CSRF token on unsafe methods. A token's scopes are capped by its
owner's role at the moment of the request; a session has its role's scopes.
"""

from __future__ import annotations

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions, permissions

from devices import tokens
from devices.models import ApiToken, scopes_allowed
from gearsdash.client_ip import client_ip

REALM = 'Bearer realm="gearsdash"'


class BearerTokenAuthentication(authentication.BaseAuthentication):
    """`Authorization: Bearer gd_<key>_<secret>`: unknown, expired, revoked and foreign-network tokens get 401."""

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).decode("latin-1")
        scheme, _, plain = header.partition(" ")
        if scheme.lower() != "bearer":
            return None
        parts = ApiToken.split(plain.strip())
        # One message for every refusal: which part was wrong is no help to a guesser.
        refused = exceptions.AuthenticationFailed("The token is unknown, expired or revoked.")
        if parts is None:
            raise refused
        key, secret = parts
        token = ApiToken.objects.select_related("owner").filter(key=key).first()
        if token is None:
            ApiToken.digest_of(secret)  # the same work as a known key: no timing tells keys apart
            raise refused
        if not token.matches(secret) or not token.is_usable() or not token.owner.is_active:
            raise refused
        address = client_ip(request._request)
        if not token.admits(address):
            raise exceptions.AuthenticationFailed("This token may not be used from this address.")
        tokens.note_use(token, address)
        return token.owner, token

    def authenticate_header(self, request) -> str:
        return REALM


class SessionAuthentication(authentication.SessionAuthentication):
    """A logged-in browser; CSRF is checked on every unsafe method (DRF's own check)."""

    def authenticate_header(self, request) -> str:
        # Without it DRF turns "not authenticated" into 403; a script should learn it needs a token (401).
        return REALM


def effective_scopes(request) -> set[str]:
    """What this request may do: a token's scopes within its owner's role, or a session's role."""
    if request.user is None:
        return set()
    if isinstance(request.auth, ApiToken):
        return request.auth.effective_scopes()
    return scopes_allowed(request.user)


class HasScopes(permissions.BasePermission):
    """The view's `required_scopes` for the request's method (a dict by method, or one set for all)."""

    message = "This token lacks the scope this request needs."

    def has_permission(self, request, view) -> bool:
        if request.user is None:
            raise exceptions.NotAuthenticated()
        needed = required_scopes(view, request.method)
        missing = needed - effective_scopes(request)
        if missing:
            self.message = f"This request needs the scope(s) {', '.join(sorted(missing))}, which this token or its owner's role lacks."
            return False
        return True


def demand(request, *scopes: str) -> None:
    """For a need that depends on the body (an exemption is exemptions:write, a renewal actions:write): 403 unless met."""
    missing = set(scopes) - effective_scopes(request)
    if missing:
        raise exceptions.PermissionDenied(
            f"This request needs the scope(s) {', '.join(sorted(missing))}, which this token or its owner's role lacks.")


def required_scopes(view, method: str) -> set[str]:
    wanted = getattr(view, "required_scopes", None)
    if wanted is None:
        raise exceptions.PermissionDenied("This endpoint declares no scope.")
    if isinstance(wanted, dict):
        return set(wanted.get(method, wanted.get("*", ())))
    return set(wanted)


class BearerTokenScheme(OpenApiAuthenticationExtension):
    """How the schema names the token: an HTTP bearer scheme."""

    target_class = BearerTokenAuthentication
    name = "bearerToken"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer", "description": "An API token, `gd_...`, from the Tokens page."}


class SessionScheme(OpenApiAuthenticationExtension):
    target_class = SessionAuthentication
    name = "session"

    def get_security_definition(self, auto_schema):
        return {"type": "apiKey", "in": "cookie", "name": "sessionid",
                "description": "A logged-in browser; unsafe methods need its CSRF token (X-CSRFToken)."}
