"""Time one bulk exempt_all on N devices, batched, against the simulator at a given limit.

Usage: .venv/bin/python bench/bulk_batches.py [--devices 3000 --limit 10 --window 60 --drainers 2 --batch 50]

The simulator and the inventory both hold the N devices (by HWID); one bulk
job is drained by drainer threads, as several workers would. Prints the
total time, device-actions per minute, the requests and 429s the simulator
saw, and the most it accepted in any window. The default is the real limit
(10 per 60 s: about 6.5 minutes for 3,000 devices); `--window 2` scales it
down for a quick check.

Runs on a throw-away SQLite file, or on the database DATABASE_URL names
(use an empty one: it is filled).
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


from bootstrap import start_django_on  # noqa: E402 (bench/ is on sys.path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, default=3000)
    parser.add_argument("--limit", type=int, default=10)
    parser.add_argument("--window", type=float, default=60.0)
    parser.add_argument("--drainers", type=int, default=2)
    parser.add_argument("--batch", type=int, default=50, help="GEARS_BATCH_SIZE")
    args = parser.parse_args()

    from fakegears.server import SimulatorConfig, start_simulator

    sim = start_simulator(SimulatorConfig(limit=args.limit, window=args.window, devices=args.devices))
    start_django_on(sim, args.limit, args.window, GEARS_BATCH_SIZE=str(args.batch))
    import requests
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import connection
    from harness import drainer_threads, run_threads

    from devices import outbox
    from devices.models import Action, Device

    call_command("migrate", verbosity=0)
    user, _ = get_user_model().objects.get_or_create(username="bench")
    simulated = requests.get(f"{sim.base_url}/_sim/devices", timeout=30).json()["devices"]
    Device.objects.bulk_create([Device(name=f"bb-{i:05d}", hwid=d["hwid"]) for i, d in enumerate(simulated)],
                               batch_size=1000, ignore_conflicts=True)
    ids = list(Device.objects.filter(name__startswith="bb-").values_list("pk", flat=True))
    print(f"database: {connection.vendor}; simulator limit {args.limit} per {args.window:g} s; "
          f"{len(ids):,} devices; GEARS_BATCH_SIZE {settings.GEARS_BATCH_SIZE}; {args.drainers} drainers")
    job = outbox.enqueue_bulk(ids, "exempt_all", user=user, description="bench: bulk exempt_all")

    elapsed = run_threads(drainer_threads(args.drainers, "bulk", max_runtime=min(45.0, 3 * args.window),
                                          statuses=["queued", "retrying", "sending"]))
    stats = requests.get(f"{sim.base_url}/_sim/stats", timeout=30).json()
    api = [e for e in stats["request_log"] if e["path"].startswith("/o/api/")]
    done = job.actions.filter(status=Action.Status.SUCCEEDED).count()
    budget = outbox.budget.budget()
    fewest = math.ceil(len(ids) / args.batch)
    rows = [
        ("devices exempted", f"{done:,} of {len(ids):,}"),
        ("total time", f"{elapsed:.1f} s ({elapsed / 60:.2f} min)"),
        ("device-actions per minute", f"{60 * done / elapsed:,.0f}"),
        ("requests to the cloud", f"{len(api)} (fewest possible {fewest})"),
        ("429s", str(stats["rate_limited"])),
        ("most accepted in any window", f"{stats['max_accepted_in_window']} (limit {args.limit}; "
                                        f"bulk work may use {budget.bulk_slots})"),
    ]
    width = max(len(name) for name, _ in rows)
    print()
    for name, value in rows:
        print(f"{name:<{width}}  {value}")
    sim.stop()


if __name__ == "__main__":
    main()
