"""Start a cloud sync for automation; with --wait, follow it to the end (exit 0 finished, 1 failed)."""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand, CommandError

from devices import outbox
from devices.cloudsync import pages
from devices.models import CloudSync

# Seconds between looks at the sync while another worker holds every drainer slot.
POLL = 1.0
# A drainer run from here gives its slot back this often, to report progress.
DRAIN_STEP = 30.0


class Command(BaseCommand):
    help = (
        "Start a sync of the inventory from the cloud (Get Devices v2.2, 50 devices a request, within the "
        "budget), or say that one is running. --wait follows it, sending its pages from here too when a "
        "drainer slot is free, and exits 1 if it fails."
    )

    def add_arguments(self, parser):
        parser.add_argument("--wait", action="store_true", help="Follow the sync until it ends.")
        parser.add_argument("--timeout", type=float, default=None,
                            help="With --wait: give up following after this many seconds (the sync goes on).")

    def handle(self, *args, wait: bool, timeout: float | None, **options):
        started = pages.start_sync(CloudSync.Trigger.COMMAND)
        sync = started.sync
        if sync is None:
            raise CommandError("A sync was running a moment ago and has just ended; run the command again.")
        if started.created:
            self.stdout.write(f"Cloud sync #{sync.pk} started.")
        else:
            self.stdout.write(f"Cloud sync #{sync.pk} is already running ({self._progress(sync)}); nothing new started.")
        if wait:
            self._follow(sync, timeout)

    def _follow(self, sync: CloudSync, timeout: float | None) -> None:
        deadline = None if timeout is None else time.monotonic() + timeout
        shown = None
        while True:
            sync.refresh_from_db()
            if (sync.status, sync.next_page) != shown:
                shown = (sync.status, sync.next_page)
                if sync.is_running:
                    self.stdout.write(f"#{sync.pk}: {self._progress(sync)}")
            if not sync.is_running:
                break
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                raise CommandError(f"Cloud sync #{sync.pk} is still running after {timeout:g} s; it goes on without us.")
            # Send its pages from here when a slot is free, so --wait works without a worker running.
            report = outbox.drain(max_runtime=min(DRAIN_STEP, left) if left is not None else DRAIN_STEP)
            if report.skipped or not report.sent:
                time.sleep(POLL)
        listed = (f"{sync.devices_total} devices in the cloud" if sync.devices_total is not None
                  else f"{sync.devices_read} devices listed")
        skipped = f", {sync.skipped} skipped" if sync.skipped else ""
        summary = (f"{listed}: {sync.added} added, {sync.updated} updated{skipped}, "
                   f"{sync.marked_missing} marked not in the cloud")
        for note in sync.notes:
            self.stderr.write(f"note: {note}")
        if sync.status == CloudSync.Status.FAILED:
            raise CommandError(f"Cloud sync #{sync.pk} failed: {sync.error} ({summary} before that).")
        self.stdout.write(f"Cloud sync #{sync.pk} finished: {summary}.")

    @staticmethod
    def _progress(sync: CloudSync) -> str:
        if not sync.pages_done:
            return "waiting for the first page"
        # The cloud's count, when it gives one, is a hint: the list ends at its short or empty page.
        pages = (f"page {sync.pages_done} of {sync.pages_total} done" if sync.pages_total
                 else f"{sync.pages_done} page(s) read so far ({sync.devices_read} devices)")
        return f"{pages}, {sync.added} added, {sync.updated} updated"
