"""Time the device list (with searches) at 100,000 devices, next to the admin changelist.

Usage: .venv/bin/python bench/list_page.py [--devices 100000] [--runs 15]
Uses a throw-away SQLite database in a temporary folder, or the database
DATABASE_URL names (its tables are filled; use an empty database). Reports
server time per request (the view through Django's test client, no network),
the number of SQL queries, and peak memory of the process.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

# Median ms at commit 35e6408 (before the capped count), 100,000 devices on
# PostgreSQL, this machine under load from other work (load average near 4).
BEFORE = {
    "postgresql": {
        "list, page 1 (full page)": 96.3, "list, page 1 (htmx fragment)": 56.9,
        "search name 'bench-0500' (htmx)": 138.4, "search full MAC": 37.6, "search partial MAC, last 3 bytes": 45.9,
        "search partial MAC '00:00:0c'": 169.7, "search with no match": 15.6, "filter several MACs": 187.2,
        "last page": 168.7, "admin changelist": 107.2, "admin changelist search 'bench-0500'": 1114.9,
        "admin changelist search MAC": 1487.2,
    },
}


def before(vendor: str, label: str) -> str:
    """The figure measured before for the case `label` starts with, or n/a."""
    known = BEFORE.get(vendor, {})
    matches = [key for key in known if label.startswith(key)]
    return f"{known[max(matches, key=len)]:.1f}" if matches else "n/a"


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


    from harness import fill_inventory, time_requests

    from devices.models import Device

    fill_inventory(args.devices)
    total = Device.objects.count()
    User = get_user_model()
    user, _ = User.objects.get_or_create(username="bench", defaults={"is_staff": True, "is_superuser": True})
    client = Client()
    client.force_login(user)
    mac_sample = Device.objects.filter(macs__isnull=False).order_by("pk")[total // 2].macs.first().address
    tail = mac_sample.upper().replace(":", "-")[-8:]
    hx = {"HX-Request": "true"}
    cases = [
        ("list, page 1 (full page)", "/devices/", {}),
        ("list, page 1 (htmx fragment)", "/devices/", hx),
        ("search name 'bench-0500' (htmx)", "/devices/?q=bench-0500", hx),
        (f"search full MAC '{mac_sample.upper().replace(':', '-')}' (htmx)", "/devices/?q=" + mac_sample.upper().replace(":", "-"), hx),
        (f"search partial MAC, last 3 bytes '{tail}' (htmx)", "/devices/?q=" + tail, hx),
        ("search partial MAC '00:00:0c', worst case: every MAC has '000' (htmx)", "/devices/?q=00:00:0c", hx),
        ("search with no match 'zzz-nothing' (htmx)", "/devices/?q=zzz-nothing", hx),
        ("filter several MACs, sort by owner", "/devices/?identifier=multi_mac&sort=owner", hx),
        ("last page", f"/devices/?page={total // 50}", hx),
        ("admin changelist", "/admin/devices/device/", {}),
        ("admin changelist search 'bench-0500'", "/admin/devices/device/?q=bench-0500", {}),
        (f"admin changelist search MAC '{mac_sample}'", "/admin/devices/device/?q=" + mac_sample, {}),
    ]
    vendor = connection.vendor
    print(f"\n{total:,} devices on {vendor}; {args.runs} runs each (after one warm-up)\n")
    print("| request | before median ms | median ms | p95 ms | queries |")
    print("|---|---:|---:|---:|---:|")
    for label, url, headers in cases:
        response = client.get(url, headers=headers)
        assert response.status_code == 200, (url, response.status_code)

        def fetch(url=url, headers=headers) -> None:
            response = client.get(url, headers=headers)
            if hasattr(response, "streaming_content"):
                b"".join(response.streaming_content)

        median, p95, queries = time_requests(fetch, args.runs)
        print(f"| {label} | {before(vendor, label)} | {median:.1f} | {p95:.1f} | {queries} |")
    started = time.perf_counter()
    response = client.get("/devices/export.csv")
    size = sum(len(chunk) for chunk in response.streaming_content)
    print(f"\nexport of all {total:,} devices: {time.perf_counter() - started:.2f} s, {size / 1e6:.1f} MB")
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(f"peak memory of this process (everything above): {peak_kb / 1024:.0f} MB")


if __name__ == "__main__":
    main()
