"""Time the pages that show ETAs while a large bulk job waits: the ETAs must not cost a loop over the queue.

Usage: .venv/bin/python bench/eta_pages.py [--devices 10000] [--runs 15] [--batch 50]
Uses a throw-away SQLite database in a temporary folder, or the database
DATABASE_URL names (its tables are filled; use an empty database). One bulk
exempt_all job waits on every device, nothing drains it. Reports server time
per request (the view through Django's test client, no network) and the
number of SQL queries, which must not grow with the backlog.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


from bootstrap import start_django  # noqa: E402 (bench/ is on sys.path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--batch", type=int, default=50, help="GEARS_BATCH_SIZE")
    args = parser.parse_args()

    os.environ["GEARS_BATCH_SIZE"] = str(args.batch)
    start_django()
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from django.urls import reverse
    from harness import fill_inventory, time_requests

    from devices import outbox
    from devices.models import Action, Device

    fill_inventory(args.devices)
    ids = list(Device.objects.order_by("pk").values_list("pk", flat=True)[: args.devices])
    user, _ = get_user_model().objects.get_or_create(username="bench", defaults={"is_staff": True, "is_superuser": True})
    Action.objects.filter(status__in=Action.PENDING).update(status=Action.Status.CANCELLED)
    job = outbox.enqueue_bulk(ids, "exempt_all", user=user)
    last = job.actions.order_by("-id").first()
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")  # as autovacuum would after a large enqueue
    client = Client()
    client.force_login(user)
    hx = {"HX-Request": "true"}
    view = outbox.budget_view()
    print(f"\n{view.backlog:,} waiting actions in {view.backlog_calls:,} requests (batch {view.batch_size}) "
          f"on {connection.vendor}; {args.runs} runs each (after one warm-up)\n")
    cases = [
        ("Upstream page (htmx fragment)", "get", reverse("devices:upstream"), {}, hx),
        ("bulk job page (htmx fragment)", "get", job.get_absolute_url(), {}, hx),
        ("device page of the job's last device", "get", last.device.get_absolute_url(), {}, {}),
        ("history of the job's last device (htmx poll)", "get", reverse("devices:device-history", args=[last.device_id]), {}, hx),
        ("bulk confirmation on every device", "post", reverse("devices:bulk-action"),
         {"kind": "dhcprenew", "select_all_matching": "1"}, {}),
    ]
    print("| request | median ms | p95 ms | queries |")
    print("|---|---:|---:|---:|")
    for label, method, url, data, headers in cases:
        call = getattr(client, method)
        response = call(url, data, headers=headers)
        assert response.status_code == 200, (url, response.status_code)
        median, p95, queries = time_requests(lambda: call(url, data, headers=headers), args.runs)  # noqa: B023 - called within this iteration
        print(f"| {label} | {median:.1f} | {p95:.1f} | {queries} |")


if __name__ == "__main__":
    main()
