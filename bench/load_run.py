"""Load the site as it runs in production: gunicorn, the simulator as the cloud, a django-q2 cluster; locust headless.

Usage: .venv/bin/python bench/load_run.py [--db postgresql sqlite] [--workers 3] [--threads 4]
           [--users 50] [--duration 60] [--race 20] [--devices 10000]

Per database: a fresh database (PostgreSQL: the one --pg-url names is dropped
and created again, so it must be a throw-away one whose name says load or
bench; SQLite: a file in a temporary folder), 10,000 devices, operators
logged in beforehand, collectstatic; then gunicorn, the simulator and a
cluster start, and locust runs two scenarios:
  1. browse: --users operators for --duration s on the list, search, a
     device's page and its action buttons;
  2. same click: --race operators press the same button of one device at once.
Prints, per database, what docs/benchmarks.md shows: p50/p95 per endpoint, requests
per second, 5xx (must be 0), the race's actions (must be 1), the CPU that
locust and the site used, and the machine's load average. Exits 1 when a
5xx or a duplicate action was seen. Every process it starts, it stops.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
LOCUSTFILE = ROOT / "bench" / "load" / "locustfile.py"
DB_STEPS = ROOT / "bench" / "load" / "db_steps.py"
PG_URL = "postgres://postgres@127.0.0.1:5432/gd_load"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def say(text: str) -> None:
    print(text, flush=True)


def recreate_postgres(url: str) -> None:
    """Drop and create the database `url` names; only a throw-away one (its name says load or bench)."""
    import psycopg

    name = urlsplit(url).path.lstrip("/")
    if not any(word in name for word in ("load", "bench")):
        sys.exit(f"--pg-url names the database {name!r}: this run drops it, so give one whose name says load or bench.")
    admin = urlsplit(url)._replace(path="/postgres").geturl().replace("postgres://", "postgresql://", 1)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


class Processes:
    """What this run started; stop() ends each (its process group) and keeps its CPU seconds."""

    def __init__(self) -> None:
        self.running: dict[str, subprocess.Popen] = {}
        self.cpu: dict[str, float] = {}

    def start(self, name: str, argv: list[str], env: dict, log: Path) -> subprocess.Popen:
        with open(log, "w") as out:
            proc = subprocess.Popen(argv, env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        self.running[name] = proc
        return proc

    def stop(self, name: str, timeout: float = 20) -> None:
        proc = self.running.pop(name)
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while True:
            # wait4 rather than wait: the process's CPU time, its waited children's included.
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                proc.returncode = os.waitstatus_to_exitcode(status)
                self.cpu[name] = usage.ru_utime + usage.ru_stime
                break
            if time.monotonic() > deadline:
                os.killpg(proc.pid, signal.SIGKILL)
                deadline = float("inf")
            time.sleep(0.1)
        try:
            os.killpg(proc.pid, signal.SIGKILL)  # anything of its group left behind
        except ProcessLookupError:
            pass

    def stop_all(self) -> None:
        for name in reversed(list(self.running)):
            self.stop(name)


def wait_for(url: str, proc: subprocess.Popen, log: Path, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            sys.exit(f"{proc.args[:3]} stopped at start; see {log}:\n{log.read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.3)
    sys.exit(f"{url} did not answer within {seconds:.0f} s; see {log}")


class LoadSampler(threading.Thread):
    """The machine's 1-minute load average every 5 s while locust runs."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.samples: list[float] = []
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.wait(5):
            self.samples.append(os.getloadavg()[0])


def locust(users: str, count: int, duration: int, host: str, csv_prefix: Path, env: dict, log: Path) -> float:
    """Run locust headless; its CPU seconds."""
    argv = [str(BIN / "locust"), "-f", str(LOCUSTFILE), "--headless", "--host", host, "-u", str(count),
            "-r", str(count if users == "SameClick" else 10), "-t", f"{duration}s", "--csv", str(csv_prefix),
            "--only-summary", "--loglevel", "WARNING", "--stop-timeout", "5", users]
    before = os.times()
    with open(log, "w") as out:
        subprocess.run(argv, env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, check=False)
    after = os.times()
    return (after.children_user - before.children_user) + (after.children_system - before.children_system)


