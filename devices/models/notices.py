"""Notices: events every signed-in person is told about in a toast (a bulk job ended, a sync ended, sending paused)."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone


class NoticeKind(models.TextChoices):
    BULK_ENDED = "bulk_ended", "Bulk job ended"
    SYNC_ENDED = "sync_ended", "Cloud sync ended"
    PAUSED = "paused", "Sending paused"
    RESUMED = "resumed", "Sending resumed"


class NoticeTone(models.TextChoices):
    """How the toast looks: the same classes as the page's messages."""

    INFO = "info", "Information"
    SUCCESS = "success", "Success"
    WARNING = "warning", "Warning"
    ERROR = "error", "Error"


class Notice(models.Model):
    """One event, noted once however many workers saw it happen (`key` is unique)."""

    Kind = NoticeKind
    Tone = NoticeTone

    kind = models.CharField(max_length=12, choices=NoticeKind.choices)
    tone = models.CharField(max_length=8, choices=NoticeTone.choices, default=NoticeTone.INFO)
    key = models.CharField(max_length=100, unique=True, help_text="Names the event: a second writer of it adds nothing.")
    text = models.CharField(max_length=400)
    link = models.CharField(max_length=200, blank=True, help_text="The page that tells more.")
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(condition=Q(kind__in=NoticeKind.values), name="notice_kind_valid"),
            models.CheckConstraint(condition=Q(tone__in=NoticeTone.values), name="notice_tone_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.text}"

    def as_json(self) -> dict:
        return {"id": self.pk, "kind": self.kind, "tone": self.tone, "text": self.text, "link": self.link,
                "at": self.created_at.isoformat()}
