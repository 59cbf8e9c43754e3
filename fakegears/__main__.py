"""Command line: `python -m fakegears --port 8001 [options]`.

Prints one line `fakegears listening on <url> (client_id=<id>)` and serves
until SIGINT or SIGTERM, then exits 0. It never prints a token or the client
secret. `FAKEGEARS_CLIENT_SECRET` and `FAKEGEARS_STATIC_TOKEN` may replace the
flags of the same name, to keep secrets out of the process list.
"""

from __future__ import annotations

import argparse
import math
import os
import signal
import sys
import threading
from collections.abc import Callable, Sequence
from dataclasses import fields
from types import FrameType

from fakegears.config import DEFAULT_TOKEN_LIFETIME, DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, SimulatorConfig
from fakegears.server import start_simulator


def _bounded_int(low: int, high: int | None = None) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
        if value < low or (high is not None and value > high):
            limits = f"{low}..{high}" if high is not None else f">= {low}"
            raise argparse.ArgumentTypeError(f"{value} is out of range ({limits})")
        return value

    return parse


def _bounded_float(
    low: float, high: float | None = None, *, exclusive_low: bool = False
) -> Callable[[str], float]:
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        too_low = value <= low if exclusive_low else value < low
        if not math.isfinite(value) or too_low or (high is not None and value > high):
            bound = f"> {low}" if exclusive_low else f">= {low}"
            limits = f"{bound} and <= {high}" if high is not None else bound
            raise argparse.ArgumentTypeError(f"{text} is out of range ({limits})")
        return value

    return parse


def _non_empty(text: str) -> str:
    if not text:
        raise argparse.ArgumentTypeError("must not be empty")
    return text


def build_parser() -> argparse.ArgumentParser:
    defaults = SimulatorConfig()
    parser = argparse.ArgumentParser(
        prog="python -m fakegears",
        description="Simulator of the MetaDefender IT Access (OPSWAT Gears) cloud API.",
    )
    server = parser.add_argument_group("server")
    server.add_argument("--host", default="127.0.0.1", help="address to bind (default: %(default)s)")
    server.add_argument(
        "--port",
        type=_bounded_int(0, 65535),
        default=8001,
        help="port; 0 = any free port (default: %(default)s)",
    )
    server.add_argument(
        "--public-url", default=None, help="base of remediation links (default: http://<host>:<port>)"
    )
    server.add_argument(
        "--log-requests", action="store_true", help="print one redacted line per request on stderr"
    )

    data = parser.add_argument_group("demo data")
    data.add_argument(
        "--seed",
        type=int,
        default=defaults.seed,
        help="seed of the demo devices and fault RNG (default: %(default)s)",
    )
    data.add_argument(
        "--devices",
        type=_bounded_int(0),
        default=defaults.devices,
        help="number of devices (default: %(default)s)",
    )
    data.add_argument(
        "--account-id",
        type=_non_empty,
        default=None,
        help="account segment of remediation links (default: derived from the seed)",
    )
    data.add_argument(
        "--strict-ids", action="store_true", help="only the canonical lowercase colon MAC form is found"
    )
    data.add_argument(
        "--remediation-unknown-404",
        action="store_true",
        help="Get Remediation Link v2.2 answers 404 (not 200) for an unknown device",
    )

    limits = parser.add_argument_group("rate limit")
    limits.add_argument(
        "--limit",
        type=_bounded_int(1),
        default=defaults.limit,
        help="accepted requests per window (default: %(default)s)",
    )
    limits.add_argument(
        "--window",
        type=_bounded_float(0, exclusive_low=True),
        default=defaults.window,
        help="window in seconds, may be fractional (default: %(default)s)",
    )
    limits.add_argument(
        "--per-endpoint",
        action="store_true",
        help="one window per endpoint template instead of one per account",
    )
    limits.add_argument(
        "--limit-token-endpoint", action="store_true", help="count /o/oauth/token against the limit too"
    )

    oauth = parser.add_argument_group("OAuth")
    oauth.add_argument(
        "--client-id", type=_non_empty, default=DEMO_CLIENT_ID, help="OAuth client id (default: %(default)s)"
    )
    oauth.add_argument(
        "--client-secret",
        type=_non_empty,
        default=os.environ.get("FAKEGEARS_CLIENT_SECRET") or DEMO_CLIENT_SECRET,
        help=f"OAuth client secret (default: $FAKEGEARS_CLIENT_SECRET or {DEMO_CLIENT_SECRET})",
    )
    oauth.add_argument(
        "--token-lifetime",
        type=_bounded_float(0, exclusive_low=True),
        default=DEFAULT_TOKEN_LIFETIME,
        help="access token lifetime in seconds (default: %(default)s)",
    )
    oauth.add_argument(
        "--static-token",
        type=_non_empty,
        default=os.environ.get("FAKEGEARS_STATIC_TOKEN") or None,
        help="an extra access token, valid until POST /_sim/expire-tokens (default: $FAKEGEARS_STATIC_TOKEN or none)",
    )

    faults = parser.add_argument_group("faults (also settable at run time via POST /_sim/faults)")
    faults.add_argument(
        "--error-rate",
        type=_bounded_float(0, 1),
        default=0.0,
        help="probability of a 500 per accepted API request (default: 0)",
    )
    faults.add_argument(
        "--fail-next",
        type=_bounded_int(0),
        default=0,
        help="the next K accepted API requests answer 500 (default: 0)",
    )
    faults.add_argument(
        "--latency",
        type=_bounded_float(0),
        default=0.0,
        help="seconds added to each accepted API request (default: 0)",
    )
    faults.add_argument(
        "--hang-rate",
        type=_bounded_float(0, 1),
        default=0.0,
        help="probability an accepted API request hangs (default: 0)",
    )
    faults.add_argument(
        "--hang-next",
        type=_bounded_int(0),
        default=0,
        help="the next K accepted API requests hang (default: 0)",
    )
    faults.add_argument(
        "--malformed-next",
        type=_bounded_int(0),
        default=0,
        help="the next K accepted API requests answer 200 with an HTML body, not JSON (default: 0)",
    )
    faults.add_argument(
        "--hang-seconds",
        type=_bounded_float(0),
        default=defaults.hang_seconds,
        help="how long a hung request sleeps before a 504 (default: %(default)s)",
    )
    faults.add_argument("--down", action="store_true", help="start down: API and OAuth answer 503")
    faults.add_argument(
        "--remediation-link-override",
        default=None,
        help="force the remediation_link value returned (for testing hostile links)",
    )
    return parser


def config_from_args(args: argparse.Namespace) -> SimulatorConfig:
    known = {item.name for item in fields(SimulatorConfig)}
    return SimulatorConfig(**{name: value for name, value in vars(args).items() if name in known})


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    config = config_from_args(args)
    try:
        config.validate()
    except ValueError as problem:
        parser.error(str(problem))
    try:
        simulator = start_simulator(config)
    except OSError as problem:
        # e.g. the port is taken or the host is not an address of this machine
        parser.error(
            f"--host/--port: cannot listen on {config.host}:{config.port}: {problem.strerror or problem}"
        )

    stop_requested = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        stop_requested.set()

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    print(f"fakegears listening on {simulator.base_url} (client_id={config.client_id})", flush=True)
    try:
        # Short waits so the main thread runs the signal handlers promptly.
        while not stop_requested.wait(0.2):
            pass
    finally:
        simulator.stop()
    print("fakegears stopped", file=sys.stderr, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
