"""What the API's answers hold: read-only shapes of the models, and the request bodies it takes.

Writes to a device are validated by the page's own DeviceForm (devices.api.views),
so the API's errors and constraints are the form's; these serializers describe them.
"""

from __future__ import annotations

from datetime import datetime

from django.db.models import Count
from rest_framework import serializers

from devices import outbox
from devices.models import DEVICE_KINDS, Action, ActionKind, ActionStatus, AuditEntry, BulkJob, Device, RemediationState
from devices.validators import HWID_MAX_LENGTH


class DeviceSerializer(serializers.ModelSerializer):
    macs = serializers.SerializerMethodField()
    in_cloud = serializers.BooleanField(read_only=True, allow_null=True)
    owner_email = serializers.CharField(read_only=True, help_text="An email address, or blank.")

    class Meta:
        model = Device
        fields = ["id", "name", "hwid", "macs", "owner_name", "owner_email", "notes", "compliance", "exempt_mode",
                  "remediation_state", "last_seen_at", "in_cloud", "created_at", "updated_at"]
        read_only_fields = fields

    def get_macs(self, device: Device) -> list[str]:
        return [mac.address for mac in device.ordered_macs]


class DeviceWriteSerializer(serializers.Serializer):
    """A device's editable values; `macs` is a list, the first the primary (any common notation)."""

    name = serializers.CharField(max_length=Device._meta.get_field("name").max_length)
    hwid = serializers.CharField(required=False, allow_blank=True, allow_null=True, max_length=HWID_MAX_LENGTH)
    macs = serializers.ListField(child=serializers.CharField(max_length=40), required=False, max_length=100)
    owner_name = serializers.CharField(required=False, allow_blank=True, max_length=200)
    owner_email = serializers.CharField(required=False, allow_blank=True, max_length=254)
    notes = serializers.CharField(required=False, allow_blank=True, max_length=10_000)

    def as_form_data(self) -> dict[str, str]:
        """The body as the page's form takes it (MACs one per line)."""
        data = self.validated_data
        return {
            "name": data["name"],
            "hwid": data.get("hwid") or "",
            "macs": "\n".join(data.get("macs") or []),
            "owner_name": data.get("owner_name", ""),
            "owner_email": data.get("owner_email", ""),
            "notes": data.get("notes", ""),
        }


class BudgetSerializer(serializers.Serializer):
    limit = serializers.IntegerField(help_text="Calls the cloud allows per window.")
    window_seconds = serializers.FloatField()
    used = serializers.IntegerField(help_text="Calls made in the current window.")
    next_slot = serializers.DateTimeField(help_text="When the next bulk call may go out.")
    click_slot = serializers.DateTimeField(help_text="When the next interactive call may go out.")
    backlog_actions = serializers.IntegerField(help_text="Actions waiting.")
    backlog_requests = serializers.IntegerField(help_text="Calls those actions take (bulk ones go in batches).")
    drains_at = serializers.DateTimeField(allow_null=True, help_text="When the last waiting action is expected out; null: nothing waits.")
    paused_until = serializers.DateTimeField(allow_null=True)
    pause_reason = serializers.CharField(allow_blank=True)


class ProblemSerializer(serializers.Serializer):
    """RFC 9457 problem details, as every error is answered."""

    type = serializers.CharField()
    title = serializers.CharField()
    status = serializers.IntegerField()
    detail = serializers.CharField()
    errors = serializers.DictField(child=serializers.ListField(child=serializers.CharField()), required=False)


# The largest id a database column holds (a 64-bit integer): a bigger one is a 400, never a database error.
MAX_ID = 2**63 - 1

# What may be queued for a device (every kind but a sync's page); named in the schema by SPECTACULAR_SETTINGS.
DEVICE_KIND_CHOICES = [(k, ActionKind(k).label) for k in DEVICE_KINDS]


class ActionRequestSerializer(serializers.Serializer):
    device = serializers.IntegerField(min_value=1, max_value=MAX_ID, help_text="The device's id.")
    kind = serializers.ChoiceField(choices=DEVICE_KIND_CHOICES)


