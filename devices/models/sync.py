"""Cloud syncs: one row per run of paging through Get Devices v2.2, so a restart resumes where it stopped."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q


class SyncStatus(models.TextChoices):
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Finished"
    FAILED = "failed", "Failed"


class SyncTrigger(models.TextChoices):
    SCHEDULE = "schedule", "Schedule"
    OPERATOR = "operator", "Operator"
    COMMAND = "command", "Command line"


class CloudSync(models.Model):
    """One sync of the inventory from the cloud; the page reached is kept here, not in memory."""

    Status = SyncStatus
    Trigger = SyncTrigger

    status = models.CharField(max_length=10, choices=SyncStatus.choices, default=SyncStatus.RUNNING)
    trigger = models.CharField(max_length=10, choices=SyncTrigger.choices)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                     related_name="+")
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    next_page = models.PositiveIntegerField(default=1, help_text="The page to fetch next (1-based).")
    pages_total = models.PositiveIntegerField(
        null=True, blank=True, help_text="From the cloud's count, if its pages give one: a hint for progress only.")
    devices_total = models.PositiveIntegerField(
        null=True, blank=True, help_text="What the cloud said it has; None while no page gave a count.")
    devices_read = models.PositiveIntegerField(default=0, db_default=0, help_text="Devices the pages read so far listed.")
    added = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    marked_missing = models.PositiveIntegerField(default=0, help_text="Devices the cloud no longer lists.")
    skipped = models.PositiveIntegerField(default=0, db_default=0, help_text="Listed devices whose fields did not fit: not written.")
    error = models.CharField(max_length=300, blank=True)
    # The cloud's count changed between pages: items shifted between pages, so "not listed" proves nothing.
    list_changed = models.BooleanField(default=False)
    # What the sync could not store as the cloud sent it (a MAC another device has, a HWID unfit), or why it ended early.
    notes = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(status__in=SyncStatus.values), name="cloud_sync_status_valid"),
            models.CheckConstraint(condition=Q(trigger__in=SyncTrigger.values), name="cloud_sync_trigger_valid"),
            # One sync at a time, across every worker and machine.
            models.UniqueConstraint(fields=["status"], condition=Q(status=SyncStatus.RUNNING.value),
                                    name="one_running_cloud_sync"),
        ]

    def __str__(self) -> str:
        return f"Cloud sync {self.pk} ({self.get_status_display()})"

    @property
    def is_running(self) -> bool:
        return self.status == SyncStatus.RUNNING

    @property
    def pages_done(self) -> int:
        return self.next_page - 1

    @property
    def percent(self) -> int:
        """How far through the pages, 0-100 (0 while no page gave a count: the cloud may never give one)."""
        if not self.pages_total:
            return 100 if self.status == SyncStatus.SUCCEEDED else 0
        return min(100, round(100 * self.pages_done / self.pages_total))
