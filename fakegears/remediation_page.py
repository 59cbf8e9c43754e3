"""The remediation page that remediation links point to.

The real service hosts `/gears/remediation/<account>/<value>/<token>/remediation.html`
(example in get-remediation-link-v2.2.txt [D]); what it shows is not
documented. The simulator serves a plain page listing the device's hostname
and issues so that a demo user following a link from the dashboard lands
somewhere real. No auth and no rate limit: the link itself is the secret [I].
Every device-derived string is HTML-escaped.
"""

from __future__ import annotations

from html import escape

from fakegears.responses import Request, Response, html_response
from fakegears.state import SimulatorState

PAGE_PREFIX = "/gears/remediation/"
PAGE_TEMPLATE = "/gears/remediation/:account/:value/:token/remediation.html"


def remediation_page(state: SimulatorState, request: Request) -> Response:
    segments = request.path[len(PAGE_PREFIX) :].split("/")
    if len(segments) != 4 or segments[3] != "remediation.html":
        return _not_found()
    if request.method != "GET":
        response = html_response(405, _page("Method not allowed", "<p>Use GET.</p>"))
        response.headers.append(("Allow", "GET"))
        return response
    account, value, token = segments[:3]
    with state.lock:
        device = state.device_for_remediation_page(account, value, token)
        if device is None:
            return _not_found()
        hostname = device.hostname
        issues = list(device.issues)
        exempt = device.exempt
    if issues:
        items = "\n".join(f"      <li>{escape(issue)}</li>" for issue in issues)
        content = (
            f"<p>{len(issues)} issue(s) need attention on this device:</p>\n" f"    <ul>\n{items}\n    </ul>"
        )
    else:
        content = "<p>This device has no issues.</p>"
    if exempt != "none":
        content += f"\n    <p>Exemption mode: {escape(exempt)}</p>"
    return html_response(200, _page(f"Remediation for {hostname}", content, hostname))


def _not_found() -> Response:
    return html_response(404, _page("Not found", "<p>This remediation link is not valid.</p>"))


def _page(title: str, content: str, hostname: str | None = None) -> str:
    heading = (
        f'<h1>Remediation for <span class="hostname">{escape(hostname)}</span></h1>'
        if hostname is not None
        else f"<h1>{escape(title)}</h1>"
    )
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n'
        "  <head>\n"
        '    <meta charset="utf-8">\n'
        f"    <title>{escape(title)} - fakegears</title>\n"
        "    <style>body{font-family:sans-serif;max-width:40em;margin:2em auto}</style>\n"
        "  </head>\n"
        "  <body>\n"
        f"    {heading}\n"
        f"    {content}\n"
        "    <p><small>Simulated by fakegears (not an OPSWAT service).</small></p>\n"
        "  </body>\n"
        "</html>\n"
    )
