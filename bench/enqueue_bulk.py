"""Time a bulk action on 10,000 devices: enqueue_bulk alone, and the POSTs the user makes.

Usage: .venv/bin/python bench/enqueue_bulk.py [--devices 10000] [--runs 5]
Uses a throw-away SQLite database in a temporary folder, or the database
DATABASE_URL names (its tables are filled; use an empty database, or the one
bench/list_page.py filled). The selection is the search "bench-00", which
matches bench-000000 to bench-009999: 10,000 devices once the inventory has
that many. Each case starts from an empty queue unless it says otherwise.
Prints median and worst seconds per case, next to the figures measured before
the rewrite (commit 35e6408, same machine, same sizes), and the median CPU
seconds the case cost: this process's, plus the PostgreSQL backend's when the
server runs on this machine (read from /proc): CPU time moves much less than
wall time with the load other work puts on the machine.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

SEARCH = "bench-00"
# Median seconds at commit 35e6408 on this machine (2 cores shared with other
# work, load average 3 to 9), 10,000 devices selected, 3 runs each.
BEFORE = {
    "sqlite": {
        "enqueue_bulk, nothing waiting": 5.04,
        "enqueue_bulk, the same action waits on all (all skipped)": 0.19,
        "enqueue_bulk, a different exemption waits on all (all superseded)": 30.04,
        "POST all matching, confirmation page": 0.14,
        "POST all matching, confirmed (queues)": 2.36,
    },
    "postgresql": {
        "enqueue_bulk, nothing waiting": 3.63,
        "enqueue_bulk, the same action waits on all (all skipped)": 0.32,
        "enqueue_bulk, a different exemption waits on all (all superseded)": 32.70,
        "POST all matching, confirmation page": 0.14,
        "POST all matching, confirmed (queues)": 6.02,
    },
}


from bootstrap import start_django  # noqa: E402 (bench/ is on sys.path)


def server_cpu_reader(connection):
    """A function giving the CPU seconds the database backend of `connection` used so far (0 if unknown)."""
    stat = None
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            stat = f"/proc/{cursor.fetchone()[0]}/stat"
    if stat is None or not os.access(stat, os.R_OK):
        return lambda: 0.0  # SQLite runs in this process; a remote server cannot be read

    def used() -> float:
        with open(stat) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime

    return used


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()

    start_django()
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from harness import fill_inventory

    from devices import outbox
    from devices.models import Action, Device

    fill_inventory(args.devices)
    ids = list(Device.objects.search(SEARCH).values_list("pk", flat=True))
    user, _ = get_user_model().objects.get_or_create(username="bench", defaults={"is_staff": True, "is_superuser": True})
    client = Client()
    client.force_login(user)

    def empty_queue() -> None:
        Action.objects.filter(status__in=Action.PENDING).update(status=Action.Status.CANCELLED)

    def post(confirm: bool):
        data = {"kind": "exempt_all", "select_all_matching": "1", "q": SEARCH}
        if confirm:
            data["confirm"] = "yes"
        response = client.post("/devices/bulk/actions/", data)
        assert response.status_code in (200, 302), response.status_code
        return response

    def queue_same_first() -> None:
        empty_queue()
        outbox.enqueue_bulk(ids, "exempt_all", user=user)

    def queue_other_first() -> None:
        empty_queue()
        outbox.enqueue_bulk(ids, "unexempt", user=user)

    cases = [
        ("enqueue_bulk, nothing waiting", empty_queue, lambda: outbox.enqueue_bulk(ids, "exempt_all", user=user)),
        ("enqueue_bulk, the same action waits on all (all skipped)", queue_same_first,
         lambda: outbox.enqueue_bulk(ids, "exempt_all", user=user)),
        ("enqueue_bulk, a different exemption waits on all (all superseded)", queue_other_first,
         lambda: outbox.enqueue_bulk(ids, "exempt_all", user=user)),
        ("POST all matching, confirmation page", empty_queue, lambda: post(confirm=False)),
        ("POST all matching, confirmed (queues)", empty_queue, lambda: post(confirm=True)),
    ]
    vendor = connection.vendor
    before = BEFORE.get(vendor, {})
    print(f"\n{len(ids):,} devices selected of {Device.objects.count():,}, on {vendor}; {args.runs} runs each (after one warm-up)\n")
    server_cpu = server_cpu_reader(connection)
    print("| case | before median s | median s | worst s | median CPU s (ours + server) |")
    print("|---|---:|---:|---:|---:|")
    for label, prepare, run in cases:
        timings, cpu = [], []
        for _ in range(args.runs + 1):
            prepare()
            started, cpu_started = time.perf_counter(), time.process_time() + server_cpu()
            run()
            timings.append(time.perf_counter() - started)
            cpu.append(time.process_time() + server_cpu() - cpu_started)
        timings, cpu = timings[1:], cpu[1:]
        print(f"| {label} | {before.get(label, 'n/a')} | {statistics.median(timings):.2f} | {max(timings):.2f}"
              f" | {statistics.median(cpu):.2f} |")
    empty_queue()


if __name__ == "__main__":
    main()
