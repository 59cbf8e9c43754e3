"""Time a CSV import of new devices through the web: upload, preview, confirm; and the process's peak memory.

Usage: .venv/bin/python bench/import_csv.py [--rows 100000] [--json]
Uses a throw-away SQLite file in a temporary folder, or the database
DATABASE_URL names (use a fresh, empty one). Writes a file of --rows new
devices (one to two MACs each, a HWID on every other row, an owner on some),
then, as an admin through Django's test client, uploads it, opens the
preview, and confirms "import all": the requests a user's browser makes.
Peak RSS is the whole process's (Python, Django, the test client's copy of
the upload included).
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

HEADER = "name,hwid,macs,owner_name,owner_email,notes\r\n"
OWNERS = ("", "Ada Lovelace", "Alan Turing", "Grace Hopper")


def write_file(path: Path, rows: int) -> int:
    """`rows` new devices, one to two MACs each; returns how many MACs the file holds."""
    macs = 0
    with path.open("w", encoding="utf-8", newline="") as out:
        out.write(HEADER)
        for n in range(rows):
            count = 1 + n % 2
            macs += count
            # 0a:… is locally administered unicast: never a real vendor's, never refused.
            cells = " ".join((0x0A0000000000 + n * 2 + i).to_bytes(6, "big").hex(":") for i in range(count))
            hwid = f"IMP{n:013d}" if n % 2 else ""
            out.write(f"import-{n:06d},{hwid},{cells},{OWNERS[n % 4]},,\r\n")
    return macs


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: kB


from bootstrap import start_django  # noqa: E402 (bench/ is on sys.path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--json", action="store_true", help="print one JSON object (for tests)")
    args = parser.parse_args()

    start_django()
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from harness import fill_inventory

    from devices.models import Device, DeviceImport, MacAddress

    fill_inventory(0, lambda *a: None)  # migrate only
    if Device.objects.exists():
        sys.exit("The database already holds devices: give a fresh, empty one (DATABASE_URL).")
    path = Path(tempfile.mkdtemp(prefix="gearsdash-import-")) / "devices.csv"
    mac_count = write_file(path, args.rows)
    user, _ = get_user_model().objects.get_or_create(username="bench", defaults={"is_staff": True, "is_superuser": True})
    client = Client()
    client.force_login(user)
    before_mb = peak_mb()

    timings: dict[str, float] = {}
    cpu: dict[str, float] = {}
    peaks: dict[str, float] = {}

    def timed(phase: str, request):
        started, cpu_started = time.perf_counter(), time.process_time()
        response = request()
        timings[phase], cpu[phase] = time.perf_counter() - started, time.process_time() - cpu_started
        peaks[phase] = peak_mb()
        return response

    with path.open("rb") as upload:
        response = timed("upload", lambda: client.post("/devices/import/", {"file": upload}))
    assert response.status_code == 302, f"upload answered {response.status_code}"
    preview_url = response["Location"]
    response = timed("preview", lambda: client.get(preview_url))
    assert response.status_code == 200, f"preview answered {response.status_code}"
    del response
    response = timed("confirm", lambda: client.post(preview_url, {"mode": "all"}))
    assert response.status_code == 302 and response["Location"] == "/devices/", response.status_code
    timings["total"], cpu["total"] = sum(timings.values()), sum(cpu.values())

    devices, macs = Device.objects.count(), MacAddress.objects.count()
    assert (devices, macs) == (args.rows, mac_count), (devices, macs)
    assert DeviceImport.objects.get().created_count == args.rows
    result = {
        "vendor": connection.vendor,
        "rows": args.rows,
        "file_mb": round(path.stat().st_size / 1e6, 1),
        **{f"{phase}_seconds": round(seconds, 2) for phase, seconds in timings.items()},
        **{f"{phase}_cpu_seconds": round(seconds, 2) for phase, seconds in cpu.items()},
        "rss_before_mb": round(before_mb),
        "peak_rss_mb": round(peak_mb()),
    }
    path.unlink()
    if args.json:
        print(json.dumps(result))
        return
    print(f"{args.rows:,} new devices, {mac_count:,} MACs, a {result['file_mb']} MB file ({connection.vendor})")
    # CPU: this process's, without the database server's; peak RSS: the process's so far.
    print(f"{'phase':<10}{'seconds':>9}{'CPU s':>9}{'peak RSS MB':>13}")
    for phase in ("upload", "preview", "confirm", "total"):
        print(f"{phase:<10}{timings[phase]:>9.2f}{cpu[phase]:>9.2f}{peaks.get(phase, peak_mb()):>13.0f}")
    print(f"peak RSS {result['peak_rss_mb']} MB (before the upload: {result['rss_before_mb']} MB)")


if __name__ == "__main__":
    main()
