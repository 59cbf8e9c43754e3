"""Believing the cloud's count and learning its bulk metering, beside the blind limiter (GEARS_CLOUD_WORD=0).

Usage:
  .venv/bin/python bench/cloud_word.py shared [--actions 100 --limit 10 --window 6 --others 3]
  .venv/bin/python bench/cloud_word.py per-device [--devices 200 --limit 10 --window 6]
  (add --blind for the same run with the headers ignored)

`shared`: another client spends `--others` requests of every window on the
same account; `--actions` exempt_critical actions (one request each) are
drained. The ideal is what the remaining budget allows: (limit - others)
requests per window.

`per-device`: the simulator counts each device of a bulk request; one bulk
exempt_all on `--devices` devices, GEARS_BATCH_SIZE 50. The ideal is what the
window holds for bulk work: limit - 1 devices per window (one slot kept for clicks).

Prints the time, the ideal, their ratio, and the 429s the simulator gave.
The blind run stops at `--give-up` times the ideal (under per-device metering
a batch of 50 never fits a window of 10: it would never finish).
Runs on a throw-away SQLite file, or on the database DATABASE_URL names (use an empty one).
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


from bootstrap import start_django_on  # noqa: E402 (bench/ is on sys.path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("reading", choices=["shared", "per-device"])
    parser.add_argument("--actions", type=int, default=100)
    parser.add_argument("--devices", type=int, default=200)
    parser.add_argument("--limit", type=int, default=10)
    parser.add_argument("--window", type=float, default=6.0)
    parser.add_argument("--others", type=int, default=3)
    parser.add_argument("--drainers", type=int, default=2)
    parser.add_argument("--blind", action="store_true", help="GEARS_CLOUD_WORD=0: the headers ignored")
    parser.add_argument("--give-up", type=float, default=3.0, help="stop after this many times the ideal")
    args = parser.parse_args()

    from fakegears.server import SimulatorConfig, start_simulator

    shared = args.reading == "shared"
    count = args.actions if shared else args.devices
    config = SimulatorConfig(limit=args.limit, window=args.window, devices=max(count, 40),
                             other_client=args.others if shared else 0, bulk_per_item=not shared)
    sim = start_simulator(config)
    start_django_on(sim, args.limit, args.window, GEARS_BATCH_SIZE="50",
                    GEARS_CLOUD_WORD="0" if args.blind else "1")
    import requests
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import connection, connections

    from devices import outbox
    from devices.models import Action, Device, UpstreamState

    call_command("migrate", verbosity=0)
    user, _ = get_user_model().objects.get_or_create(username="bench")
    simulated = requests.get(f"{sim.base_url}/_sim/devices", timeout=30).json()["devices"][:count]
    Device.objects.bulk_create([Device(name=f"cw-{i:05d}", hwid=d["hwid"]) for i, d in enumerate(simulated)],
                               ignore_conflicts=True)
    ids = list(Device.objects.filter(name__startswith="cw-").values_list("pk", flat=True))
    kind = "exempt_critical" if shared else "exempt_all"
    job = outbox.enqueue_bulk(ids, kind, user=user, description=f"bench: {args.reading}")
    per_window = (args.limit - args.others) if shared else (args.limit - 1)
    # The first window is free to spend at once: count the windows after it.
    ideal = max(len(ids) / per_window - 1, 0) * args.window
    deadline = time.monotonic() + args.give_up * max(ideal, args.window)
    print(f"database: {connection.vendor}; simulator {args.limit} per {args.window:g} s, "
          f"{'another client spending ' + str(args.others) + ' of every window' if shared else 'bulk metered per device'}; "
          f"{len(ids)} {kind}; {'blind limiter' if args.blind else 'cloud word believed'}; {args.drainers} drainers")

    def drainer(name: str) -> None:
        while Action.objects.filter(status__in=Action.PENDING).exists() and time.monotonic() < deadline:
            outbox.drain(max_runtime=min(10.0, max(deadline - time.monotonic(), 0.5)), worker=name, use_slot=False)
        connections.close_all()

    threads = [threading.Thread(target=drainer, args=(f"cw-{i}",)) for i in range(args.drainers)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started
    stats = requests.get(f"{sim.base_url}/_sim/stats", timeout=30).json()
    done = job.actions.filter(status=Action.Status.SUCCEEDED).count()
    state = UpstreamState.objects.get()
    rows = [
        ("succeeded", f"{done} of {len(ids)}" + ("" if done == len(ids) else " (gave up)")),
        ("total time", f"{elapsed:.1f} s"),
        ("ideal", f"{ideal:.1f} s ({per_window} per {args.window:g} s window after the first)"),
        ("ratio to the ideal", f"{elapsed / ideal:.2f}" if ideal else "-"),
        ("429s", str(stats["rate_limited"])),
        ("requests accepted", str(sum(1 for e in stats["request_log"] if e["path"].startswith("/o/api/") and e["status"] != 429))),
        ("metering learned", state.get_bulk_metering_display()),
        ("most in any window", f"{stats['max_accepted_in_window']} (limit {args.limit})"),
    ]
    width = max(len(name) for name, _ in rows)
    print()
    for name, value in rows:
        print(f"{name:<{width}}  {value}")
    sim.stop()


if __name__ == "__main__":
    main()
