"""Start everything `make run` needs and stop it all on Ctrl-C.

Runs three children, each in its own process group: the upstream simulator,
the django-q2 cluster and the web server. Ctrl-C (or SIGTERM) stops them in
reverse order, waiting for each, so no process is left behind; if one of them
dies, the others are stopped too and the exit status says so.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from urllib.parse import urlsplit

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from devices.management.commands.load_demo import DEMO_USERS

STOP_TIMEOUT = 10.0
# runserver's request lines: only failures unless GEARSDASH_SERVER_LOG_LEVEL says otherwise.
SERVER_LOG_LEVEL = os.environ.get("GEARSDASH_SERVER_LOG_LEVEL", "WARNING").strip().upper() or "WARNING"


def _in_use(host: str, port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


class Command(BaseCommand):
    help = "Run the site, the django-q2 cluster and the upstream simulator together (make run)."

    def add_arguments(self, parser):
        parser.add_argument("--addr", default="127.0.0.1:8000")
        parser.add_argument("--no-simulator", action="store_true", help="Use GEARS_BASE_URL as it is.")
        parser.add_argument("--seed", type=int, default=42)
        parser.add_argument("--devices", type=int, default=40)

    def handle(self, *args, addr: str, no_simulator: bool, seed: int, devices: int, **options):
        python = sys.executable
        manage = [python, str(settings.BASE_DIR / "manage.py")]
        children: list[tuple[str, subprocess.Popen]] = []
        stopping = False

        def stop(signum=None, frame=None):
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)

        def start(name: str, argv: list[str], env: dict[str, str] | None = None) -> None:
            children.append(
                (name, subprocess.Popen(argv, cwd=settings.BASE_DIR, start_new_session=True, env=env))
            )

        upstream = urlsplit(settings.GEARS_BASE_URL)
        if upstream.hostname not in ("127.0.0.1", "localhost"):
            # A real upstream is configured: there is nothing to simulate.
            no_simulator = True
        host, _, port = addr.rpartition(":")
        wanted = [(host or "127.0.0.1", int(port), "the site")]
        if not no_simulator:
            wanted.append((upstream.hostname or "127.0.0.1", upstream.port or 80, "the simulator"))
        for host, port, what in wanted:
            if _in_use(host, port):
                raise CommandError(
                    f"{host}:{port} is already in use, so {what} cannot start there. "
                    "Is another `make run` still running? Stop it, or choose another ADDR / GEARS_BASE_URL."
                )
        if not no_simulator:
            # A new simulator knows none of the old one's tokens: forget ours
            # rather than spend the first call of the budget on a 401.
            from devices.models import UpstreamToken

            UpstreamToken.objects.all().delete()
        try:
            if not no_simulator:
                start(
                    "simulator",
                    [python, "-m", "fakegears", "--host", upstream.hostname or "127.0.0.1",
                     "--port", str(upstream.port or 80), "--seed", str(seed), "--devices", str(devices)],
                )
            start("worker", manage + ["qcluster"])
            # The pages poll every few seconds: one INFO line each would scroll the
            # logins below away. Failed requests (WARNING, ERROR) are still shown.
            site_env = {**os.environ, "GEARSDASH_SERVER_LOG_LEVEL": SERVER_LOG_LEVEL}
            start("site", manage + ["runserver", "--noreload", addr], env=site_env)
            url = f"http://{addr}/"
            if self._wait_until_up(url, children, lambda: stopping):
                self.stdout.write(self.style.SUCCESS(f"\ngearsdash is running at {url}"))
                self.stdout.write("Demo logins (user / password):")
                for username, password, role, _ in DEMO_USERS:
                    self.stdout.write(f"  {username:9} / {password:14} ({role})")
                if not no_simulator:
                    self.stdout.write(f"Upstream simulator: {settings.GEARS_BASE_URL}/_sim/stats")
                if SERVER_LOG_LEVEL != "INFO":
                    self.stdout.write("Requests are logged only when they fail "
                                      "(GEARSDASH_SERVER_LOG_LEVEL=INFO logs every one).")
                self.stdout.write("Press Ctrl-C to stop everything.\n")
            while not stopping:
                for name, child in children:
                    if child.poll() is not None:
                        self.stderr.write(f"{name} exited with status {child.returncode}; stopping the rest.")
                        stopping = True
                        break
                time.sleep(0.3)
        finally:
            self._stop_all(children)
        failed = [name for name, child in children if child.returncode not in (0, -signal.SIGTERM, -signal.SIGINT)]
        if failed:
            sys.exit(1)

    def _wait_until_up(self, url: str, children, stopping, timeout: float = 60.0) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and not stopping():
            if any(child.poll() is not None for _, child in children):
                return False
            try:
                urllib.request.urlopen(url + "accounts/login/", timeout=2).close()
                return True
            except (urllib.error.URLError, OSError):
                time.sleep(0.3)
        return False

    def _stop_all(self, children) -> None:
        # Signal each child's main process only: the qcluster parent stops its
        # own workers, and stalls if they are killed under it.
        for name, child in reversed(children):
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        for name, child in reversed(children):
            try:
                child.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.stderr.write(f"{name} did not stop in {STOP_TIMEOUT:g} s; killing it.")
                child.kill()
                child.wait()
            try:
                os.killpg(child.pid, signal.SIGKILL)  # anything it left behind
            except (ProcessLookupError, PermissionError):
                pass
        self.stdout.write("Stopped.")