class ActionSerializer(serializers.ModelSerializer):
    """An action as it stands: queued, under way or done, and where it is in the queue."""

    queue_position = serializers.SerializerMethodField(help_text="Waiting actions that go before it; null once sent.")
    eta = serializers.SerializerMethodField(help_text="When it is expected to be sent; null once sent.")
    superseded_by = serializers.PrimaryKeyRelatedField(read_only=True, allow_null=True)

    class Meta:
        model = Action
        fields = ["id", "device", "kind", "status", "created_at", "not_before", "attempts", "first_sent_at",
                  "finished_at", "http_status", "upstream_msg", "last_error", "bulk_job", "superseded_by",
                  "queue_position", "eta"]
        read_only_fields = fields

    def get_queue_position(self, action: Action) -> int | None:
        return outbox.queue_rank(action) if action.is_pending else None

    def get_eta(self, action: Action) -> datetime | None:
        eta = outbox.estimated_send_time(action, self.context.get("budget")) if action.is_pending else None
        return serializers.DateTimeField().to_representation(eta) if eta else None


class RemediationSerializer(serializers.Serializer):
    device = serializers.IntegerField()
    state = serializers.ChoiceField(choices=RemediationState.choices)
    link = serializers.CharField(allow_blank=True)
    fetched_at = serializers.DateTimeField(allow_null=True)
    age_seconds = serializers.FloatField(allow_null=True, help_text="How old the link is; null: never fetched.")
    stale = serializers.BooleanField(help_text="Older than the refresh interval, or never fetched.")
    error = serializers.CharField(allow_blank=True)
    fetch = serializers.IntegerField(allow_null=True, help_text="The fetch on its way (an action id), if any.")


class AuditEntrySerializer(serializers.ModelSerializer):
    # Blank for an entry about no action (an edit, a token).
    kind = serializers.ChoiceField(choices=ActionKind.choices, allow_blank=True, read_only=True)

    class Meta:
        model = AuditEntry
        fields = ["id", "at", "username", "verb", "kind", "device", "device_name", "action", "bulk_job", "detail",
                  "changes"]
        read_only_fields = fields


class BulkJobRequestSerializer(serializers.Serializer):
    """One action over many devices: by ids, or everything a device-list filter selects (exactly one of the two)."""

    kind = serializers.ChoiceField(choices=DEVICE_KIND_CHOICES)
    device_ids = serializers.ListField(child=serializers.IntegerField(min_value=1, max_value=MAX_ID), required=False,
                                       allow_empty=False, max_length=200_000)
    filter = serializers.DictField(child=serializers.CharField(allow_blank=True, max_length=200), required=False,
                                   help_text="The device list's parameters: q, compliance, exempt, remediation, "
                                             "identifier, owner, cloud, unseen_days. {} selects every device.")

    def validate(self, data):
        if ("device_ids" in data) == ("filter" in data):
            raise serializers.ValidationError("Give device_ids or filter, not both and not neither.")
        return data


class BulkJobSerializer(serializers.ModelSerializer):
    counts = serializers.SerializerMethodField(help_text="Its actions by status.")
    pending = serializers.SerializerMethodField(help_text="Actions still waiting or being sent.")
    eta = serializers.SerializerMethodField(help_text="When the last waiting action is expected out; null: none waits.")
    created_by = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)

    class Meta:
        model = BulkJob
        fields = ["id", "kind", "description", "requested", "already_queued", "created_by", "created_at",
                  "cancelled_at", "counts", "pending", "eta"]
        read_only_fields = fields

    def _counts(self, job: BulkJob) -> dict[str, int]:
        if not hasattr(job, "_status_counts"):
            rows = job.actions.values_list("status").annotate(n=Count("id")).values_list("status", "n")
            job._status_counts = {status: 0 for status in ActionStatus.values} | dict(rows)
        return job._status_counts

    def get_counts(self, job: BulkJob) -> dict[str, int]:
        return self._counts(job)

    def get_pending(self, job: BulkJob) -> int:
        counts = self._counts(job)
        return sum(counts[status] for status in (*Action.PENDING, Action.Status.SENDING))

    def get_eta(self, job: BulkJob) -> datetime | None:
        if not self.get_pending(job):
            return None
        eta = outbox.estimated_finish(job.actions.all(), self.context.get("budget") or outbox.budget_view())
        return serializers.DateTimeField().to_representation(eta) if eta else None


class BulkResultSerializer(serializers.ModelSerializer):
    """One device's part of a bulk job."""

    device_name = serializers.CharField(source="device.name", read_only=True)

    class Meta:
        model = Action
        fields = ["id", "device", "device_name", "status", "attempts", "finished_at", "http_status", "upstream_msg",
                  "last_error"]
        read_only_fields = fields
