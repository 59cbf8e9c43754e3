"""The upstream call failed: one exception type per way, each saying whether a retry can help."""

from __future__ import annotations

from typing import Any

from devices.upstream.results import DEFAULT_RETRY_AFTER, RateLimitInfo

# What kind of failure, when one is known to need a particular fix (GearsError.cause).
NAME_NOT_FOUND = "name_not_found"  # DNS has no such host
REFUSED = "refused"  # nothing listens at the host and port
CONNECT_TIMEOUT = "connect_timeout"  # no TCP/TLS connection within the connect timeout
TLS_UNTRUSTED = "tls_untrusted"  # the server's certificate does not verify against the CA bundle
TLS = "tls"  # any other TLS handshake failure
UNREADABLE = "unreadable"  # an answer arrived that is not what the endpoint answers
CAUSES = (NAME_NOT_FOUND, REFUSED, CONNECT_TIMEOUT, TLS_UNTRUSTED, TLS, UNREADABLE)


class GearsError(Exception):
    """An upstream call failed. `permanent`: retrying the same call cannot help.
    `ambiguous`: the request may have reached the cloud and taken effect (read timeout, 5xx, unreadable 2xx).
    `unreadable`: the cloud answered 2xx, but with a body that does not fit the
    endpoint (not JSON, another envelope, wrong types). The cloud is reachable,
    so this is no outage; a retry may bring a readable answer, but the same
    answer again is likely, so callers bound such retries tightly.
    `cause`: one of CAUSES when the failure is of a kind that has its own fix, else "".

    `status` is the HTTP status (None when no answer arrived), `upstream_msg`
    the cloud's own message (scrubbed of secrets, at most 200 characters),
    `rate_limit` the answer's X-RateLimit-* headers if any.
    """

    def __init__(
        self,
        message: str,
        *,
        permanent: bool,
        status: int | None = None,
        ambiguous: bool = False,
        unreadable: bool = False,
        upstream_msg: str = "",
        rate_limit: RateLimitInfo | None = None,
        cause: str = "",
    ) -> None:
        super().__init__(message)
        self.message = message
        self.permanent = permanent
        self.status = status
        self.ambiguous = ambiguous
        self.unreadable = unreadable
        self.upstream_msg = upstream_msg
        self.rate_limit = rate_limit
        self.cause = cause

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}({self.message!r}, permanent={self.permanent}, "
            f"status={self.status}, ambiguous={self.ambiguous}, unreadable={self.unreadable})"
        )

    def __reduce__(self) -> tuple[Any, ...]:
        # The keyword-only arguments break the default Exception pickling,
        # and task queues pickle exceptions.
        return (_rebuild_error, (type(self), self.message, dict(self.__dict__)))


class GearsAuthError(GearsError):
    """401: the access token is invalid or expired; the caller refreshes it once and retries.

    Also raised by `fetch_token` for refused client credentials, where it is
    permanent (the same credentials will be refused again).
    """

    def __init__(
        self,
        message: str,
        *,
        permanent: bool = False,
        status: int | None = 401,
        upstream_msg: str = "",
        rate_limit: RateLimitInfo | None = None,
    ) -> None:
        super().__init__(
            message, permanent=permanent, status=status, upstream_msg=upstream_msg, rate_limit=rate_limit
        )


class GearsRateLimited(GearsError):
    """429: over the rate limit. The request was refused, so it is never ambiguous.

    `retry_after`: seconds to wait, from X-RateLimit-Reset-Time, else
    Retry-After, else 60.
    """

    def __init__(
        self,
        message: str,
        *,
        retry_after: float = DEFAULT_RETRY_AFTER,
        status: int | None = 429,
        upstream_msg: str = "",
        rate_limit: RateLimitInfo | None = None,
    ) -> None:
        super().__init__(
            message, permanent=False, status=status, upstream_msg=upstream_msg, rate_limit=rate_limit
        )
        self.retry_after = retry_after


class GearsNotFound(GearsError):
    """The device is unknown to the cloud (Device Action answered 404). Permanent."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = 404,
        upstream_msg: str = "",
        rate_limit: RateLimitInfo | None = None,
    ) -> None:
        super().__init__(
            message, permanent=True, status=status, upstream_msg=upstream_msg, rate_limit=rate_limit
        )


class GearsPastEnd(GearsError):
    """413 from Get Devices: the page asked for is past the end of the list (the cloud has fewer devices now).

    Permanent for this page; for a sync it means the list shrank under it.
    """

    def __init__(
        self,
        message: str,
        *,
        status: int | None = 413,
        upstream_msg: str = "",
        rate_limit: RateLimitInfo | None = None,
    ) -> None:
        super().__init__(
            message, permanent=True, status=status, upstream_msg=upstream_msg, rate_limit=rate_limit
        )


def _rebuild_error(cls: type[GearsError], message: str, state: dict[str, Any]) -> GearsError:
    error = cls.__new__(cls, message)
    error.args = (message,)
    error.__dict__.update(state)
    return error
