"""Short-lived tokens and an outage mid-drain (tokens living 44 s must not cost a grant per call, nor an outage minutes of silence), against the simulator in-process.

Usage: .venv/bin/python bench/token_outage.py [--lifetime 44 --outage 30 --limit 10 --window 10
                                                --actions 80 --drainers 2 --fault refuse --scale 1]

The simulator grants tokens living `--lifetime` s and allows `--limit` calls
per `--window` s. `--drainers` threads drain a bulk job of `--actions`
actions; a second after the second token is granted, the cloud goes away for
`--outage` s (`refuse`: connections refused; `down`: 503 from every endpoint).
`--scale` multiplies every time (and GEARS_RETRY_BASE / GEARS_RETRY_CAP,
30 / 1800 s by default). `--window 60` is the real limit (the run then lasts
about 9 minutes and needs one grant per lifetime: about 13).

Prints the token grants, the lines logged during the outage (warnings and
errors; and every line, the client's one per request included), the token
requests made while the cloud was away, the seconds from its return to the
first call it answered, and the 429s. Runs on a throw-away SQLite file, or on
the (empty) database DATABASE_URL names.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import tempfile
import threading
import time
from datetime import UTC
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


class Recorder(logging.Handler):
    """Keeps every record of the project's loggers, with the time it was made."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def between(self, start: float, end: float) -> list[logging.LogRecord]:
        return [r for r in self.records if start <= r.created <= end]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lifetime", type=float, default=44.0, help="token lifetime, seconds")
    parser.add_argument("--outage", type=float, default=30.0, help="seconds the cloud is away")
    parser.add_argument("--limit", type=int, default=10)
    parser.add_argument("--window", type=float, default=10.0)
    parser.add_argument("--actions", type=int, default=80)
    parser.add_argument("--drainers", type=int, default=2)
    parser.add_argument("--fault", choices=("refuse", "down"), default="refuse")
    parser.add_argument("--scale", type=float, default=1.0, help="multiplies every time")
    args = parser.parse_args()
    lifetime, outage, window = args.lifetime * args.scale, args.outage * args.scale, args.window * args.scale

    from fakegears.server import SimulatorConfig, start_simulator

    sim = start_simulator(SimulatorConfig(limit=args.limit, window=window, token_lifetime=lifetime))
    os.environ.update({
        "GEARSDASH_VAR_DIR": os.environ.get("GEARSDASH_VAR_DIR") or tempfile.mkdtemp(prefix="gearsdash-tokbench-"),
        "GEARS_BASE_URL": sim.base_url,
        "GEARS_RATE_LIMIT": f"{args.limit}/{window:g}",
        "GEARS_RETRY_BASE": f"{30 * args.scale:g}",
        "GEARS_RETRY_CAP": f"{1800 * args.scale:g}",
        "GEARS_DRAINERS": str(args.drainers),
        "GEARS_KICK_DRAINER": "0",
        "DJANGO_HTTPS": "0",
        "GEARSDASH_LOG_LEVEL": "WARNING",
        "DJANGO_SETTINGS_MODULE": "gearsdash.settings",
    })
    import django

    django.setup()
    import requests
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import connections
    from harness import drainer_threads, run_threads

    from devices import outbox
    from devices.models import Action, Device, UpstreamAttempt

    call_command("migrate", verbosity=0)
    recorder = Recorder()
    for name in ("devices", "gearsdash"):
        logging.getLogger(name).addHandler(recorder)
        logging.getLogger(name).setLevel(logging.INFO)
        logging.getLogger(name).propagate = False  # the lines that matter are printed below
    user, _ = get_user_model().objects.get_or_create(username="bench")
    known = [d["hwid"] for d in requests.get(f"{sim.base_url}/_sim/devices", timeout=5).json()["devices"]]
    # Devices the simulator does not know answer 404: an answer, and a call against the limit, all the same.
    hwids = (known + [f"TOKBENCH{i:08d}" for i in range(args.actions)])[: args.actions]
    Device.objects.bulk_create([Device(name=f"tokbench-{i:05d}", hwid=h) for i, h in enumerate(hwids)])
    outbox.enqueue_bulk(list(Device.objects.values_list("pk", flat=True)), "dhcprenew", user=user)
    print(f"{connections['default'].vendor}; tokens live {lifetime:g} s, outage {outage:g} s ({args.fault}), "
          f"limit {args.limit} per {window:g} s, {args.actions} actions, {args.drainers} drainers")

    def grants() -> int:
        return requests.get(f"{sim.base_url}/_sim/stats", timeout=5).json()["token_grants"]

    marks: dict[str, float] = {}

    def cut_the_cloud() -> None:
        while grants() < 2:  # mid-drain, over a token's refresh
            time.sleep(0.05)
        time.sleep(0.6 * lifetime)  # the outage then covers the next refresh
        marks["down"] = time.time()
        if args.fault == "refuse":
            sim.refuse_connections()
        else:
            requests.post(f"{sim.base_url}/_sim/faults", json={"down": True}, timeout=5)
        time.sleep(outage)
        if args.fault == "refuse":
            sim.accept_connections()
        else:
            requests.post(f"{sim.base_url}/_sim/faults", json={"down": False}, timeout=5)
        marks["back"] = time.time()

    threads = [threading.Thread(target=cut_the_cloud)]
    threads += drainer_threads(args.drainers, "tokbench", max_runtime=45, statuses=Action.PENDING)
    elapsed = run_threads(threads)
    stats = requests.get(f"{sim.base_url}/_sim/stats", timeout=5).json()
    sim.stop()

    from datetime import datetime

    back = datetime.fromtimestamp(marks["back"], tz=UTC)
    answered = UpstreamAttempt.objects.filter(outcome__in=["ok", "refused"], started_at__gte=back)
    first = answered.order_by("started_at").values_list("started_at", flat=True).first()
    resumed = (first - back).total_seconds() if first else float("nan")
    window_end = first.timestamp() if first else time.time()
    during = recorder.between(marks["down"], window_end)
    loud = [r for r in during if r.levelno >= logging.WARNING]
    token_tries = sum(1 for r in during if "/o/oauth/token failed" in r.getMessage())
    print(f"drained in {elapsed:.1f} s: {Action.objects.filter(status='succeeded').count()} succeeded, "
          f"{Action.objects.filter(status='failed').count()} refused by the cloud (unknown device, no agent)")
    print(f"token grants: {stats['token_grants']} (one per {0.9 * lifetime:.1f} s of run at most "
          f"{int(elapsed // (0.9 * lifetime)) + 1})")
    print(f"lines logged from the outage to the first answered call: {len(loud)} warnings/errors, "
          f"{len(during)} in all (the client logs one line per request)")
    for record in loud:
        print(f"    {record.levelname} {record.getMessage()[:150]}")
    print(f"token requests while the cloud was away: {token_tries}")
    print(f"first call answered {resumed:.2f} s after the cloud's return")
    print(f"429s from the simulator: {stats['rate_limited']}")


if __name__ == "__main__":
    main()