def run_on(db: str, args, out: Path) -> dict:
    """Prepare `db`, start the site, run both scenarios, stop everything; the figures."""
    var = Path(tempfile.mkdtemp(prefix=f"gearsdash-load-{db}-"))
    sim_port, site_port = free_port(), free_port()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "gearsdash.settings",
        "DJANGO_HTTPS": "0", "DJANGO_DEBUG": "0", "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "GEARSDASH_VAR_DIR": str(var), "GEARSDASH_LOG_LEVEL": "WARNING",
        "GEARS_BASE_URL": f"http://127.0.0.1:{sim_port}",
    }
    env.pop("DATABASE_URL", None)
    if db == "postgresql":
        recreate_postgres(args.pg_url)
        env["DATABASE_URL"] = args.pg_url
    plan = out / f"{db}-plan.json"
    python = str(BIN / "python")
    started = time.monotonic()
    subprocess.run([python, str(DB_STEPS), "prepare", str(plan), "--devices", str(args.devices),
                    "--browse", str(args.users), "--race", str(args.race)], env=env, cwd=ROOT, check=True)
    subprocess.run([python, "manage.py", "collectstatic", "--noinput", "--verbosity", "0"], env=env, cwd=ROOT, check=True)
    say(f"[{db}] database ready ({args.devices:,} devices, {args.users + args.race} operators) in {time.monotonic() - started:.0f} s")
    procs = Processes()
    figures: dict = {"db": db}
    try:
        log = out / f"{db}-simulator.log"
        sim = procs.start("simulator", [python, "-m", "fakegears", "--port", str(sim_port)], env, log)
        wait_for(f"http://127.0.0.1:{sim_port}/_sim/stats", sim, log)
        procs.start("cluster", [python, "manage.py", "qcluster"], env, out / f"{db}-cluster.log")
        log = out / f"{db}-gunicorn.log"
        # The production configuration (as `make serve` runs it), with this run's worker choices.
        gunicorn = [str(BIN / "gunicorn"), "-c", "python:gearsdash.gunicorn_conf", "gearsdash.wsgi:application"]
        site_env = {**env, "GEARSDASH_BIND": f"127.0.0.1:{site_port}", "GEARSDASH_WORKERS": str(args.workers),
                    "GEARSDASH_THREADS": str(args.threads), "GEARSDASH_KEEPALIVE": str(args.keep_alive)}
        site = procs.start("gunicorn", gunicorn, site_env, log)
        host = f"http://127.0.0.1:{site_port}"
        wait_for(f"{host}/accounts/login/", site, log)
        locust_env = {**env, "GD_LOAD_PLAN": str(plan)}
        results = Path(json.loads(plan.read_text())["results"])
        sampler = LoadSampler()
        sampler.start()
        figures["locust_cpu"] = locust("Browse", args.users, args.duration, host, out / f"{db}-browse", locust_env,
                                       out / f"{db}-locust-browse.log")
        sampler.done.set()
        figures["browse"] = json.loads(results.read_text())
        figures["load"] = sampler.samples
        locust("SameClick", args.race, 60, host, out / f"{db}-race", locust_env, out / f"{db}-locust-race.log")
        figures["race"] = json.loads(results.read_text())
        checked = subprocess.run([python, str(DB_STEPS), "check", str(plan)], env=env, cwd=ROOT, check=True,
                                 capture_output=True, text=True)
        figures["check"] = json.loads(checked.stdout)
    finally:
        procs.stop_all()
        if db == "sqlite":
            shutil.rmtree(var, ignore_errors=True)
    figures["site_cpu"], figures["cluster_cpu"] = procs.cpu.get("gunicorn", 0.0), procs.cpu.get("cluster", 0.0)
    return figures


def endpoint_rows(figures: dict) -> dict[str, dict]:
    return {row["Name"]: row for row in figures["browse"]["stats"] + figures["race"]["stats"] if row["Name"] != "Aggregated"}


