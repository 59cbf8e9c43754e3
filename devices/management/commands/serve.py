"""Production: gunicorn and django-q2 clusters against DATABASE_URL and Q_CLUSTER_REDIS_URL (make serve, make worker).

No demo data, no simulator. Every machine that runs it with the same two URLs
joins the same site and the same queue: the outbox's limits hold across all of them.
"""

from __future__ import annotations

import sys

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, connections

from devices.management.supervisor import Supervisor, in_use
from gearsdash import gunicorn_conf

GUNICORN = ["-m", "gunicorn", "-c", "python:gearsdash.gunicorn_conf", "gearsdash.wsgi"]
# A cluster stops within a few seconds of SIGTERM; gunicorn takes up to its graceful timeout.
STOP_MARGIN = 10.0


class Command(BaseCommand):
    help = "Run gunicorn and django-q2 cluster(s) on the configured database and broker (make serve, make worker)."

    def add_arguments(self, parser):
        parser.add_argument("--clusters", type=int, default=1, help="django-q2 clusters to start here (default 1).")
        parser.add_argument("--no-site", action="store_true", help="Only the cluster(s): a worker machine.")
        parser.add_argument("--prepare", action="store_true", help="Migrate and collect static files first.")
        parser.add_argument("--allow-sqlite", action="store_true",
                            help="Serve from the SQLite file in var/ (one machine only; not for production).")

    def handle(self, *args, clusters: int, no_site: bool, prepare: bool, allow_sqlite: bool, **options):
        if clusters < 0 or (no_site and clusters < 1):
            raise CommandError("--clusters must be at least 1 with --no-site, and never negative.")
        self.check_backends(allow_sqlite)
        binds = gunicorn_conf.bind
        host, _, port = binds[0].rpartition(":")
        tcp = not binds[0].startswith("unix:") and port.isdigit()
        if not no_site and tcp and in_use(host or "127.0.0.1", int(port)):
            raise CommandError(f"{binds[0]} is already in use: stop what runs there, or set GEARSDASH_BIND.")
        if prepare:
            call_command("migrate", interactive=False, verbosity=1)
            call_command("collectstatic", interactive=False, verbosity=0)
        # The launcher serves nothing: it must not hold a database connection for as long as it runs.
        connections.close_all()
        children = Supervisor(settings.BASE_DIR, self.stdout.write, self.stderr.write,
                              stop_timeout=gunicorn_conf.graceful_timeout + STOP_MARGIN)
        try:
            for number in range(1, clusters + 1):
                children.start(f"cluster {number}", [sys.executable, str(settings.BASE_DIR / "manage.py"), "qcluster"])
            if not no_site:
                children.start("gunicorn", [sys.executable, *GUNICORN])
                if tcp and children.wait_until_up(f"http://{host or '127.0.0.1'}:{port}/healthz"):
                    self.stdout.write(self.style.SUCCESS(f"gearsdash is serving on {', '.join(binds)} "
                                                         f"with {clusters} cluster(s)."))
            else:
                self.stdout.write(self.style.SUCCESS(f"{clusters} cluster(s) running."))
            self.stdout.write("Ctrl-C or SIGTERM stops everything.")
            children.watch()
        finally:
            children.stop_all()
        children.exit_if_failed()

    def check_backends(self, allow_sqlite: bool) -> None:
        """Refuse SQLite unless asked for; say which database and broker are used (never their URLs)."""
        if connection.vendor == "sqlite" and not allow_sqlite:
            raise CommandError(
                "DATABASE_URL is not set, so this would serve from the SQLite file in var/. "
                "Set DATABASE_URL=postgres://user@host:5432/name (and Q_CLUSTER_REDIS_URL=redis://host:6379/0), "
                "or pass --allow-sqlite (make serve SERVE_ARGS=--allow-sqlite) to serve one machine from SQLite."
            )
        broker = "Redis" if settings.Q_CLUSTER.get("redis") else "the database (ORM broker; set Q_CLUSTER_REDIS_URL for Redis)"
        self.stdout.write(f"Database: {connection.vendor}; broker: {broker}.")
