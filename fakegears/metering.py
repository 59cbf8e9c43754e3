"""How the account's budget is metered and reported, in each reading the vendor leaves open.

docs/upstream/api-notes.md §4 describes X-RateLimit-Limit as the account's
limit and leaves open how a bulk request is counted and whether
X-RateLimit-Reset-Time is seconds from now or a Unix time (§6.1, §6.6). The
simulator plays each reading from its settings (fakegears.faults):

- `bulk_per_item`: a Devices Action (bulk) request costs one unit per device
  in its list, as another cloud of the same vendor meters bulk requests;
- `other_client`: another client of the same account (a SIEM add-on, an
  asset connector, a script) spends K requests at the start of every window;
- `reset_epoch`: Reset-Time is the Unix time of the reset;
- `limit_header`: the Limit header announces another number than the one enforced.

The defaults are §7.4's strict reading: one unit per request, nobody else,
seconds from now, the true limit.
"""

from __future__ import annotations

import json

from fakegears.ratelimit import RateDecision
from fakegears.responses import Request, Response
from fakegears.state import SimulatorState

BULK_TEMPLATE = "/o/api/v2/devices/action"
BULK_LISTS = ("MAC_list", "HWID_list")


def request_cost(state: SimulatorState, endpoint: str, request: Request) -> int:
    """Units of the limit this request costs: a bulk request's devices under `bulk_per_item`, else 1."""
    with state.lock:
        per_item = state.faults.bulk_per_item
    if not per_item or endpoint != BULK_TEMPLATE or request.method != "POST":
        return 1
    try:
        body = json.loads(request.body().decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return 1  # the handler answers 400; a request the cloud cannot read costs one unit [I]
    if not isinstance(body, dict):
        return 1
    items = next((body[name] for name in BULK_LISTS if isinstance(body.get(name), list)), [])
    return max(1, len(items))


def other_client_share(state: SimulatorState) -> int:
    """Requests another client spends at the start of every window (0: nobody else)."""
    with state.lock:
        return state.faults.other_client


def with_rate_headers(state: SimulatorState, response: Response, decision: RateDecision) -> Response:
    """`response` with the X-RateLimit-* headers of `decision`, as the settings in force report them."""
    with state.lock:
        limit, epoch = state.faults.limit_header, state.faults.reset_epoch
    response.headers = decision.headers(limit=limit, epoch=state.to_epoch(decision.arrival) if epoch else None) \
        + response.headers
    return response
