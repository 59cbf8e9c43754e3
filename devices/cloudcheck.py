"""The connection check of an operator's first day: one token grant and one Get Devices page, reported.

`manage.py check_cloud` and the Upstream page's "Test connection" button
both run `run_check`. It grants a token with the client credentials (or
says it skips the grant when GEARS_ACCESS_TOKEN is set), then asks for one
Get Devices page of one device through the budget: the call is logged in
the attempt log in the slot a click could take (devices.outbox.checkslot),
so it spends one request of the window and no more. The token grant is not
an API call of the budget (docs/upstream/api-notes.md §3), and stays out of it.

The report says whether the cloud answered and over verified TLS, whether
the credentials were accepted and for how long the token lives, the shape of
the page (envelope and count), the X-RateLimit-* headers and the clock
difference the answer's Date header shows. A failure ends the check with
what to fix, naming the setting. Nothing in it is secret: the client's
messages hold no token and no URL with its query, and the check adds only
origins, numbers and setting names.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from django.conf import settings

from devices.outbox import (
    CheckSlot,
    NoSlot,
    credentials_refused,
    finish_check,
    take_check_slot,
    upstream_client,
    worker_name,
)
from devices.upstream import (
    CONNECT_TIMEOUT,
    NAME_NOT_FOUND,
    REFUSED,
    TLS,
    TLS_UNTRUSTED,
    UNREADABLE,
    DevicePage,
    Exchange,
    GearsAuthError,
    GearsClient,
    GearsError,
    GearsRateLimited,
)

# The Date header counts whole seconds, and is stamped before the answer travels: a difference
# this small is the header's own rounding, beyond it the clocks disagree.
CLOCK_TOLERANCE = 5.0
ENVELOPES = {
    "array": "a bare JSON array of devices",
    "devices": 'an object with the list under "devices"',
    "results": 'an object with the list under "results"',
}


@dataclass(frozen=True)
class Finding:
    """One line of the report: what was looked at, and what was found."""

    topic: str
    text: str
    warning: bool = False  # worth a look, though the check passed

    def __str__(self) -> str:
        return f"{self.topic + ':':<12} {self.text}"


@dataclass
class Report:
    findings: list[Finding] = field(default_factory=list)
    problem: str = ""  # what to fix; "" when the check passed

    @property
    def ok(self) -> bool:
        return not self.problem

    @property
    def summary(self) -> str:
        """One line for the audit log."""
        return "the cloud answered; the check passed" if self.ok else f"failed: {self.problem}"


def slot_wait_bound() -> float:
    """The longest a click can wait for a slot when nothing is paused: an unfinished call holds its slot
    for a call's timeout plus the window and its margin, and clicks are paced a window's share apart."""
    limit = settings.GEARS_RATE_LIMIT
    return (settings.GEARS_CONNECT_TIMEOUT + settings.GEARS_TIMEOUT + limit.window + settings.GEARS_RATE_MARGIN
            + limit.window / limit.requests)


def run_check(*, max_wait: float, on_finding: Callable[[Finding], None] = lambda finding: None,
              sleep: Callable[[float], None] = time.sleep, monotonic: Callable[[], float] = time.monotonic,
              client: GearsClient | None = None) -> Report:
    """Run the check, telling each finding to `on_finding` as it is made; wait at most `max_wait` s for a slot."""
    report = Report()

    def find(topic: str, text: str, warning: bool = False) -> None:
        finding = Finding(topic, text, warning)
        report.findings.append(finding)
        on_finding(finding)

    worker = f"check_cloud:{worker_name()}"
    waits: list[float] = []

    def slot(*, take: bool) -> CheckSlot:
        def waiting(until: datetime) -> None:
            if not any(waits):
                find("Budget", f"no request of the budget is free now: waiting until {until:%H:%M:%S} UTC for the "
                               "next one a click could take")
        found = take_check_slot(worker, max_wait=max(max_wait - sum(waits), 0.0), sleep=sleep, monotonic=monotonic,
                                on_wait=waiting, take=take)
        waits.append(found.waited)
        return found

    client = client or upstream_client()
    with client:
        find("Cloud", f"{client.where} (GEARS_BASE_URL)")
        static = bool(settings.GEARS_ACCESS_TOKEN)
        try:
            # The grant waits for a free slot too (taking none): a button clicked again and again paces its grants.
            slot(take=False)
        except NoSlot as busy:
            report.problem = no_slot(busy)
            return report
        token = _credentials(find, client, report)
        if token is None:
            return report
        try:
            taken = slot(take=True)  # a click may have taken the slot during the grant
        except NoSlot as busy:
            report.problem = no_slot(busy)
            return report
        page = _page(client, token, taken.attempt_id)
        limit = settings.GEARS_RATE_LIMIT
        waited = f", after waiting {sum(waits):.0f} s for it" if sum(waits) >= 0.5 else ""
        find("Budget", f"1 request of the budget spent (GEARS_RATE_LIMIT: {limit}){waited}")
        if static:
            _answered(find, client)
        if isinstance(page, GearsError):
            report.problem = what_to_fix(page, client, stage="page", static=static)
            return report
        if static:
            find("Credentials", "GEARS_ACCESS_TOKEN accepted (its lifetime is not known: no grant was made)")
        find("Page", _shape(page))
        _rate_limit_findings(find, page)
        _clock_finding(find, client.last_exchange)
    return report


def _credentials(find: Callable[..., None], client: GearsClient, report: Report) -> str | None:
    """The token the page call uses: the static one, or one granted now (None: refused, the problem is set)."""
    if settings.GEARS_ACCESS_TOKEN:
        find("Credentials", "GEARS_ACCESS_TOKEN is set: no token grant; the page request tries the token")
        return settings.GEARS_ACCESS_TOKEN
    try:
        granted = client.fetch_token(settings.GEARS_CLIENT_ID, settings.GEARS_CLIENT_SECRET)
    except GearsError as error:
        _answered(find, client)
        report.problem = what_to_fix(error, client, stage="token")
        return None
    _answered(find, client)
    find("Credentials", f"GEARS_CLIENT_ID and GEARS_CLIENT_SECRET accepted: a token for "
                        f"{granted.expires_in:,} s ({_duration(granted.expires_in)})")
    return granted.access_token


def no_slot(busy: NoSlot) -> str:
    return f"No request of the budget could be had: {busy.reason}. Run the check again after that."


def _page(client: GearsClient, token: str, attempt_id: int) -> DevicePage | GearsError:
    """The one page of one device, its outcome written to the check's attempt whatever happens."""
    outcome: DevicePage | GearsError = GearsError("the check stopped before the answer came", permanent=False,
                                                   ambiguous=True)
    try:
        outcome = client.list_devices(token, page=1, limit=1)
    except GearsError as error:
        outcome = error
    finally:
        finish_check(attempt_id, outcome)
    return outcome


