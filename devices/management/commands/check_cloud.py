"""Test the connection to the cloud for an operator's first day: exit 0 when it works, 1 with what to fix."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from devices import cloudcheck


class Command(BaseCommand):
    help = (
        "Test the connection to the cloud: a token grant (unless GEARS_ACCESS_TOKEN is set) and one Get Devices "
        "page of one device, which spends one request of the budget. Reports TLS, the credentials, the page's "
        "shape, the rate-limit headers and the clock difference; exits 1 with what to fix when something fails."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--wait", type=float, default=None, metavar="SECONDS",
            help="Wait at most this long for a free request of the budget (default: the longest a click can "
                 "wait when nothing is paused).",
        )

    def handle(self, *args, wait: float | None, **options):
        max_wait = cloudcheck.slot_wait_bound() if wait is None else max(wait, 0.0)
        report = cloudcheck.run_check(max_wait=max_wait, on_finding=lambda finding: self.stdout.write(str(finding)))
        if not report.ok:
            raise CommandError(report.problem)
        self.stdout.write("The connection to the cloud works.")
