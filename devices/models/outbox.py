"""The outbox: upstream calls queued as rows, their attempts, and the shared upstream state."""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from devices.models.inventory import Device, ExemptMode
from devices.models.sync import CloudSync


class ActionKind(models.TextChoices):
    DHCPRENEW = "dhcprenew", "Renew DHCP"
    EXEMPT_CRITICAL = "exempt_critical", "Exempt critical issues"
    EXEMPT_ALL = "exempt_all", "Exempt all issues"
    UNEXEMPT = "unexempt", "Remove exemption"
    REMEDIATION = "remediation", "Fetch remediation link"
    SYNC_PAGE = "sync_page", "Fetch a page of the cloud's device list"


# What may be queued for one device: every kind but a sync's page, which concerns the whole list.
DEVICE_KINDS = tuple(k.value for k in ActionKind if k != ActionKind.SYNC_PAGE)
# The four Device Action v2.0 types; a remediation fetch and a sync page are GETs of their own.
DEVICE_ACTIONS = [(k.value, k.label) for k in ActionKind if k not in (ActionKind.REMEDIATION, ActionKind.SYNC_PAGE)]

# The types the bulk endpoint takes (docs/upstream/api-notes.md §2.3): bulk
# jobs of these kinds go out up to GEARS_BATCH_SIZE devices per request.
BULK_ENDPOINT_KINDS = (ActionKind.DHCPRENEW, ActionKind.EXEMPT_ALL, ActionKind.UNEXEMPT)


# What each exemption action asks the cloud for: a desired state, not a
# toggle, so that sending it twice (an ambiguous resend) is harmless.
EXEMPT_MODE_OF = {
    ActionKind.EXEMPT_CRITICAL: ExemptMode.CRITICAL,
    ActionKind.EXEMPT_ALL: ExemptMode.ALL,
    ActionKind.UNEXEMPT: ExemptMode.NONE,
}


class Priority(models.IntegerChoices):
    """Claim order, lowest first: a click never waits behind what page views or bulk jobs queued."""

    CLICK = 0, "Interactive"
    PAGE_VIEW = 5, "Page view"
    BULK = 9, "Bulk"
    SYNC = 12, "Cloud sync"