def _answered(find: Callable[..., None], client: GearsClient) -> None:
    exchange = client.last_exchange
    if exchange is None:
        return  # no answer came: the failure says why
    find("Answered", f"HTTP {exchange.status} in {exchange.seconds * 1000:,.0f} ms")
    if not exchange.tls:
        find("TLS", "not used (GEARS_BASE_URL is http://): use https:// for a real account", warning=True)
    elif exchange.tls_verified:
        where = "the bundle GEARS_CA_BUNDLE names" if settings.GEARS_CA_BUNDLE else "this machine's CAs"
        find("TLS", f"verified against {where}")
    else:
        find("TLS", "used, but the certificate was NOT verified", warning=True)


def _shape(page: DevicePage) -> str:
    envelope = ENVELOPES.get(page.envelope, f"an envelope named {page.envelope!r}")
    count = (f"a count of {page.count:,} device{'s' if page.count != 1 else ''} in all" if page.count is not None
             else "no count of the devices in all")
    return f"Get Devices answered {envelope}, with {count}; {len(page.devices)} device on a page of {page.limit}"


def _rate_limit_findings(find: Callable[..., None], page: DevicePage) -> None:
    info = page.rate_limit
    ours = settings.GEARS_RATE_LIMIT
    if info is None:
        find("Rate limit", f"no X-RateLimit-* headers: the console keeps to GEARS_RATE_LIMIT ({ours}) alone")
        return

    def shown(value: object, unit: str = "") -> str:
        return "absent or unreadable" if value is None else f"{value:g}{unit}" if isinstance(value, float) else f"{value}"

    find("Rate limit", f"X-RateLimit-Limit {shown(info.limit)}, X-RateLimit-Remaining {shown(info.remaining)}, "
                       f"X-RateLimit-Reset-Time {shown(info.reset_seconds, ' s from now')}")
    if info.limit is not None and info.limit < ours.requests:
        find("Rate limit", f"the cloud allows {info.limit} requests a window, GEARS_RATE_LIMIT {ours.requests}: "
                           f"lower GEARS_RATE_LIMIT", warning=True)


