"""Measure a whole cloud sync from a simulator that answers Get Devices as a bare JSON array with no count.

Usage: .venv/bin/python bench/sync_envelope.py [--devices 500 --limit 10 --window 2 --drainers 2]

The shape a cloud written from the vendor's pages answers (docs/upstream/api-notes.md
§2.4 documents the items only): no `total`, so the sync must end at the short or
empty page, or at the 413 past the end. For each way past the end it prints the
devices brought in, the page requests made, the actions left open and the time
on the scaled clock (the simulator's window shortened to --window seconds), also
scaled back to the real 60-second window.

Runs on a throw-away SQLite file, or on the database DATABASE_URL names
(use an empty one: it is filled).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


from bootstrap import start_django_on  # noqa: E402 (bench/ is on sys.path)

PAGE_PATH = "/o/api/v2.2/devices"
REAL_WINDOW = 60.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, default=500)
    parser.add_argument("--limit", type=int, default=10)
    parser.add_argument("--window", type=float, default=2.0)
    parser.add_argument("--drainers", type=int, default=2)
    args = parser.parse_args()

    from fakegears.server import SimulatorConfig, start_simulator

    sim = start_simulator(SimulatorConfig(devices=args.devices, limit=args.limit, window=args.window,
                                          devices_envelope="array"))
    start_django_on(sim, args.limit, args.window, GEARS_RATE_MARGIN="0.02")
    import time

    import requests
    from django.core.management import call_command
    from django.db import connection
    from harness import drainer_threads, run_threads

    from devices.cloudsync import pages
    from devices.models import Action, AuditEntry, CloudSync, Device

    call_command("migrate", verbosity=0)
    print(f"database: {connection.vendor}; {args.devices} simulated devices, a bare array with no count; "
          f"limit {args.limit} per {args.window:g} s; {args.drainers} drainers\n")
    print(f"{'past the end':<14} {'sync':<10} {'devices in':>10} {'page requests':>14} {'open actions':>13} "
          f"{'scaled s':>9} {'as real s':>10}")
    for past_end in ("413", "empty"):
        AuditEntry.objects.all().delete()
        Action.objects.all().delete()
        CloudSync.objects.all().delete()
        Device.objects.all().delete()
        requests.post(f"{sim.base_url}/_sim/reset", timeout=5)
        requests.post(f"{sim.base_url}/_sim/faults", json={"devices_envelope": "array", "past_end": past_end},
                      timeout=5)
        time.sleep(args.window)  # the simulator's window is empty again
        started = pages.start_sync(CloudSync.Trigger.COMMAND).sync
        elapsed = run_threads(drainer_threads(args.drainers, f"envbench-{past_end}", max_runtime=30,
                                              statuses=["queued", "retrying", "sending"]))
        sync = CloudSync.objects.get(pk=started.pk)
        log = requests.get(f"{sim.base_url}/_sim/stats", timeout=5).json()["request_log"]
        pages = [entry for entry in log if entry["path"] == PAGE_PATH]
        open_actions = Action.objects.filter(status__in=("queued", "retrying", "sending")).count()
        print(f"{past_end:<14} {sync.get_status_display().lower():<10} {Device.objects.count():>10} "
              f"{len(pages):>14} {open_actions:>13} {elapsed:>9.1f} {elapsed * REAL_WINDOW / args.window:>10.0f}")
    sim.stop()


if __name__ == "__main__":
    main()
