"""How long a device's timeline takes to read, first page and deep pages, with a long history.

Usage: .venv/bin/python bench/timeline_page.py [--entries 20000] [--actions 5000] [--devices 20000]
Uses a throw-away SQLite file (or the empty database DATABASE_URL names).
Gives one device --entries audit entries and --actions finished actions
among --devices others, then times devices.timeline.device_timeline for the
first page and for the page after 100 "older entries" clicks.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


from bootstrap import start_django  # noqa: E402 (bench/ is on sys.path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=20_000)
    parser.add_argument("--actions", type=int, default=5_000)
    parser.add_argument("--devices", type=int, default=20_000)
    args = parser.parse_args()

    start_django(test_client=False)
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone
    from harness import fill_inventory

    from devices.models import Action, AuditEntry, Device
    from devices.timeline import device_timeline, parse_cursor

    fill_inventory(args.devices)
    device = Device.objects.order_by("pk").first()
    if not AuditEntry.objects.filter(device=device).exists():
        start = timezone.now() - timedelta(days=365)
        AuditEntry.objects.bulk_create(
            [AuditEntry(verb="edited", username="bench", device=device, device_name=device.name,
                        changes=[["notes", f"n{i}", f"n{i + 1}"]]) for i in range(args.entries)], batch_size=2000)
        Action.objects.bulk_create(
            [Action(device=device, kind="dhcprenew", status="succeeded", coalesce_key=f"bench:{i}",
                    not_before=start, first_sent_at=start + timedelta(minutes=i, seconds=1),
                    finished_at=start + timedelta(minutes=i, seconds=2), http_status=200, upstream_msg="OK")
             for i in range(args.actions)], batch_size=2000)
    print(f"{'page':<22}{'median ms':>10}{'queries':>9}{'entries':>9}")
    for label, clicks in (("first", 0), ("after 100 clicks", 100)):
        cursor = None
        for _ in range(clicks):
            cursor = parse_cursor(device_timeline(device, cursor).older)
        times = []
        for _ in range(7):
            with CaptureQueriesContext(connection) as queries:
                started = time.perf_counter()
                page = device_timeline(device, cursor)
                times.append((time.perf_counter() - started) * 1000)
        print(f"{label:<22}{statistics.median(times):>10.1f}{len(queries):>9}{len(page.events):>9}")


if __name__ == "__main__":
    main()