def _clock_finding(find: Callable[..., None], exchange: Exchange | None) -> None:
    if exchange is None or exchange.date is None:
        find("Clock", "the answer has no readable Date header: the clocks cannot be compared", warning=True)
        return
    # The header is the server's time cut to the second: its middle is the best guess.
    difference = exchange.date.timestamp() + 0.5 - exchange.received_at
    if round(difference) == 0:
        text = "the cloud's Date header agrees with this machine's clock to within 1 s (it counts whole seconds)"
    else:
        side = "ahead of" if difference > 0 else "behind"
        text = f"the cloud's clock is {abs(difference):.0f} s (± 1 s) {side} this machine's, from its Date header"
    if abs(difference) > CLOCK_TOLERANCE + exchange.seconds:
        find("Clock", f"{text}: set this machine's time by NTP", warning=True)
    else:
        find("Clock", text)


def what_to_fix(error: GearsError, client: GearsClient, *, stage: str, static: bool = False) -> str:
    """The failure, and the setting or the thing to change for it. `stage`: "token" or "page"."""
    where = client.where
    if error.cause == NAME_NOT_FOUND:
        return (f"The cloud could not be reached: the host name of {where} was not found. "
                "Check the host in GEARS_BASE_URL, and this machine's DNS.")
    if error.cause == REFUSED:
        return (f"The cloud could not be reached: {where} refused the connection. Check the host and port in "
                "GEARS_BASE_URL, and that no firewall or proxy stands in the way.")
    if error.cause == CONNECT_TIMEOUT:
        return (f"The cloud could not be reached: {error}. Check GEARS_BASE_URL, and that the firewall lets this "
                "machine out to it.")
    if error.cause == TLS_UNTRUSTED:
        bundle = ("the bundle GEARS_CA_BUNDLE names does not hold its CA" if settings.GEARS_CA_BUNDLE
                  else "this machine's CAs do not know it")
        return (f"TLS failed: {error}; {bundle}. If a proxy or a private CA signs the cloud's certificate, set "
                "GEARS_CA_BUNDLE to the path of a PEM file holding that CA's certificate.")
    if error.cause == TLS:
        return (f"TLS failed: {error}. Check that GEARS_BASE_URL's scheme and port match the server "
                "(https:// on a TLS port), and GEARS_CA_BUNDLE if one is set.")
    if error.status is None and not error.ambiguous:
        return f"The cloud could not be reached: {error}. Check GEARS_BASE_URL and this machine's network."
    if isinstance(error, GearsRateLimited):
        paused = "; sending is paused until the cloud's reset time" if stage == "page" else ""
        return (f"The cloud refused the request as over its rate limit: {error}. Another client may share the "
                f"account{paused}.")
    if stage == "token" and error.permanent and credentials_refused(error):
        return f"The cloud refused the credentials: {error}. Check GEARS_CLIENT_ID and GEARS_CLIENT_SECRET."
    if stage == "page" and isinstance(error, GearsAuthError):
        if static:
            return (f"The cloud refused GEARS_ACCESS_TOKEN: {error}. Set a valid token, or unset "
                    "GEARS_ACCESS_TOKEN and set GEARS_CLIENT_ID and GEARS_CLIENT_SECRET.")
        return (f"The cloud granted a token but refused it for Get Devices: {error}. Check that the API client "
                "GEARS_CLIENT_ID names may use the API.")
    if error.cause == UNREADABLE:
        return (f"The cloud answered, but not in a way the console can read: {error}. Check that GEARS_BASE_URL "
                "is the cloud's API address, not a proxy's or a portal's page.")
    if error.status is None:
        shortened = (f" (this check waited at most {client.timeout:g} s, to end within the web server's timeout; "
                     "manage.py check_cloud waits the whole GEARS_TIMEOUT)" if client.timeout < settings.GEARS_TIMEOUT
                     else "")
        return (f"The cloud did not answer in time: {error}. Check GEARS_BASE_URL, or raise GEARS_TIMEOUT "
                f"if the link is slow{shortened}.")
    return f"The cloud answered with an error: {error}. Check GEARS_BASE_URL and the account's API access."


def _duration(seconds: int) -> str:
    hours, rest = divmod(seconds, 3600)
    minutes = rest // 60
    if hours:
        return f"{hours} h {minutes} min"
    return f"{minutes} min" if minutes else f"{seconds} s"
