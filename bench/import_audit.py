"""What the timeline's audit entries cost a large CSV import: the same import with and without them.

Usage: .venv/bin/python bench/import_audit.py [--rows 20000] [--rounds 2]
Uses a throw-away SQLite file (or the empty database DATABASE_URL names).
Fills --rows devices, then imports files that each update every device's
notes and create --rows/10 new devices, alternately without the audit hook
and with it (one IMPORTED entry per device, written in bulk per batch).
Prints seconds per import, audit entries written and queries per 1,000 rows.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


from bootstrap import start_django  # noqa: E402 (bench/ is on sys.path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=2, help="imports of each kind (alternating)")
    args = parser.parse_args()

    start_django(test_client=False)
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from harness import fill_inventory

    from devices import audit
    from devices.csv_io import COLUMNS, apply_import, csv_lines, device_rows
    from devices.models import AuditEntry, Device, DeviceImport

    fill_inventory(args.rows)
    user, _ = get_user_model().objects.get_or_create(username="bench")
    print(f"{'run':<16}{'rows':>8}{'seconds':>10}{'entries':>10}{'queries/1k':>12}")
    for round_ in range(args.rounds * 2):
        audited = round_ % 2 == 1
        # Every device's notes change; a tenth as many new devices are created.
        notes = COLUMNS.index("notes")
        rows = ([*row[:notes], f"{row[notes]} r{round_}"] for row in device_rows(Device.objects.order_by("pk")[: args.rows]))
        text = "".join(csv_lines(COLUMNS, rows))
        text += "".join(f"new-{round_}-{i},NEW{round_}X{i},,,,\r\n" for i in range(args.rows // 10))
        pending = DeviceImport.objects.create(uploaded_by=user, filename=f"bench-{round_}.csv", content=text)
        before = AuditEntry.objects.count()
        hook = audit.import_recorder(user, pending) if audited else None
        with CaptureQueriesContext(connection) as queries:
            started = time.perf_counter()
            result = apply_import(text, on_written=hook, pause=0.0)
            seconds = time.perf_counter() - started
        written = result.created + result.updated
        print(f"{'with audit' if audited else 'without audit':<16}{written:>8,}{seconds:>10.2f}"
              f"{AuditEntry.objects.count() - before:>10,}{len(queries) * 1000 / written:>12.1f}")


if __name__ == "__main__":
    main()
