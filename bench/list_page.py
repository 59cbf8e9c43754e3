"""Time the device list (with searches) at 100,000 devices, next to the admin changelist.

Usage: .venv/bin/python bench/list_page.py [--devices 100000] [--runs 15]
Uses a throw-away SQLite database in a temporary folder, or the database
DATABASE_URL names (its tables are filled; use an empty database). Reports
server time per request (the view through Django's test client, no network)
and the CPU time of this process for it, the number of SQL queries, each list
request's speed next to the admin's with the same search, and peak memory.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

# Median ms at commit f8ef500 (before the rows were worked out in one pass),
# 100,000 devices on PostgreSQL, measured as now (interleaved rounds, VACUUM
# ANALYZE first) while other work loaded this 2-core machine to a load of 12-16.
BEFORE = {
    "postgresql": {
        "list, page 1 (full page)": 146.3, "list, page 1 (htmx fragment)": 125.0,
        "search name 'bench-0500' (htmx)": 109.1, "search full MAC": 23.0, "search partial MAC, last 3 bytes": 26.5,
        "search partial MAC '00:00:0c'": 153.4, "search with no match": 16.0, "filter several MACs": 182.7,
        "last page": 240.3, "admin changelist": 205.4, "admin changelist search 'bench-0500'": 1324.4,
        "admin changelist search MAC": 1360.1, "admin changelist search partial MAC": 1200.0,
    },
}


def before(vendor: str, label: str) -> str:
    """The figure measured before for the case `label` starts with, or n/a."""
    known = BEFORE.get(vendor, {})
    matches = [key for key in known if label.startswith(key)]
    return f"{known[max(matches, key=len)]:.1f}" if matches else "n/a"


def time_rounds(cases: list[tuple[str, object]], runs: int) -> dict[str, tuple[list[float], list[float], int]]:
    """Wall and CPU ms of each case, `runs` rounds of every case in turn, and each case's queries.

    Round by round, so that a burst of load from other work falls on every
    case alike, not on whichever case was being timed then.
    """
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    timings: dict[str, tuple[list[float], list[float], int]] = {label: ([], [], 0) for label, _ in cases}
    for _ in range(runs):
        for label, call in cases:
            walls, cpus, _queries = timings[label]
            with CaptureQueriesContext(connection) as queries:
                wall, cpu = time.perf_counter(), time.process_time()
                call()
                walls.append((time.perf_counter() - wall) * 1000)
                cpus.append((time.process_time() - cpu) * 1000)
            timings[label] = (walls, cpus, len(queries))
    return timings


from bootstrap import start_django  # noqa: E402 (bench/ is on sys.path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()

    start_django()
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from harness import fill_inventory

    from devices.models import Device

    fill_inventory(args.devices)
    if connection.vendor == "postgresql":
        # As autovacuum would soon after a bulk load (this server runs with it
        # off): fresh statistics, and the trigram indexes' pending lists merged,
        # which a search would otherwise read row by row.
        with connection.cursor() as cursor:
            for table in ("devices_device", "devices_macaddress"):
                cursor.execute(f"VACUUM ANALYZE {table}")
    total = Device.objects.count()
    User = get_user_model()
    user, _ = User.objects.get_or_create(username="bench", defaults={"is_staff": True, "is_superuser": True})
    client = Client()
    client.force_login(user)
    mac_sample = Device.objects.filter(macs__isnull=False).order_by("pk")[total // 2].macs.first().address
    full = mac_sample.upper().replace(":", "-")
    tail = full[-8:]
    hx = {"HX-Request": "true"}
    cases = [
        ("list, page 1 (full page)", "/devices/", {}),
        ("list, page 1 (htmx fragment)", "/devices/", hx),
        ("search name 'bench-0500' (htmx)", "/devices/?q=bench-0500", hx),
        (f"search full MAC '{full}' (htmx)", "/devices/?q=" + full, hx),
        (f"search partial MAC, last 3 bytes '{tail}' (htmx)", "/devices/?q=" + tail, hx),
        ("search partial MAC '00:00:0c', worst case: every MAC has '000' (htmx)", "/devices/?q=00:00:0c", hx),
        ("search with no match 'zzz-nothing' (htmx)", "/devices/?q=zzz-nothing", hx),
        ("filter several MACs, sort by owner", "/devices/?identifier=multi_mac&sort=owner", hx),
        ("last page", f"/devices/?page={total // 50}", hx),
        ("admin changelist", "/admin/devices/device/", {}),
        ("admin changelist search 'bench-0500'", "/admin/devices/device/?q=bench-0500", {}),
        (f"admin changelist search MAC '{full}'", "/admin/devices/device/?q=" + full, {}),
        (f"admin changelist search partial MAC '{tail}'", "/admin/devices/device/?q=" + tail, {}),
    ]
    # Each list request next to the admin's with the same search.
    versus = [(0, 9), (1, 9), (2, 10), (3, 11), (4, 12)]

    def fetcher(url: str, headers: dict):
        def fetch() -> None:
            response = client.get(url, headers=headers)
            assert response.status_code == 200, (url, response.status_code)
        return fetch

    calls = [(label, fetcher(url, headers)) for label, url, headers in cases]
    for _label, call in calls:
        call()  # warm-up
    timings = time_rounds(calls, args.runs)
    vendor = connection.vendor
    print(f"\n{total:,} devices on {vendor}; {args.runs} rounds of every request in turn (after one warm-up)\n")
    print("| request | before median ms | median ms | p95 ms | median CPU ms | queries |")
    print("|---|---:|---:|---:|---:|---:|")
    medians = {}
    for label, _url, _headers in cases:
        walls, cpus, queries = timings[label]
        medians[label] = statistics.median(walls)
        p95 = sorted(walls)[min(len(walls) - 1, round(0.95 * (len(walls) - 1)))]
        print(f"| {label} | {before(vendor, label)} | {medians[label]:.1f} | {p95:.1f} | "
              f"{statistics.median(cpus):.1f} | {queries} |")
    print("\n| list request | the admin's | times faster |\n|---|---|---:|")
    for ours, theirs in versus:
        mine, admin = cases[ours][0], cases[theirs][0]
        print(f"| {mine} | {admin} | {medians[admin] / medians[mine]:.1f} |")
    started = time.perf_counter()
    response = client.get("/devices/export.csv")
    size = sum(len(chunk) for chunk in response.streaming_content)
    print(f"\nexport of all {total:,} devices: {time.perf_counter() - started:.2f} s, {size / 1e6:.1f} MB")
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(f"peak memory of this process (everything above): {peak_kb / 1024:.0f} MB")


if __name__ == "__main__":
    main()
