"""Measure a cloud sync: the page writer alone, and a whole sync through the outbox against the simulator.

Usage: .venv/bin/python bench/sync_pages.py [--devices 500 --limit 10 --window 2 --drainers 2]

1. The writer alone: every page fetched first, then written as a first sync
   (the inventory knows half the devices, a few with stale values) and again
   unchanged (nothing to write but presence); milliseconds per page of 50.
2. A whole sync through the outbox, the inventory reset to the same start,
   drained by drainer threads at the scaled limit: wall time, page requests
   (expected: ceil(devices / 50), and one more, the 413 past a full last page), 429s, the most the simulator accepted in any
   window, and what the sync added, updated and marked.

Runs on a throw-away SQLite file, or on the database DATABASE_URL names
(use an empty one: it is filled).
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


from bootstrap import start_django_on  # noqa: E402 (bench/ is on sys.path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, default=500)
    parser.add_argument("--limit", type=int, default=10)
    parser.add_argument("--window", type=float, default=2.0)
    parser.add_argument("--drainers", type=int, default=2)
    args = parser.parse_args()

    from fakegears.server import SimulatorConfig, start_simulator

    sim = start_simulator(SimulatorConfig(devices=args.devices, limit=args.limit, window=args.window))
    start_django_on(sim, args.limit, args.window, GEARS_RATE_MARGIN="0.02")
    import requests
    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone
    from harness import drainer_threads, run_threads

    from devices.cloudsync import pages, write_page
    from devices.models import Action, AuditEntry, CloudSync, Device
    from devices.upstream import GearsClient

    call_command("migrate", verbosity=0)
    cloud = sim.state.devices
    print(f"database: {connection.vendor}; {args.devices} simulated devices; limit {args.limit} per {args.window:g} s;"
          f" {args.drainers} drainers\n")

    def reset_inventory() -> None:
        AuditEntry.objects.all().delete()
        Action.objects.all().delete()
        CloudSync.objects.all().delete()
        Device.objects.all().delete()
        Device.objects.bulk_create([Device(name=f"mine-{i:05d}", hwid=d.hwid) for i, d in enumerate(cloud[::2])])
        Device.objects.bulk_create([Device(name=f"gone-{i:02d}", hwid=f"GONE{i:012d}") for i in range(10)])

    # 1. The writer alone.
    reset_inventory()
    with GearsClient(sim.base_url) as client:
        token = client.fetch_token("gearsdash-demo", "gearsdash-demo-secret").access_token
        pages = [client.list_devices(token, 1)]
        while not pages[-1].is_last and pages[-1].page * 50 < args.devices:  # no 413 past a full last page
            time.sleep(args.window / args.limit)  # stay inside the simulator's limit
            pages.append(client.list_devices(token, pages[-1].page + 1))
    rows = []
    for label in ("first sync (half known)", "again, unchanged"):
        audit_before = AuditEntry.objects.count()
        durations = []
        for page in pages:
            started = time.perf_counter()
            write_page(page.devices, now=timezone.now())
            durations.append((time.perf_counter() - started) * 1000)
        rows.append((label, len(pages), statistics.median(durations), max(durations), sum(durations),
                     AuditEntry.objects.count() - audit_before))
    print(f"{'writer alone':<28} {'pages':>5} {'median ms':>10} {'max ms':>8} {'total ms':>9} {'timeline rows':>14}")
    for label, count, median, worst, total, audit_rows in rows:
        print(f"{label:<28} {count:>5} {median:>10.1f} {worst:>8.1f} {total:>9.0f} {audit_rows:>14,}")

    # 2. A whole sync through the outbox.
    reset_inventory()
    requests.post(f"{sim.base_url}/_sim/reset", timeout=5)
    time.sleep(args.window)  # the simulator's window is empty again
    started_sync = pages.start_sync(CloudSync.Trigger.COMMAND).sync
    elapsed = run_threads(drainer_threads(args.drainers, "syncbench", max_runtime=30,
                                          statuses=["queued", "retrying", "sending"]))
    sync = CloudSync.objects.get(pk=started_sync.pk)
    stats = requests.get(f"{sim.base_url}/_sim/stats", timeout=5).json()
    page_requests = [e for e in stats["request_log"] if e["path"] == "/o/api/v2.2/devices"]
    # A count never ends the sync: after a full last page the one past it is asked for (and answers 413).
    expected = math.ceil(args.devices / 50) + (1 if args.devices % 50 == 0 else 0)
    print(f"\nwhole sync through the outbox: {sync.get_status_display().lower()} in {elapsed:.1f} s")
    print(f"  page requests {len(page_requests)} (expected {expected}); 429s {stats['rate_limited']}; "
          f"most accepted in any {args.window:g} s window {stats['max_accepted_in_window']} against N = {args.limit}")
    print(f"  added {sync.added}, updated {sync.updated}, marked not in the cloud {sync.marked_missing}; "
          f"inventory {Device.objects.count()}")
    # Work other than clicks leaves one slot of each window free (devices.ratelimit).
    per_window = max(args.limit - 1, 1)
    floor = (expected - 1) * args.window / per_window
    print(f"  pacing floor for {expected} calls at {per_window} per {args.window:g} s: {floor:.1f} s")
    sim.stop()


if __name__ == "__main__":
    main()
