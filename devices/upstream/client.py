"""The client of the MetaDefender IT Access (formerly OPSWAT Gears) cloud API.

gearsdash makes five kinds of upstream call, one method each on `GearsClient`:

- `fetch_token`: OAuth client credentials at `/o/oauth/token`;
- `device_action`: Device Action v2.0, `POST /o/api/v2/devices/<id>/action`;
- `bulk_device_action`: Devices Action v2.0 (bulk), `POST /o/api/v2/devices/action`;
- `remediation_link`: Get Remediation Link v2.2, `GET /o/api/v2.2/devices/<value>/remediation`;
- `list_devices`: Get Devices v2.2, `GET /o/api/v2.2/devices?limit=&page=` (a cloud sync's pages).

Every failure is a `GearsError` that says whether retrying the same call can
help (`permanent`) and whether the call may have reached the cloud and taken
effect anyway (`ambiguous`). The caller (the outbox) owns retries, the rate limit
and token refresh: this module sends exactly one HTTP request per call, never
retries, and keeps no state but its `requests.Session` and how the last answer
came (`last_exchange`: status, Date header, TLS; what a connection check reports).

Upstream facts and choices are from the project's copy of the vendor's pages
and notes, docs/upstream/ (cited as "docs/upstream/api-notes.md §N"). The upstream quirk that shapes this module most: the access
token travels in the URL query string (docs/upstream/api-notes.md §3), so any text that contains a
URL can leak it. Messages here never contain a URL with its query, requests'
own exception texts (which do) are never passed on, and urllib3's loggers get
the project's redacting filter.

This package imports nothing from Django and reads no settings: the caller passes
the base URL, timeouts, credentials and the CA bundle. One `GearsClient` per thread; a
`requests.Session` is not meant to be shared between threads.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urljoin, urlsplit

import requests

from devices.upstream.answers import Answer, http_message, is_int, read_answer, same_text, str_field, unexpected
from devices.upstream.errors import (
    UNREADABLE,
    GearsAuthError,
    GearsError,
    GearsNotFound,
    GearsPastEnd,
    GearsRateLimited,
)
from devices.upstream.listing import DEVICES_PATH, NO_LIST, PAGE_SIZE, DevicePage, check_page_request, parse_page
from devices.upstream.redaction import clean_text
from devices.upstream.results import (
    ActionResult,
    BulkActionResult,
    Exchange,
    RemediationResult,
    Token,
    expires_in_seconds,
    retry_after_seconds,
)
from devices.upstream.transport import (
    MAX_BODY,
    BodyTooLarge,
    Deadline,
    DeadlineAdapter,
    DeadlineExceeded,
    read_body,
    transport_error,
)

logger = logging.getLogger(__name__)

# Device Action v2.0 `types` (device-action-v2.0.txt [D]).
ACTION_KINDS = ("dhcprenew", "exempt_critical", "exempt_all", "unexempt")
# Device Action v2.0 and Remediation v2.2: opt 0 = MAC, 1 = HWID [D]. Beware:
# Device Details v2.1/v2.5 use the reverse (docs/upstream/api-notes.md §2.6); not called here.
OPT_MAC, OPT_HWID = 0, 1
# Devices Action v2.0 (bulk) takes these types only: no exempt_critical (docs/upstream/api-notes.md §2.3 [D]).
BULK_ACTION_KINDS = ("dhcprenew", "exempt_all", "unexempt")
BULK_PATH = "/o/api/v2/devices/action"

TOKEN_PATH = "/o/oauth/token"


@dataclass(frozen=True)
class _Failure:
    kind: str  # for the log line: the exception's type, "deadline" or "too large"
    error: GearsError


class GearsClient:
    """One method per upstream call; each sends exactly one HTTP request.

    `connect_timeout` bounds the TCP/TLS connect, `timeout` each wait for
    the answer, and `connect_timeout + timeout` the whole call however the
    answer trickles in; an answer over `max_body` bytes is not read. With an
    injected `session` the caller is responsible for its adapters (mount a
    `DeadlineAdapter`, or a read blocked past the deadline ends only at its
    own timeout); the default session never retries. TLS certificates are
    verified against the system's CAs, or against `ca_bundle` (a PEM file of
    a private CA) if given.
    """

    def __init__(
        self,
        base_url: str,
        *,
        timeout: float = 15.0,
        connect_timeout: float = 5.0,
        session: requests.Session | None = None,
        max_body: int = MAX_BODY,
        ca_bundle: str | None = None,
    ) -> None:
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
            raise ValueError("base_url must be an http(s) URL such as https://gears.opswat.com")
        for name, value in (("timeout", timeout), ("connect_timeout", connect_timeout)):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not (0 < value < math.inf):
                raise ValueError(f"{name} must be a positive number of seconds")
        self.base_url = base_url.rstrip("/")
        self.timeout = float(timeout)
        self.connect_timeout = float(connect_timeout)
        self.max_body = max_body
        # For messages: scheme, host and port only (no userinfo, no path).
        self.where = _origin(base_url)
        if session is None:
            session = requests.Session()
            # No automatic retries at any level: the outbox retries, and it
            # must count every attempt against the upstream's 10/min.
            adapter = DeadlineAdapter(max_retries=0)
            session.mount("http://", adapter)
            session.mount("https://", adapter)
        # Passed with every request: a request's own `verify` is the one
        # REQUESTS_CA_BUNDLE in the environment does not override.
        self.verify: bool | str = ca_bundle or session.verify
        self.session = session
        self.tls = parts.scheme == "https"
        # How the last answer came (None: no answer yet, or the last call got none).
        self.last_exchange: Exchange | None = None

    def close(self) -> None:
        self.session.close()

    def __enter__(self) -> GearsClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # --- the four calls ----------------------------------------------------

    def fetch_token(self, client_id: str, client_secret: str) -> Token:
        """OAuth client credentials grant (docs/upstream/api-notes.md §3 [D]): POST form to /o/oauth/token."""
        answer = self._send(
            "POST",
            TOKEN_PATH,
            data={"grant_type": "client_credentials", "client_id": client_id, "client_secret": client_secret},
            secrets=(client_secret,),
        )
        if answer.status in (400, 401):
            # OAuth errors name their cause in `error` (Spring style, docs/upstream/api-notes.md §3 [I]).
            code = clean_text(str_field(answer.body, "error"), (client_secret,)) or f"HTTP {answer.status}"
            description = clean_text(str_field(answer.body, "error_description"), (client_secret,))
            message = f"token request refused: {code}" + (f" ({description})" if description else "")
            error_class = GearsAuthError if answer.status == 401 else GearsError
            raise error_class(
                message,
                permanent=True,  # the same credentials will be refused again
                status=answer.status,
                upstream_msg=answer.upstream_msg,
                rate_limit=answer.rate_limit,
            ) from None
        self._raise_for_status(answer)
        # A bad 200 from the token endpoint is not ambiguous: a token that
        # was issued but not read changes nothing on any device.
        where = f"unexpected answer from the token endpoint (HTTP {answer.status})"
        common = {"permanent": False, "status": answer.status, "rate_limit": answer.rate_limit, "cause": UNREADABLE}
        if answer.body is None:
            raise GearsError(f"{where}: {answer.not_object}", **common) from None
        access_token = answer.body.get("access_token")
        if not isinstance(access_token, str) or not access_token:
            raise GearsError(f"{where}: no access_token", **common) from None
        refresh_token = answer.body.get("refresh_token")
        return Token(
            access_token=access_token,
            expires_in=expires_in_seconds(answer.body.get("expires_in")),
            refresh_token=refresh_token if isinstance(refresh_token, str) and refresh_token else None,
        )

    def device_action(self, access_token: str, identifier: str, opt: int, kind: str) -> ActionResult:
        """Device Action v2.0: POST /o/api/v2/devices/<id>/action?types=&opt=&access_token=.

        Everything travels in the query string, as documented [D]. A 200 with
        `result: 0` is an action the cloud refused (ok=False), not an error.
        """
        if kind not in ACTION_KINDS:
            raise ValueError(f"kind must be one of {', '.join(ACTION_KINDS)}")
        _check_opt(opt)
        path = f"/o/api/v2/devices/{_path_segment(identifier)}/action"
        answer = self._send(
            "POST",
            path,
            params={"types": kind, "opt": str(opt), "access_token": access_token},
            secrets=(access_token,),
        )
        if answer.status == 404:
            # The vendor lists 404 without a body (docs/upstream/api-notes.md §2.1); the simulator
            # and the likely real answer say {"result":0,"msg":"Device not found"}.
            raise GearsNotFound(
                http_message(answer.status, answer.upstream_msg or "Not found"),
                upstream_msg=answer.upstream_msg,
                rate_limit=answer.rate_limit,
            ) from None
        self._raise_for_status(answer)
        body = self._json_body(answer)
        result, msg = body.get("result"), body.get("msg", "")
        if not is_int(result) or not isinstance(msg, str):
            raise unexpected(answer, "no integer result with a msg") from None
        return ActionResult(
            ok=result == 1,
            msg=clean_text(msg, (access_token,)),
            http_status=answer.status,
            rate_limit=answer.rate_limit,
        )

    def bulk_device_action(
        self, access_token: str, kind: str, identifiers: list[str] | tuple[str, ...], opt: int
    ) -> BulkActionResult:
        """Devices Action v2.0 (bulk): POST /o/api/v2/devices/action?access_token=, JSON body.

        `identifiers` are all MACs (opt 0, sent as MAC_list) or all HWIDs (opt
        1, HWID_list). The answer has one 0/1 per identifier, in order [D];
        one of another length or shape is an error, since no item's fate can
        be told from it.
        """
        if kind not in BULK_ACTION_KINDS:
            raise ValueError(f"kind must be one of {', '.join(BULK_ACTION_KINDS)}")
        _check_opt(opt)
        identifiers = list(identifiers)
        if not identifiers or not all(isinstance(i, str) and i for i in identifiers):
            raise ValueError("identifiers must be a non-empty list of MAC addresses or HWIDs")
        list_name = "HWID_list" if opt == OPT_HWID else "MAC_list"
        answer = self._send(
            "POST",
            BULK_PATH,
            params={"access_token": access_token},
            json_body={"types": kind, list_name: identifiers, "opt": opt},
            secrets=(access_token,),
        )
        self._raise_for_status(answer)
        items = self._json_body(answer).get("result")
        if not isinstance(items, list):
            raise unexpected(answer, "result is not a list") from None
        if len(items) != len(identifiers):
            raise unexpected(answer, f"{len(items)} results for {len(identifiers)} devices") from None
        if not all(is_int(item) and item in (0, 1) for item in items):
            raise unexpected(answer, "a result is neither 0 nor 1") from None
        return BulkActionResult(
            applied=tuple(item == 1 for item in items), http_status=answer.status, rate_limit=answer.rate_limit
        )

    def remediation_link(self, access_token: str, identifier: str, opt: int) -> RemediationResult:
        """Get Remediation Link v2.2: GET /o/api/v2.2/devices/<value>/remediation?opt=&access_token=.

        The three documented answers [D] map to the states "link",
        "no_issues" and "not_found"; anything else is an error.
        """
        _check_opt(opt)
        path = f"/o/api/v2.2/devices/{_path_segment(identifier)}/remediation"
        answer = self._send(
            "GET", path, params={"opt": str(opt), "access_token": access_token}, secrets=(access_token,)
        )
        if answer.status == 404 and same_text(answer.upstream_msg, "Device not found"):
            # v2.0 probably answers an unknown device with 404 where v2.2
            # documents a body; the HTTP status of v2.2's body is not
            # documented (docs/upstream/api-notes.md §2.2). Both mean the same.
            return RemediationResult("not_found", None, answer.upstream_msg, answer.status, answer.rate_limit)
        self._raise_for_status(answer)
        body = self._json_body(answer)
        link = body.get("remediation_link")
        msg = body.get("msg", "")
        if not isinstance(msg, str):
            raise unexpected(answer, "msg is not a string") from None
        msg = clean_text(msg, (access_token,))
        if isinstance(link, str) and link.strip():
            return RemediationResult("link", link, msg, answer.status, answer.rate_limit)
        # Every key is optional (v2.2 page [D]); v3 sends "" for no link, so
        # an empty link falls through to result/msg.
        if link is not None and not isinstance(link, str):
            raise unexpected(answer, "remediation_link is not a string") from None
        if body.get("result") == 0 and is_int(body.get("result")):
            if same_text(msg, "Device has no issues"):
                return RemediationResult("no_issues", None, msg, answer.status, answer.rate_limit)
            if same_text(msg, "Device not found"):
                return RemediationResult("not_found", None, msg, answer.status, answer.rate_limit)
        raise unexpected(answer, f"no remediation_link ({msg})" if msg else "no remediation_link") from None

    def list_devices(self, access_token: str, page: int, limit: int = PAGE_SIZE) -> DevicePage:
        """Get Devices v2.2 (docs/upstream/api-notes.md §2.4): GET /o/api/v2.2/devices?limit=&page=&access_token=.

        The page is read from any envelope `listing` knows (a bare array, a
        `devices` or a `results` list, with or without a count). 413 (page
        past the end [D]) raises GearsPastEnd; 406 and 400 are permanent like
        any 4xx; an envelope that does not fit is an unreadable answer, so
        nothing of it is used; a device that does not fit is skipped, noted.
        """
        check_page_request(page, limit)
        params = {"limit": str(limit), "page": str(page), "access_token": access_token}
        answer = self._send("GET", DEVICES_PATH, params=params, secrets=(access_token,))
        if answer.status == 413:
            raise GearsPastEnd(http_message(413, answer.upstream_msg or f"page {page} is past the end"),
                               upstream_msg=answer.upstream_msg, rate_limit=answer.rate_limit) from None
        self._raise_for_status(answer)
        if answer.not_object == "not JSON":
            raise unexpected(answer, f"{NO_LIST} (not JSON)") from None
        try:
            parsed = parse_page(answer.data, page, limit)
        except ValueError as why:
            raise unexpected(answer, str(why)) from None
        return DevicePage(parsed.count, page, limit, parsed.devices, answer.status, answer.rate_limit,
                          envelope=parsed.envelope, skipped=parsed.skipped)

    # --- plumbing -------------------------------------------------------------

    def _send(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, str] | None = None,
        data: dict[str, str] | None = None,
        json_body: dict[str, object] | None = None,
        secrets: tuple[str, ...] = (),
    ) -> Answer:
        """Send one request and read the answer; transport failures raise GearsError.

        `path` is already percent-encoded and carries no query string, so it
        is safe to log.
        """
        started = time.monotonic()
        self.last_exchange = None
        failure: GearsError | None = None
        answer: Answer | None = None
        status: int | None = None
        with Deadline(self.connect_timeout + self.timeout) as deadline:
            try:
                response = self.session.request(
                    method,
                    self.base_url + path,
                    params=params,
                    data=data,
                    json=json_body,
                    headers={"Accept": "application/json"},
                    timeout=(self.connect_timeout, self.timeout),
                    # A redirect would resend the token in the query string to
                    # wherever Location points (and turn the POST into a GET).
                    allow_redirects=False,
                    verify=self.verify,
                    stream=True,  # the body is read in chunks, against the deadline and the size cap
                )
                status = response.status_code
                try:
                    answer = read_answer(response, read_body(response, deadline, self.max_body), secrets)
                finally:
                    response.close()
            except Exception as exc:  # noqa: BLE001 - a cut socket may surface as any error: classed below
                # str(exc) holds the full URL with access_token: use only its type.
                failure = self._failure(exc, deadline, status)
        outcome = f"failed ({failure.kind})" if failure is not None else str(status)
        elapsed_ms = (time.monotonic() - started) * 1000
        logger.info("%s %s %s %.0f ms", method, path, outcome, elapsed_ms)
        if failure is not None:
            # Raised outside the except block and from None: the requests
            # exception (URL and token in its text) is neither cause nor context.
            raise failure.error from None
        assert answer is not None
        self.last_exchange = Exchange(
            status=answer.status,
            date=Exchange.parse_date(answer.headers.get("Date")),
            tls=self.tls,
            tls_verified=self.tls and self.verify is not False,
            seconds=elapsed_ms / 1000,
            received_at=time.time(),
        )
        return answer

    def _failure(self, exc: Exception, deadline: Deadline, status: int | None) -> _Failure:
        """The GearsError for whatever ended the call early; re-raises what is no transport failure."""
        if deadline.fired or isinstance(exc, DeadlineExceeded):
            error = GearsError(
                f"no complete answer from the cloud within {deadline.seconds:g} s", permanent=False, ambiguous=True,
                status=status,
            )
            return _Failure("deadline", error)
        if isinstance(exc, BodyTooLarge):
            # We cannot read what it said, so a retry may fare better (a gateway's page); attempts are bounded.
            error = GearsError(
                f"answer from the cloud (HTTP {status}) longer than {self.max_body:,} bytes; not read",
                permanent=False, ambiguous=True, status=status, cause=UNREADABLE,
            )
            return _Failure("too large", error)
        if isinstance(exc, requests.RequestException):
            return _Failure(type(exc).__name__, transport_error(exc, self.where, self.connect_timeout, self.timeout))
        raise exc

    def _raise_for_status(self, answer: Answer) -> None:
        """Raise the GearsError for a non-2xx answer (after endpoint-specific cases)."""
        status = answer.status
        if 200 <= status < 300:
            return
        common = {"status": status, "upstream_msg": answer.upstream_msg, "rate_limit": answer.rate_limit}
        message = http_message(status, answer.upstream_msg)
        if status == 401:
            raise GearsAuthError(message, **common) from None
        if status == 429:
            raise GearsRateLimited(message, retry_after=retry_after_seconds(answer.rate_limit, answer.headers), **common) from None
        if 300 <= status < 400:
            location = answer.headers.get("Location")
            target = f" to {_origin(urljoin(self.base_url + '/', location))}" if location else ""
            message = f"HTTP {status} from the cloud: redirected{target}; check the base URL"
            raise GearsError(message, permanent=True, **common) from None
        if 400 <= status < 500:
            # 400 bad input, 403, 404, 405 wrong method, 406/413 paging,
            # 415 media type (docs/upstream/api-notes.md §4): the same request fails again.
            raise GearsError(message, permanent=True, **common) from None
        if status == 503:
            # Unavailable: the cloud says it did not process the request.
            raise GearsError(message, permanent=False, **common) from None
        # 500, 502, 504 (a gateway may time out while the backend acts) and
        # anything else: it may have taken effect.
        raise GearsError(message, permanent=False, ambiguous=True, **common) from None

    @staticmethod
    def _json_body(answer: Answer) -> dict[str, Any]:
        if answer.body is None:
            raise unexpected(answer, answer.not_object) from None
        return answer.body


def _check_opt(opt: int) -> None:
    # bool is an int in Python, and True == 1: reject it explicitly.
    if isinstance(opt, bool) or opt not in (OPT_MAC, OPT_HWID):
        raise ValueError("opt must be 0 (MAC address) or 1 (HWID)")


def _path_segment(identifier: str) -> str:
    """The identifier as one percent-encoded path segment.

    ":" stays as is so MACs look as documented (00:0c:29:f2:7a:29); "/", "?",
    "#", "%" and spaces are encoded so the identifier cannot change the
    path or start the query. "." and ".." cannot be sent at all: URL
    normalisation (urllib3, the server) removes them as dot segments.
    """
    if not isinstance(identifier, str) or not identifier or identifier in (".", ".."):
        raise ValueError("identifier must be a MAC address or HWID")
    return quote(identifier, safe=":")


def _origin(url: str) -> str:
    """scheme://host[:port] of `url`, without userinfo, path or query."""
    parts = urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    return f"{parts.scheme}://{host}" if parts.scheme else host