class BulkJob(models.Model):
    """One action fanned out over many devices; its progress is its actions' states."""

    kind = models.CharField(max_length=20, choices=ActionKind.choices)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    description = models.CharField(max_length=300, blank=True, help_text="Which devices: the selection or filter.")
    requested = models.PositiveIntegerField(default=0, help_text="Devices selected.")
    already_queued = models.PositiveIntegerField(default=0, help_text="Devices skipped: the same action was already waiting.")
    cancelled_at = models.DateTimeField(null=True, blank=True)
    cancelled_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(condition=Q(kind__in=ActionKind.values), name="bulk_job_kind_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} on {self.requested} devices"

    def get_absolute_url(self) -> str:
        return reverse("devices:bulk-detail", args=[self.pk])


# Outside Action so that its Meta's index and constraints can name the values.
class ActionStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    SENDING = "sending", "Sending"
    RETRYING = "retrying", "Retrying"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    SUPERSEDED = "superseded", "Superseded"
    CANCELLED = "cancelled", "Cancelled"


PENDING_STATUSES = (ActionStatus.QUEUED, ActionStatus.RETRYING)


class Action(models.Model):
    """An upstream call waiting, under way or done: the outbox row is the truth.

    django-q2 only hosts the drainer (devices.outbox) that sends these rows
    within the budget; nothing about a queued action lives in memory.
    """

    Status = ActionStatus
    PENDING = PENDING_STATUSES
    # Not ended yet: waiting, or on its way to the cloud.
    OPEN = (*PENDING_STATUSES, ActionStatus.SENDING)
    TERMINAL = (Status.SUCCEEDED, Status.FAILED, Status.SUPERSEDED, Status.CANCELLED)

    # None only for a page of a cloud sync, which concerns no one device (a constraint below).
    # No index of its own: action_device_recent_idx starts with the device (indexes below).
    device = models.ForeignKey(Device, null=True, blank=True, on_delete=models.CASCADE, related_name="actions",
                               db_index=False)
    cloud_sync = models.ForeignKey(CloudSync, null=True, blank=True, on_delete=models.CASCADE, related_name="page_calls",
                                   db_index=False)
    kind = models.CharField(max_length=20, choices=ActionKind.choices)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.QUEUED)
    priority = models.PositiveSmallIntegerField(choices=Priority.choices, default=Priority.CLICK)
    bulk_job = models.ForeignKey(BulkJob, null=True, blank=True, on_delete=models.SET_NULL, related_name="actions")
    # One pending action per key: a device's exemption changes coalesce, and
    # a dhcprenew is never queued twice.
    coalesce_key = models.CharField(max_length=60)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    not_before = models.DateTimeField(help_text="Not sent before this time (retries wait here).")
    lease_until = models.DateTimeField(null=True, blank=True, help_text="A sending row whose lease passed belongs to a dead worker.")
    claimed_by = models.CharField(max_length=100, blank=True)
    attempts = models.PositiveIntegerField(default=0, help_text="HTTP attempts, of any outcome.")
    transient_failures = models.PositiveIntegerField(default=0, help_text="Attempts that count toward the retry cap.")
    # A database default too: rows written by a worker still on the older code (or by SQL) start at 0.
    unreadable_answers = models.PositiveIntegerField(
        default=0, db_default=0, help_text="2xx answers whose body did not fit: only a couple are retried (the same one is likely).")
    first_sent_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    http_status = models.PositiveSmallIntegerField(null=True, blank=True)
    upstream_msg = models.CharField(max_length=300, blank=True, help_text="The cloud's msg.")
    last_error = models.CharField(max_length=300, blank=True)
    # The rule (claim._take): an action is ambiguous only when it is sent again after an attempt
    # that may have acted. A retry after a refused connection or a 503 repeats nothing.
    may_have_acted = models.BooleanField(
        default=False, help_text="An attempt may have reached the cloud and acted without a clear answer.")
    ambiguous = models.BooleanField(
        default=False, help_text="Sent again after an attempt that may have acted: the cloud may have had it twice.")
    superseded_by = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
                                      db_index=False)
    identifier = models.CharField(max_length=64, blank=True, help_text="The device identifier the cloud was called with.")
    page = models.PositiveIntegerField(null=True, blank=True, help_text="A sync's page call: the page it asks for.")
    # 1: a HWID, 0: a MAC. Set when queued, from the device, so that ETAs can
    # group batches without a join; set again to what was sent.
    opt = models.PositiveSmallIntegerField(null=True, blank=True)
    # A batch's attempt names one action only: each action of the batch finds its request here.
    current_attempt = models.ForeignKey("UpstreamAttempt", null=True, blank=True, on_delete=models.SET_NULL,
                                        related_name="+", help_text="The request that carries it now, or did last.",
                                        db_index=False)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(
                fields=["priority", "not_before", "id"],
                condition=Q(status__in=[status.value for status in PENDING_STATUSES]),
                name="action_pending_order_idx",
            ),
            models.Index(fields=["status"], name="action_status_idx"),
            models.Index(fields=["device", "-created_at"], name="action_device_recent_idx"),
            # A device's timeline reads its actions' steps newest first (devices.timeline), only
            # the steps taken: a row just queued has none, so a bulk job's INSERT skips these.
            models.Index(fields=["device", "-first_sent_at"], condition=Q(first_sent_at__isnull=False),
                         name="action_device_sent_idx"),
            models.Index(fields=["device", "-finished_at"], condition=Q(finished_at__isnull=False),
                         name="action_device_finished_idx"),
            # Links empty on most rows, found only by value (deletes that cascade or set null).
            models.Index(fields=["cloud_sync"], condition=Q(cloud_sync__isnull=False), name="action_cloud_sync_idx"),
            models.Index(fields=["superseded_by"], condition=Q(superseded_by__isnull=False),
                         name="action_superseded_by_idx"),
            models.Index(fields=["current_attempt"], condition=Q(current_attempt__isnull=False),
                         name="action_current_attempt_idx"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["coalesce_key"],
                condition=Q(status__in=[status.value for status in PENDING_STATUSES]),
                name="one_pending_action_per_key",
            ),
            models.CheckConstraint(condition=Q(status__in=ActionStatus.values), name="action_status_valid"),
            models.CheckConstraint(condition=Q(kind__in=ActionKind.values), name="action_kind_valid"),
            models.CheckConstraint(condition=Q(priority__in=Priority.values), name="action_priority_valid"),
            models.CheckConstraint(
                condition=Q(kind=ActionKind.SYNC_PAGE.value, device__isnull=True, cloud_sync__isnull=False)
                | (~Q(kind=ActionKind.SYNC_PAGE.value) & Q(device__isnull=False, cloud_sync__isnull=True)),
                name="action_device_or_sync_page",
            ),
            models.CheckConstraint(
                condition=Q(kind=ActionKind.SYNC_PAGE.value, page__gte=1)
                | (~Q(kind=ActionKind.SYNC_PAGE.value) & Q(page__isnull=True)),
                name="action_page_only_for_sync_pages",
            ),
        ]

    def __str__(self) -> str:
        target = f"sync {self.cloud_sync_id}" if self.kind == ActionKind.SYNC_PAGE else self.device_id
        return f"{self.kind} on {target} ({self.status})"

    @property
    def is_terminal(self) -> bool:
        return self.status in self.TERMINAL

    @property
    def is_pending(self) -> bool:
        return self.status in self.PENDING

    def fail(self, now: datetime, error: str) -> None:
        """End as failed for good at `now`, saying why (cut to what the column holds); the caller saves."""
        self.status = self.Status.FAILED
        self.finished_at = now
        self.last_error = error[: self._meta.get_field("last_error").max_length]

    @staticmethod
    def coalesce_key_for(device_id: int, kind: str) -> str:
        family = "exemption" if kind in EXEMPT_MODE_OF else kind
        return f"{family}:{device_id}"


