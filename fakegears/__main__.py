"""Command line: `python -m fakegears --port 8001 [options]`.

Prints one line `fakegears listening on <url> (client_id=<id>)` and serves
until SIGINT or SIGTERM, then exits 0. It never prints a token or the client
secret. `FAKEGEARS_CLIENT_SECRET` and `FAKEGEARS_STATIC_TOKEN` may replace the
flags of the same name, to keep secrets out of the process list.
"""

from __future__ import annotations

import argparse
import os
import signal
import ssl
import sys
import threading
from collections.abc import Callable, Sequence
from dataclasses import fields
from types import FrameType
from typing import Any

from fakegears.config import (
    DEMO_CLIENT_SECRET,
    DEVICE_COUNT,
    LIMIT,
    NON_EMPTY,
    PORT,
    POSITIVE_SECONDS,
    SimulatorConfig,
)
from fakegears.faults import FAULT_SPECS
from fakegears.kinds import Number, Switch, Text
from fakegears.server import start_simulator


def _flag_type(kind: Number | Text) -> Callable[[str], Any]:
    """argparse `type=` for a kind: its message becomes "argument --flag: must be ..."."""

    def parse(text: str) -> Any:
        try:
            return kind.parse(text)
        except ValueError as problem:
            raise argparse.ArgumentTypeError(str(problem)) from None

    return parse


def add_fault_flags(parser: argparse.ArgumentParser) -> None:
    """One flag per declared fault (fakegears.faults), named after it with dashes."""
    group = parser.add_argument_group("faults (also settable at run time via POST /_sim/faults)")
    for spec in FAULT_SPECS:
        if isinstance(spec.kind, Switch):
            group.add_argument(spec.flag, action="store_true", help=f"start with: {spec.help}")
        else:
            default = "none" if spec.default is None else "%(default)s"
            group.add_argument(
                spec.flag,
                type=_flag_type(spec.kind),
                default=spec.default,
                help=f"{spec.help} (default: {default})",
            )


def build_parser() -> argparse.ArgumentParser:
    defaults = SimulatorConfig()
    parser = argparse.ArgumentParser(
        prog="python -m fakegears",
        description="Simulator of the MetaDefender IT Access (OPSWAT Gears) cloud API.",
    )
    server = parser.add_argument_group("server")
    server.add_argument("--host", default=defaults.host, help="address to bind (default: %(default)s)")
    server.add_argument(
        "--port",
        type=_flag_type(PORT),
        default=8001,
        help="port; 0 = any free port (default: %(default)s)",
    )
    server.add_argument(
        "--public-url", default=None, help="base of remediation links (default: http://<host>:<port>)"
    )
    server.add_argument(
        "--log-requests", action="store_true", help="print one redacted line per request on stderr"
    )
    server.add_argument(
        "--tls-cert", default=None, metavar="PEM",
        help="serve https with this certificate (chain), as a cloud behind a private CA; needs --tls-key",
    )
    server.add_argument("--tls-key", default=None, metavar="PEM", help="the private key of --tls-cert")

    data = parser.add_argument_group("demo data")
    data.add_argument(
        "--seed",
        type=int,
        default=defaults.seed,
        help="seed of the demo devices and fault RNG (default: %(default)s)",
    )
    data.add_argument(
        "--devices",
        type=_flag_type(DEVICE_COUNT),
        default=defaults.devices,
        help="number of devices (default: %(default)s)",
    )
    data.add_argument(
        "--account-id",
        type=_flag_type(NON_EMPTY),
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
        type=_flag_type(LIMIT),
        default=defaults.limit,
        help="accepted requests per window (default: %(default)s)",
    )
    limits.add_argument(
        "--window",
        type=_flag_type(POSITIVE_SECONDS),
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
        "--client-id",
        type=_flag_type(NON_EMPTY),
        default=defaults.client_id,
        help="OAuth client id (default: %(default)s)",
    )
    oauth.add_argument(
        "--client-secret",
        type=_flag_type(NON_EMPTY),
        default=os.environ.get("FAKEGEARS_CLIENT_SECRET") or DEMO_CLIENT_SECRET,
        help=f"OAuth client secret (default: $FAKEGEARS_CLIENT_SECRET or {DEMO_CLIENT_SECRET})",
    )
    oauth.add_argument(
        "--token-lifetime",
        type=_flag_type(POSITIVE_SECONDS),
        default=defaults.token_lifetime,
        help="access token lifetime in seconds (default: %(default)s)",
    )
    oauth.add_argument(
        "--static-token",
        type=_flag_type(NON_EMPTY),
        default=os.environ.get("FAKEGEARS_STATIC_TOKEN") or None,
        help="an extra access token, valid until POST /_sim/expire-tokens (default: $FAKEGEARS_STATIC_TOKEN or none)",
    )

    add_fault_flags(parser)
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
    if config.tls_cert:
        try:
            ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER).load_cert_chain(config.tls_cert, config.tls_key)
        except (OSError, ssl.SSLError) as problem:
            parser.error(f"--tls-cert/--tls-key: cannot load them: {getattr(problem, 'strerror', None) or problem}")
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