def report(results: list[dict], args) -> bool:
    """Print the markdown for docs/benchmarks.md; True when no 5xx and no duplicate action was seen."""
    names = list(dict.fromkeys(name for figures in results for name in endpoint_rows(figures)))
    header = "| endpoint | " + " | ".join(f"{f['db']} requests | {f['db']} p50 ms | {f['db']} p95 ms" for f in results) + " |"
    say("")
    say(f"{args.users} operators for {args.duration} s (think time 0.5–1.5 s), then {args.race} pressing one button "
        f"at once; gunicorn {args.workers} workers" + (f" × {args.threads} threads" if args.threads > 1 else "")
        + f" (keep-alive {args.keep_alive} s)" * (args.threads > 1) + f", {args.devices:,} devices, 2 cores shared with locust")
    say("")
    say(header)
    say("|---|" + "---:|" * (3 * len(results)))
    for name in names:
        cells = []
        for figures in results:
            row = endpoint_rows(figures).get(name)
            cells += [str(row["Request Count"]), str(row["50%"]), str(row["95%"])] if row else ["", "", ""]
        say(f"| {name} | " + " | ".join(cells) + " |")
    say("")
    say("| | " + " | ".join(f["db"] for f in results) + " |")
    say("|---|" + "---:|" * len(results))
    ok = True
    lines: dict[str, list[str]] = {}
    for figures in results:
        total = next(row for row in figures["browse"]["stats"] if row["Name"] == "Aggregated")
        errors = figures["browse"], figures["race"]
        fives = sum(sum(e["server_errors"].values()) for e in errors)
        transport = sum(sum(e["transport_errors"].values()) for e in errors)
        race, check = figures["race"]["race"], figures["check"]
        duplicate = check["race_actions"] != 1 or race.get("queued", 0) != 1
        ok &= fives == 0 and not duplicate
        load = figures["load"] or [0.0]
        for label, value in [
            ("requests per second (browse)", f"{float(total['Requests/s']):.1f}"),
            ("p50 / p95 all browse requests, ms", f"{total['50%']} / {total['95%']}"),
            ("5xx answers", str(fives) + (" ⚠" if fives else "")),
            ("connection errors", str(transport)),
            ("failed requests of any kind (4xx, wrong answer ...)",
             str(sum(row["Failure Count"] for e in errors for row in e["stats"] if row["Name"] == "Aggregated"))),
            (f"{args.race} same clicks: queued / already waiting / other",
             f"{race.get('queued', 0)} / {race.get('already waiting', 0)} / "
             f"{sum(v for k, v in race.items() if k not in ('queued', 'already waiting'))}"),
            ("actions for that device afterwards", f"{check['race_actions']} ({', '.join(check['race_statuses'])})"),
            ("CPU s over both scenarios: gunicorn (all workers) / cluster / locust (browse)",
             f"{figures['site_cpu']:.0f} / {figures.get('cluster_cpu', 0):.0f} / {figures['locust_cpu']:.0f}"),
            ("load average during the run (mean / max)", f"{sum(load) / len(load):.1f} / {max(load):.1f}"),
        ]:
            lines.setdefault(label, []).append(value)
    for label, values in lines.items():
        say(f"| {label} | " + " | ".join(values) + " |")
    return ok


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", nargs="+", choices=["postgresql", "sqlite"], default=["postgresql", "sqlite"])
    parser.add_argument("--pg-url", default=os.environ.get("LOAD_DATABASE_URL", PG_URL),
                        help="a throw-away PostgreSQL database: it is dropped and created again (default: %(default)s)")
    # 3 workers × 4 threads served the most requests of 2-4 workers with and without threads on 2 cores
    # (docs/benchmarks.md, "gunicorn workers and threads"); threads let a request waiting on the database overlap another.
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--threads", type=int, default=4)
    # With keep-alive, a threaded worker now and then resets a connection it closes as idle just as the
    # client reuses it (ConnectionResetError under load); 0 closes each one after its answer, as sync workers do.
    parser.add_argument("--keep-alive", type=int, default=0, help="GEARSDASH_KEEPALIVE for this run (default: %(default)s)")
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--duration", type=int, default=60)
    parser.add_argument("--race", type=int, default=20)
    parser.add_argument("--devices", type=int, default=10_000)
    parser.add_argument("--out", type=Path, default=None, help="folder for the CSV files and logs (default: a temporary one)")
    args = parser.parse_args()
    out = args.out or Path(tempfile.mkdtemp(prefix="gearsdash-load-"))
    out.mkdir(parents=True, exist_ok=True)
    say(f"CSV files and logs in {out}")
    results = [run_on(db, args, out) for db in args.db]
    (out / "figures.json").write_text(json.dumps(results, indent=1))
    if not report(results, args):
        say("\nFAILED: a 5xx answer or a duplicate action (see above)")
        sys.exit(1)


if __name__ == "__main__":
    main()