class UpstreamAttempt(models.Model):
    """One HTTP attempt against the cloud: the sliding-window log of the budget."""

    class Outcome(models.TextChoices):
        IN_FLIGHT = "in_flight", "In flight"
        OK = "ok", "Answered"
        REFUSED = "refused", "Refused by the cloud"
        AUTH = "auth", "Unauthorized"
        RATE_LIMITED = "rate_limited", "Rate limited (429)"
        TRANSIENT = "transient", "Transient failure"
        # A 2xx whose body does not fit: the cloud is reachable, so this is no outage and pauses nothing.
        UNREADABLE = "unreadable", "Answer not understood"
        LOST = "lost", "Worker lost"

    # For a batch, the first of its actions (each action names its attempt: Action.current_attempt).
    action = models.ForeignKey(Action, null=True, on_delete=models.SET_NULL, related_name="upstream_attempts")
    items = models.PositiveIntegerField(default=1, help_text="Devices the request carried: more than one for a batch.")
    started_at = models.DateTimeField(db_index=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(max_length=15, choices=Outcome.choices, default=Outcome.IN_FLIGHT)
    http_status = models.PositiveSmallIntegerField(null=True, blank=True)
    worker = models.CharField(max_length=100)
    error = models.CharField(max_length=300, blank=True)
    token_version = models.PositiveIntegerField(
        null=True, blank=True, help_text="The access token version the call was sent with: a 401 for an older one is retried.")
    # No action carries a connection check's call; it takes a click's slot, and is paced like one.
    connection_check = models.BooleanField(
        default=False, help_text="The call of a connection check (check_cloud, Test connection), made for someone waiting.")

    class Meta:
        ordering = ["-started_at"]
        constraints = [models.CheckConstraint(condition=Q(items__gte=1), name="attempt_items_at_least_one")]


class PauseKind(models.TextChoices):
    """Why sending to the cloud is paused (UpstreamState.pause_kind): each kind ends its own way."""

    NONE = "", "not paused"
    FAILURES = "failures", "failures in a row"  # an answered call lifts it
    AUTH = "auth", "credentials refused"  # a second 401 in a row
    CREDENTIALS = "credentials", "no access token"  # the token could not be had
    RATE_LIMITED = "rate_limited", "rate limited"  # a 429: only its reset time lifts it


class BulkMetering(models.TextChoices):
    """How the cloud counts a bulk request against the limit (UpstreamState.bulk_metering), learned from its answers."""

    UNKNOWN = "", "not learned yet"
    PER_REQUEST = "request", "one unit per request"
    PER_DEVICE = "device", "one unit per device"


class UpstreamState(models.Model):
    """The single row every drainer locks before it claims: it serialises the
    budget across workers and machines, and holds the circuit breaker."""

    PauseKind = PauseKind
    BulkMetering = BulkMetering

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    blocked_until = models.DateTimeField(null=True, blank=True)
    block_reason = models.CharField(max_length=300, blank=True)
    pause_kind = models.CharField(max_length=12, choices=PauseKind.choices, default=PauseKind.NONE, blank=True)
    consecutive_failures = models.PositiveIntegerField(default=0)
    consecutive_auth_failures = models.PositiveIntegerField(default=0)
    auth_failed_version = models.PositiveIntegerField(
        default=0, help_text="The token version the last counted 401 used: another 401 for it is no new failure.")
    failing_since = models.DateTimeField(
        null=True, blank=True, help_text="When the current run of failures in a row began (none: the cloud answers).")
    rate_limited_count = models.PositiveIntegerField(default=0, help_text="429s received: each one is an alarm.")
    last_alarm_at = models.DateTimeField(null=True, blank=True)
    last_alarm = models.CharField(max_length=300, blank=True)
    # The cloud's last word on the account's budget (X-RateLimit-*), written with each answer under this row's lock.
    cloud_limit = models.PositiveIntegerField(null=True, blank=True, help_text="X-RateLimit-Limit of the last answer.")
    cloud_remaining = models.PositiveIntegerField(
        null=True, blank=True, help_text="X-RateLimit-Remaining of the last answer.")
    cloud_reset_at = models.DateTimeField(
        null=True, blank=True, help_text="When the window frees, by X-RateLimit-Reset-Time of the last answer.")
    cloud_seen_at = models.DateTimeField(null=True, blank=True, help_text="When the last answer with the headers came.")
    cloud_attempt_started_at = models.DateTimeField(
        null=True, blank=True, help_text="Start of the call that answer was to: what was in flight or sent since is not in its count.")
    cloud_attempt_id = models.PositiveBigIntegerField(null=True, blank=True)
    cloud_ours_in_window = models.PositiveIntegerField(
        null=True, blank=True, help_text="Units of our own calls the cloud may have counted at that answer (generously).")
    bulk_metering = models.CharField(max_length=8, choices=BulkMetering.choices, default=BulkMetering.UNKNOWN, blank=True)
    metering_learned_at = models.DateTimeField(null=True, blank=True)
    metering_evidence = models.CharField(max_length=300, blank=True, help_text="The answer the metering was learned from.")

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(id=1), name="upstream_state_single_row"),
            models.CheckConstraint(condition=Q(pause_kind__in=PauseKind.values), name="upstream_state_pause_kind_valid"),
            models.CheckConstraint(condition=Q(bulk_metering__in=BulkMetering.values),
                                   name="upstream_state_bulk_metering_valid"),
        ]

    def pause_end(self, now: datetime) -> datetime | None:
        """The end of the pause in force at `now`, or None when sending goes on."""
        return self.blocked_until if self.blocked_until is not None and self.blocked_until > now else None

    @property
    def cloud_expected_remaining(self) -> int | None:
        """What our own calls leave of the cloud's limit (its header, else ours) at its last answer."""
        if self.cloud_ours_in_window is None:
            return None
        return max((self.cloud_limit or settings.GEARS_RATE_LIMIT.requests) - self.cloud_ours_in_window, 0)

    @property
    def another_client_suspected(self) -> bool:
        """The cloud's last word left fewer requests than our own calls explain: someone else spends the account's budget."""
        expected = self.cloud_expected_remaining
        return self.cloud_remaining is not None and expected is not None and self.cloud_remaining < expected

    @property
    def cloud_word_tightens(self) -> bool:
        """The cloud's last word left fewer requests than our own log allows under GEARS_RATE_LIMIT (another
        client, or a lower limit): until its reset it caps what is sent."""
        if self.cloud_remaining is None or self.cloud_ours_in_window is None:
            return False
        return self.cloud_remaining < settings.GEARS_RATE_LIMIT.requests - self.cloud_ours_in_window

    @property
    def cloud_limit_differs(self) -> bool:
        """The cloud announces another limit than GEARS_RATE_LIMIT's."""
        return self.cloud_limit is not None and self.cloud_limit != settings.GEARS_RATE_LIMIT.requests

    @property
    def paused(self) -> bool:
        """Sending is paused now (on this server's clock: good enough to say so on a page)."""
        return self.pause_end(timezone.now()) is not None

    def lift_pause(self) -> None:
        """Sending may go on: no pause, no reason (the caller saves)."""
        self.blocked_until = None
        self.pause_kind = PauseKind.NONE
        self.block_reason = ""


class UpstreamToken(models.Model):
    """The access token shared by every worker. Only this row holds it."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    access_token = models.TextField(blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    version = models.PositiveIntegerField(default=0, help_text="Bumped at each refresh: a 401 names the version it used.")
    fetched_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.CheckConstraint(condition=Q(id=1), name="upstream_token_single_row")]

    def __repr__(self) -> str:
        return f"<UpstreamToken version={self.version} expires_at={self.expires_at}>"

    __str__ = __repr__


class DrainerSlot(models.Model):
    """A few drainers may run at once; a slot whose lease passed is free again."""

    slot = models.PositiveSmallIntegerField(primary_key=True)
    holder = models.CharField(max_length=100, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
