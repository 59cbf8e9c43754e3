"""Time the overview page at 100,000 devices, a day of upstream attempts and a large bulk job, and the notices feed.

Usage: .venv/bin/python bench/overview_page.py [--devices 100000] [--per-minute 10] [--job 50000] [--runs 15]
Uses a throw-away SQLite database in a temporary folder, or the database
DATABASE_URL names (its tables are filled; use an empty database). Reports
server time per request (the view through Django's test client, no network)
and the number of SQL queries.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def fill(args, say=print) -> None:
    """Spread the devices over compliance, exemption and presence; a day of attempts; a bulk job part done."""
    from django.db.models.functions import Mod
    from django.utils import timezone

    from devices import notices, outbox
    from devices.models import Action, BulkJob, Device, Notice, UpstreamAttempt

    now = timezone.now()
    devices = Device.objects.annotate(m=Mod("id", 7))
    devices.filter(m__in=[0, 1, 2]).update(compliance="compliant", exempt_mode="none", last_seen_at=now)
    devices.filter(m__in=[3, 4]).update(compliance="non_compliant", exempt_mode="all",
                                        last_seen_at=now - timedelta(days=10))
    devices.filter(m=5).update(cloud_missing_since=now)
    if not UpstreamAttempt.objects.exists():
        started = time.perf_counter()
        per_minute, minutes = args.per_minute, 24 * 60
        UpstreamAttempt.objects.bulk_create(
            [UpstreamAttempt(started_at=now - timedelta(minutes=m, seconds=s * 60 / per_minute),
                             finished_at=now - timedelta(minutes=m), worker="bench",
                             outcome="ok" if (m + s) % 20 else "transient")
             for m in range(minutes) for s in range(per_minute)],
            batch_size=5000,
        )
        say(f"{minutes * per_minute:,} attempts over 24 h in {time.perf_counter() - started:.1f} s")
    if not BulkJob.objects.exists():
        ids = list(Device.objects.order_by("pk").values_list("pk", flat=True)[:args.job])
        job = outbox.enqueue_bulk(ids, "dhcprenew", user=None, description="bench")
        done = list(job.actions.order_by("pk").values_list("pk", flat=True)[:len(ids) * 3 // 5])
        for start in range(0, len(done), 2000):
            chunk = done[start:start + 2000]
            Action.objects.filter(pk__in=chunk).update(status="succeeded", finished_at=now)
            Action.objects.filter(pk__in=chunk[::25]).update(status="failed", last_error="bench")
        for n in range(200):
            notices.note(Notice.Kind.SYNC_ENDED, f"bench:{n}", f"notice {n}")


from bootstrap import start_django  # noqa: E402 (bench/ is on sys.path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, default=100_000)
    parser.add_argument("--per-minute", type=int, default=10, help="attempts per minute over the day")
    parser.add_argument("--job", type=int, default=50_000, help="devices in the bulk job (3/5 of it done)")
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()

    start_django()
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from harness import fill_inventory, time_requests

    from devices.models import Action, Device, Notice, UpstreamAttempt

    fill_inventory(args.devices)
    fill(args)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    user, _ = get_user_model().objects.get_or_create(username="bench", defaults={"is_staff": True, "is_superuser": True})
    client = Client()
    client.force_login(user)
    first_notice = Notice.objects.order_by("id").values_list("id", flat=True).first() or 0
    cases = [
        ("overview (full page)", "/", {}),
        ("overview activity (htmx, every 10 s)", "/", {"HX-Request": "true"}),
        ("notices feed, nothing new (every 5 s per open page)", f"/devices/notices/?after={first_notice + 1000}", {}),
        ("notices feed, 20 new", f"/devices/notices/?after={first_notice}", {}),
        ("notices feed, a tab's first poll (since)", f"/devices/notices/?since={time.time() - 60:.3f}", {}),
    ]
    print(f"\n{Device.objects.count():,} devices, {UpstreamAttempt.objects.count():,} attempts in 24 h, "
          f"{Action.objects.count():,} actions on {connection.vendor}; {args.runs} runs each (after one warm-up)\n")
    print("| request | median ms | p95 ms | queries |")
    print("|---|---:|---:|---:|")
    for label, url, headers in cases:
        response = client.get(url, headers=headers)
        assert response.status_code == 200, (url, response.status_code)
        median, p95, queries = time_requests(lambda: client.get(url, headers=headers), args.runs)  # noqa: B023 - called within this iteration
        print(f"| {label} | {median:.1f} | {p95:.1f} | {queries} |")


if __name__ == "__main__":
    main()
