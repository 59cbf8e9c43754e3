"""The audit log: who changed, queued, cancelled or retried what; a device's timeline reads it."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from devices.models.inventory import Device
from devices.models.outbox import Action, ActionKind, BulkJob


# Outside AuditEntry so that its Meta's constraint can name the values.
class AuditVerb(models.TextChoices):
    QUEUED = "queued", "Queued"
    BULK_QUEUED = "bulk_queued", "Queued in bulk"
    EMAILED = "emailed", "Emailed a remediation link"
    CANCELLED = "cancelled", "Cancelled"
    BULK_CANCELLED = "bulk_cancelled", "Cancelled a bulk job"
    RETRIED = "retried", "Retried"
    CREATED = "created", "Created"
    EDITED = "edited", "Edited"
    IMPORTED = "imported", "Imported"
    SYNCED = "synced", "Synced from the cloud"
    DELETED = "deleted", "Deleted"
    CHECKED_CLOUD = "checked_cloud", "Tested the connection to the cloud"
    TOKEN_CREATED = "token_created", "Created an API token"
    TOKEN_NEW_ADDRESS = "token_new_address", "Used an API token from a new address"
    TOKEN_REVOKED = "token_revoked", "Revoked an API token"


class AuditEntry(models.Model):
    """Who changed, queued, cancelled or retried what, and when; `changes` holds an edit's old and new values."""

    Verb = AuditVerb

    at = models.DateTimeField(auto_now_add=True, db_index=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    username = models.CharField(max_length=150, help_text="Kept when the user is deleted.")
    verb = models.CharField(max_length=20, choices=Verb.choices)
    kind = models.CharField(max_length=20, choices=ActionKind.choices, blank=True)
    device = models.ForeignKey(Device, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    device_name = models.CharField(max_length=253, blank=True)
    action = models.ForeignKey(Action, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    bulk_job = models.ForeignKey(BulkJob, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    detail = models.CharField(max_length=300, blank=True)
    # What an edit, import or sync changed: [[field, old, new], ...].
    changes = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name_plural = "audit entries"
        indexes = [models.Index(fields=["device", "-at"], name="audit_device_recent_idx")]
        constraints = [models.CheckConstraint(condition=models.Q(verb__in=AuditVerb.values), name="audit_verb_valid")]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.username} {self.verb} {self.kind} {self.device_name}"

    @property
    def action_label(self) -> str:
        """What the entry was about, in the words of its verb.

        An emailed link was not fetched: its kind (the remediation fetch) would read
        "Fetch remediation link" beside "Emailed a remediation link".
        """
        if self.verb == AuditVerb.EMAILED:
            return "Remediation link"
        return self.get_kind_display()
