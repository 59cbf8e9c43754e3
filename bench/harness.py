"""What several bench scripts do the same way; import it after django.setup().

Scripts run as `python bench/NAME.py`, so this folder is on sys.path.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterable


def fill_inventory(count: int, say: Callable[..., None] = print) -> None:
    """Migrate, then generate devices until the inventory holds at least `count`."""
    from django.core.management import call_command

    from devices.models import Device

    call_command("migrate", verbosity=0)
    have = Device.objects.count()
    if have < count:
        started = time.perf_counter()
        with open(os.devnull, "w") as quiet:
            call_command("generate_devices", str(count - have), verbosity=0, stdout=quiet)
        say(f"generated {count - have:,} devices in {time.perf_counter() - started:.1f} s")


def drainer_threads(count: int, prefix: str, *, max_runtime: float, statuses: Iterable[str]) -> list[threading.Thread]:
    """`count` threads, each draining (as one worker would) while any action has one of `statuses`."""
    from django.db import connections

    from devices import outbox
    from devices.models import Action

    statuses = list(statuses)

    def drainer(name: str) -> None:
        while Action.objects.filter(status__in=statuses).exists():
            outbox.drain(max_runtime=max_runtime, worker=name, use_slot=False)
        connections.close_all()

    return [threading.Thread(target=drainer, args=(f"{prefix}-{i}",)) for i in range(count)]


def run_threads(threads: list[threading.Thread]) -> float:
    """Start every thread, wait for all; the seconds that took."""
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.monotonic() - started


def time_requests(call: Callable[[], object], runs: int) -> tuple[float, float, int]:
    """Median and p95 in ms of `runs` calls (after the caller's warm-up), and the queries of the last one."""
    import statistics

    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    timings = []
    for _ in range(runs):
        with CaptureQueriesContext(connection) as queries:
            started = time.perf_counter()
            call()
            timings.append((time.perf_counter() - started) * 1000)
    timings.sort()
    p95 = timings[min(len(timings) - 1, int(round(0.95 * (len(timings) - 1))))]
    return statistics.median(timings), p95, len(queries)
