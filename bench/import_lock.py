"""Time a large CSV update import through the web, and how long clicks made meanwhile wait for the database.

Usage: .venv/bin/python bench/import_lock.py [--rows 100000] [--clickers 2] [--interval 0.1] [--batch N] [--json]
Uses a throw-away SQLite file in a temporary folder (the settings' own
OPTIONS: WAL, busy timeout, IMMEDIATE), or the database DATABASE_URL names
(use an empty one). Fills --rows devices, exports them, changes every row's
notes, uploads the file as an admin, previews it, then confirms "import all"
while --clickers threads each queue an action (a click: outbox.enqueue on its
own connection) every --interval seconds. Reports the import's time, every
click's wait, clicks that failed ("database is locked") and clicks recorded
while the import was still writing.
"""

from __future__ import annotations

import argparse
import io
import json
import statistics
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


from bootstrap import start_django  # noqa: E402 (bench/ is on sys.path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--clickers", type=int, default=2)
    parser.add_argument("--interval", type=float, default=0.1, help="seconds between one clicker's clicks")
    parser.add_argument("--batch", type=int, help="rows per write transaction (default: the import's own)")
    parser.add_argument("--json", action="store_true", help="print one JSON object (for tests)")
    args = parser.parse_args()

    start_django()
    from django.contrib.auth import get_user_model
    from django.db import OperationalError, connection, connections
    from django.test import Client
    from harness import fill_inventory

    from devices import csv_io, outbox
    from devices.csv_io import COLUMNS, csv_lines, device_rows
    from devices.models import Action, Device

    if args.batch:
        csv_io.applying.IMPORT_BATCH = args.batch
    say = (lambda *a: None) if args.json else print
    fill_inventory(args.rows, say)
    # Every device of the file gets new notes: an update import of every row.
    notes = COLUMNS.index("notes")
    stamp = f"imported {time.time():.0f}"
    lines = csv_lines(COLUMNS, ([*row[:notes], stamp] for row in device_rows(Device.objects.order_by("pk")[: args.rows])))
    text = "".join(lines)
    user, _ = get_user_model().objects.get_or_create(username="bench", defaults={"is_staff": True, "is_superuser": True})
    client = Client()
    client.force_login(user)
    upload = io.BytesIO(text.encode())
    upload.name = "bench.csv"
    started = time.perf_counter()
    preview_url = client.post("/devices/import/", {"file": upload})["Location"]
    uploaded = time.perf_counter() - started
    started = time.perf_counter()
    assert client.get(preview_url).status_code == 200
    previewed = time.perf_counter() - started
    say(f"{args.rows:,}-row file: upload {uploaded:.1f} s, preview {previewed:.1f} s")

    targets = list(Device.objects.order_by("-pk").values_list("pk", flat=True)[:5000])
    clicks: list[dict] = []
    lock = threading.Lock()
    stop = threading.Event()
    import_started, import_done = threading.Event(), threading.Event()

    def clicker() -> None:
        try:
            while not stop.is_set():
                with lock:
                    pk = targets.pop()
                device = Device.objects.get(pk=pk)
                begun, during = time.perf_counter(), import_started.is_set() and not import_done.is_set()
                try:
                    outbox.enqueue(device, "dhcprenew", user=None, audit=False)
                    error = ""
                except OperationalError as exc:
                    error = str(exc)
                clicks.append({"device": pk, "wait": time.perf_counter() - begun, "error": error,
                               "during_import": during, "done_during_import": not import_done.is_set()})
                time.sleep(args.interval)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=clicker) for _ in range(args.clickers)]
    for thread in threads:
        thread.start()
    time.sleep(0.5)  # clicks before the import: the baseline wait
    import_started.set()
    started = time.perf_counter()
    response = client.post(preview_url, {"mode": "all"})
    imported = time.perf_counter() - started
    import_done.set()
    time.sleep(0.5)
    stop.set()
    for thread in threads:
        thread.join()
    assert response.status_code == 302 and response["Location"] == "/devices/", response.status_code
    changed = Device.objects.filter(notes=stamp).count()
    ok = [c for c in clicks if not c["error"]]
    recorded = Action.objects.filter(device_id__in=[c["device"] for c in ok], kind="dhcprenew").count()
    during = [c for c in clicks if c["during_import"]]
    waits = sorted(c["wait"] for c in during) or [0.0]
    result = {
        "vendor": connection.vendor,
        "rows": args.rows,
        "updated": changed,
        "import_seconds": round(imported, 2),
        "clicks": len(clicks),
        "clicks_during_import": len(during),
        "clicks_done_during_import": sum(1 for c in during if c["done_during_import"] and not c["error"]),
        "failed": len(clicks) - len(ok),
        "errors": sorted({c["error"] for c in clicks if c["error"]}),
        "recorded": recorded,
        "worst_wait": round(waits[-1], 3),
        "median_wait": round(statistics.median(waits), 3),
        "p99_wait": round(waits[min(len(waits) - 1, int(0.99 * len(waits)))], 3),
    }
    if args.json:
        print(json.dumps(result))
        return
    print(f"import of {args.rows:,} rows through the web ({connection.vendor}): {imported:.1f} s, {changed:,} devices updated")
    print(f"{len(during)} clicks during the import: {result['failed']} failed {result['errors'] or ''}, "
          f"{recorded} of {len(ok)} answered clicks recorded; wait median {result['median_wait'] * 1000:.0f} ms, "
          f"p99 {result['p99_wait'] * 1000:.0f} ms, worst {result['worst_wait'] * 1000:.0f} ms")


if __name__ == "__main__":
    main()
