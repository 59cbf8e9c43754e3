"""Generate N synthetic devices, for benchmarks (docs/benchmarks.md) and load tests."""

from __future__ import annotations

import hashlib
import random

from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from devices.inventory import DeviceRecord, save_devices
from devices.models import Device


class Command(BaseCommand):
    help = "Add N synthetic devices with 1-3 MACs each (names bench-000001...)."

    def add_arguments(self, parser):
        parser.add_argument("count", type=int)
        parser.add_argument("--seed", type=int, default=1)

    def handle(self, *args, count: int, seed: int, **options):
        if count < 1:
            raise CommandError("count must be at least 1.")
        rng = random.Random(seed)
        start = Device.objects.filter(name__startswith="bench-").count()
        batch = 5000
        for offset in range(0, count, batch):
            records = []
            for n in range(start + offset, start + min(offset + batch, count)):
                # Derived from n, so a second run never repeats a HWID or a MAC.
                digest = hashlib.md5(f"{seed}-{n}".encode()).hexdigest()
                macs = [(0x020000000000 + n * 4 + i).to_bytes(6, "big").hex(":") for i in range(1 + n % 3)]
                records.append(
                    DeviceRecord(
                        name=f"bench-{n:06d}",
                        hwid=None if n % 5 == 0 else (digest if n % 2 else "B%015d" % n),
                        macs=macs,
                        owner_name=rng.choice(["", "Ada Lovelace", "Alan Turing", "Grace Hopper"]),
                    )
                )
            save_devices(records, {})
        # Fresh planner statistics: right after a bulk load they describe an
        # almost empty table, and PostgreSQL would skip the search indexes.
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
        self.stdout.write(f"Added {count} devices; {Device.objects.count()} in all.")
