"""Measure the outbox against the simulator: the limit kept, the budget used, latency.

Usage: .venv/bin/python bench/drain_backlog.py [--limit 10 --window 2 --backlog 200 --drainers 4]

1. Drains a backlog with several drainer threads (as several workers would)
   against fakegears at a scaled limit, and prints the requests the cloud
   accepted per window against N, the 429 count and the throughput.
2. Times enqueueing one bulk action on 10,000 devices.
3. With the budget idle, starts a real django-q2 cluster and times click
   (enqueue commit) to sent (the call started), and a click made while a
   bulk backlog drains.

Runs on a throw-away SQLite file, or on the database DATABASE_URL names
(use an empty one: it is filled).
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


from bootstrap import start_django_on  # noqa: E402 (bench/ is on sys.path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=10)
    parser.add_argument("--window", type=float, default=2.0)
    parser.add_argument("--backlog", type=int, default=200)
    parser.add_argument("--drainers", type=int, default=4)
    parser.add_argument("--bulk", type=int, default=10_000)
    parser.add_argument("--clicks", type=int, default=5)
    args = parser.parse_args()

    from fakegears.server import SimulatorConfig, start_simulator

    sim = start_simulator(SimulatorConfig(limit=args.limit, window=args.window))
    start_django_on(sim, args.limit, args.window, GEARS_RATE_MARGIN="0.02", GEARS_DRAINERS=str(args.drainers))
    import requests
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import connection
    from harness import drainer_threads, run_threads

    from devices import outbox
    from devices.models import Action, Device, UpstreamAttempt

    call_command("migrate", verbosity=0)
    user, _ = get_user_model().objects.get_or_create(username="bench")
    vendor = connection.vendor
    print(f"database: {vendor}; simulator limit {args.limit} per {args.window:g} s; {args.drainers} drainers\n")

    # 1. A backlog, several drainers.
    known = [d["hwid"] for d in requests.get(f"{sim.base_url}/_sim/devices", timeout=5).json()["devices"] if d["persistent_agent"]]
    hwids = (known + [f"QBENCH{i:010d}" for i in range(args.backlog)])[: args.backlog]
    Device.objects.bulk_create([Device(name=f"qbench-{i:05d}", hwid=h) for i, h in enumerate(hwids)])
    ids = list(Device.objects.filter(name__startswith="qbench-").values_list("pk", flat=True))
    outbox.enqueue_bulk(ids, "dhcprenew", user=user, description="bench backlog")

    elapsed = run_threads(drainer_threads(args.drainers, "bench", max_runtime=10,
                                          statuses=["queued", "retrying", "sending"]))
    stats = requests.get(f"{sim.base_url}/_sim/stats", timeout=5).json()
    arrivals = sorted(e["time"] for e in stats["request_log"] if e["path"].endswith("/action") and e.get("counted", True))
    per_window = []
    t0 = arrivals[0]
    while t0 + args.window <= arrivals[-1]:
        per_window.append(sum(1 for a in arrivals if t0 <= a < t0 + args.window))
        t0 += args.window
    throughput = (len(arrivals) - 1) / (arrivals[-1] - arrivals[0])
    print(f"backlog of {args.backlog}: drained in {elapsed:.1f} s")
    print(f"  accepted per {args.window:g} s window (consecutive windows): min {min(per_window)}, median {statistics.median(per_window):g}, max {max(per_window)} against N = {args.limit}")
    print(f"  most accepted in ANY {args.window:g} s window (simulator's count): {stats['max_accepted_in_window']}")
    print(f"  429s from the simulator: {stats['rate_limited']}")
    print(f"  throughput {throughput:.2f}/s against the limit's {args.limit / args.window:.2f}/s: {100 * throughput * args.window / args.limit:.1f} %")

    # 2. Enqueueing a bulk action on many devices.
    Device.objects.bulk_create([Device(name=f"bulk-{i:06d}", hwid=f"BULKB{i:011d}") for i in range(args.bulk)], batch_size=2000)
    bulk_ids = list(Device.objects.filter(name__startswith="bulk-").values_list("pk", flat=True))
    started = time.monotonic()
    job = outbox.enqueue_bulk(bulk_ids, "exempt_all", user=user, description="bench bulk")
    print(f"\nenqueue one bulk action on {len(bulk_ids):,} devices: {time.monotonic() - started:.2f} s")
    # Nobody sends those: cancel them before measuring latency.
    outbox.cancel_bulk(job, user=user)

    # 3. Click to sent, through a real django-q2 cluster.
    cluster_env = {**os.environ, "GEARS_KICK_DRAINER": "1"}
    cluster = subprocess.Popen([sys.executable, "manage.py", "qcluster"], cwd=ROOT, env=cluster_env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    from django.conf import settings as django_settings

    django_settings.GEARS_KICK_DRAINER = True
    try:
        time.sleep(3)  # the cluster starts its workers
        click_devices = list(Device.objects.filter(hwid__in=known[: args.clicks]))
        latencies = []
        for device in click_devices:
            time.sleep(args.window)  # let the budget go idle
            clicked = time.monotonic()
            action = outbox.enqueue(device, "exempt_critical", user=user).action
            while not UpstreamAttempt.objects.filter(action=action).exists():
                time.sleep(0.01)
                if time.monotonic() - clicked > 30:
                    raise SystemExit("the click was not sent within 30 s: is the cluster running?")
            latencies.append(time.monotonic() - clicked)
        print(f"\nclick to sent, budget idle, via django-q2 ({vendor} broker): median {1000 * statistics.median(latencies):.0f} ms, max {1000 * max(latencies):.0f} ms over {len(latencies)} clicks")
        # A click while a bulk backlog drains.
        more = Device.objects.filter(name__startswith="qbench-").values_list("pk", flat=True)
        outbox.enqueue_bulk(list(more), "exempt_critical", user=user, description="bench backlog 2")
        time.sleep(args.window * 2)
        clicked = time.monotonic()
        action = outbox.enqueue(click_devices[0], "unexempt", user=user).action
        while not UpstreamAttempt.objects.filter(action=action).exists():
            time.sleep(0.01)
        print(f"click to sent while {Action.objects.filter(status__in=['queued', 'retrying']).count()} bulk actions wait: {1000 * (time.monotonic() - clicked):.0f} ms (pacing {1000 * args.window / args.limit:.0f} ms per slot)")
    finally:
        # The parent only: it stops its workers, after a running drainer's
        # current loop (up to GEARS_DRAIN_RUNTIME).
        cluster.send_signal(signal.SIGTERM)
        try:
            cluster.wait(timeout=70)
        except subprocess.TimeoutExpired:
            os.killpg(cluster.pid, signal.SIGKILL)
        sim.stop()


if __name__ == "__main__":
    main()
