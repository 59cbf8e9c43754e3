"""Start everything `make run` needs and stop it all on Ctrl-C.

Runs three children under the Supervisor (devices/management/supervisor.py):
the upstream simulator, the django-q2 cluster and the web server.
"""

from __future__ import annotations

import os
import sys
from urllib.parse import urlsplit

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from devices.management.commands.load_demo import DEMO_USERS
from devices.management.supervisor import Supervisor, in_use

# runserver's request lines: only failures unless GEARSDASH_SERVER_LOG_LEVEL says otherwise.
SERVER_LOG_LEVEL = os.environ.get("GEARSDASH_SERVER_LOG_LEVEL", "WARNING").strip().upper() or "WARNING"


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
        children = Supervisor(settings.BASE_DIR, self.stdout.write, self.stderr.write)

        upstream = urlsplit(settings.GEARS_BASE_URL)
        if upstream.hostname not in ("127.0.0.1", "localhost"):
            # A real upstream is configured: there is nothing to simulate.
            no_simulator = True
        host, _, port = addr.rpartition(":")
        wanted = [(host or "127.0.0.1", int(port), "the site")]
        if not no_simulator:
            wanted.append((upstream.hostname or "127.0.0.1", upstream.port or 80, "the simulator"))
        for host, port, what in wanted:
            if in_use(host, port):
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
                children.start(
                    "simulator",
                    [python, "-m", "fakegears", "--host", upstream.hostname or "127.0.0.1",
                     "--port", str(upstream.port or 80), "--seed", str(seed), "--devices", str(devices)],
                )
            children.start("worker", manage + ["qcluster"])
            # The pages poll every few seconds: one INFO line each would scroll the
            # logins below away. Failed requests (WARNING, ERROR) are still shown.
            site_env = {**os.environ, "GEARSDASH_SERVER_LOG_LEVEL": SERVER_LOG_LEVEL}
            children.start("site", manage + ["runserver", "--noreload", addr], env=site_env)
            url = f"http://{addr}/"
            if children.wait_until_up(url + "accounts/login/"):
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
            children.watch()
        finally:
            children.stop_all()
        children.exit_if_failed()
