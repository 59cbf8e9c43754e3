"""The device inventory: devices, their MAC addresses, and CSV imports."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection, models
from django.db.models import Q
from django.db.models.expressions import RawSQL
from django.urls import reverse

from devices.validators import (
    HWID_MAX_LENGTH,
    HWID_RE,
    MAC_CANONICAL_RE,
    mac_search_digits,
    normalize_hwid,
    normalize_mac,
)


def mac_fragments(digits: str) -> list[str]:
    """How hex digits ("0c29f") can appear inside a colon-form MAC.

    A run of digits starts on a byte boundary or one digit into a byte, so it
    shows up in `00:0c:29:f2:7a:29` in one of two shapes ("0c:29:f", "0:c2:9f").
    Matching either keeps MAC search on the plain, indexed address column.
    """
    shapes = []
    for offset in (0, 1):
        head, rest = digits[:offset], digits[offset:]
        pairs = [rest[i : i + 2] for i in range(0, len(rest), 2)]
        shapes.append(":".join(([head] if head else []) + pairs))
    return list(dict.fromkeys(shape for shape in shapes if shape))


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


class DeviceQuerySet(models.QuerySet):
    def search(self, text: str) -> DeviceQuerySet:
        """Devices whose name or HWID contains `text` (any case), or with a MAC
        containing it typed in any notation ("00-0C-29", "0c29f2").

        The match is a UNION of one indexed lookup per column, so each branch
        uses its own trigram index instead of the planner scanning a table to
        evaluate an OR.
        """
        text = text.strip()
        if not text:
            return self
        try:
            full_mac = normalize_mac(text)
        except ValidationError:
            full_mac = None
        digits = None if full_mac else mac_search_digits(text)
        if connection.vendor == "sqlite":
            selects, params = self._sqlite_branches(text, digits)
        else:
            selects, params = self._sql_branches(text, digits)
        if full_mac:
            selects.append("SELECT device_id FROM devices_macaddress WHERE address = %s")
            params.append(full_mac)
        return self.filter(pk__in=RawSQL(" UNION ".join(selects), params))

    @staticmethod
    def _sqlite_branches(text: str, digits: str | None) -> tuple[list[str], list[str]]:
        # The FTS5 trigram index serves LIKE only without an ESCAPE clause, so
        # "%" and "_" typed by the user act as wildcards there; instr() then
        # keeps exact substrings only. lower() on both sides folds ASCII, as
        # Django's icontains does on SQLite.
        needles = [text] + ([digits] if digits and digits != text.lower() else [])
        branch = "SELECT rowid FROM devices_search WHERE terms LIKE %s AND instr(lower(terms), lower(%s)) > 0"
        params: list[str] = []
        for needle in needles:
            params += [f"%{needle}%", needle]
        return [branch] * len(needles), params

    @staticmethod
    def _sql_branches(text: str, digits: str | None) -> tuple[list[str], list[str]]:
        # Written as Django's icontains/contains compile, so that the pg_trgm
        # expression indexes of migration 0002 apply.
        pattern = f"%{_like_escape(text)}%"
        selects = [
            'SELECT id FROM devices_device WHERE UPPER("name"::text) LIKE UPPER(%s)',
            'SELECT id FROM devices_device WHERE UPPER("hwid"::text) LIKE UPPER(%s)',
        ]
        params = [pattern, pattern]
        for fragment in mac_fragments(digits) if digits else []:
            selects.append('SELECT device_id FROM devices_macaddress WHERE "address"::text LIKE %s')
            params.append(f"%{fragment}%")
        return selects, params


class ExemptMode(models.TextChoices):
    NONE = "none", "Not exempt"
    CRITICAL = "critical", "Critical issues exempt"
    ALL = "all", "All issues exempt"


class RemediationState(models.TextChoices):
    UNKNOWN = "unknown", "Not fetched yet"
    LINK = "link", "Has issues: remediation link"
    NO_ISSUES = "no_issues", "No issues"
    NOT_FOUND = "not_found", "Not known to the cloud"
    ERROR = "error", "Fetch failed"


class Device(models.Model):
    """An endpoint known to the cloud by its HWID, its MAC addresses, or both."""

    name = models.CharField("name", max_length=253, help_text="The device's hostname.")
    hwid = models.CharField(
        "HWID",
        max_length=HWID_MAX_LENGTH,
        null=True,  # NULL, not "", so that devices without a HWID stay unique
        blank=True,
        unique=True,
        help_text="Hardware ID as the cloud shows it: letters, digits, '-' and '_'.",
    )
    owner_name = models.CharField("owner", max_length=200, blank=True)
    owner_email = models.EmailField("owner email", blank=True)
    notes = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # The exemption mode the cloud last confirmed (None: never confirmed here).
    exempt_mode = models.CharField(max_length=10, choices=ExemptMode.choices, null=True, blank=True)
    exempt_confirmed_at = models.DateTimeField(null=True, blank=True)
    # The remediation page the cloud gave for this device, as last fetched.
    remediation_state = models.CharField(
        max_length=10, choices=RemediationState.choices, default=RemediationState.UNKNOWN
    )
    remediation_link = models.CharField(max_length=2000, blank=True)
    remediation_fetched_at = models.DateTimeField(null=True, blank=True)
    remediation_error = models.CharField(max_length=300, blank=True)

    objects = DeviceQuerySet.as_manager()

    class Meta:
        ordering = ["name", "id"]
        permissions = [
            ("import_devices", "Can import devices from CSV"),
            ("trigger_actions", "Can trigger device actions"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(hwid__isnull=True) | Q(hwid__regex=HWID_RE),
                name="device_hwid_format",
            ),
            models.CheckConstraint(condition=~Q(name=""), name="device_name_not_empty"),
            models.CheckConstraint(
                condition=Q(exempt_mode__isnull=True) | Q(exempt_mode__in=["none", "critical", "all"]),
                name="device_exempt_mode_valid",
            ),
            models.CheckConstraint(
                condition=Q(remediation_state__in=["unknown", "link", "no_issues", "not_found", "error"]),
                name="device_remediation_state_valid",
            ),
            models.CheckConstraint(
                condition=Q(remediation_state="link", remediation_link__gt="") | ~Q(remediation_state="link"),
                name="device_remediation_link_present",
            ),
        ]
        indexes = [
            # The list's default order, so page 1 needs no sort of every row.
            models.Index(fields=["name", "id"], name="device_name_idx"),
            models.Index(fields=["updated_at"], name="device_updated_idx"),
            models.Index(fields=["owner_name"], name="device_owner_idx"),
            models.Index(fields=["remediation_state"], name="device_remediation_idx"),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        # The admin edits rows directly: normalise as the forms do.
        self.name = (self.name or "").strip()
        try:
            self.hwid = normalize_hwid(self.hwid)
        except ValidationError as exc:
            raise ValidationError({"hwid": exc.messages}) from None

    def get_absolute_url(self) -> str:
        return reverse("devices:device-detail", args=[self.pk])

    @property
    def ordered_macs(self) -> list[MacAddress]:
        """MACs with the primary first; uses prefetched rows when there are some."""
        return sorted(self.macs.all(), key=lambda mac: (not mac.is_primary, mac.id))

    @property
    def primary_mac(self) -> str | None:
        macs = self.ordered_macs
        return macs[0].address if macs else None

    @property
    def upstream_identifier(self) -> tuple[str, int] | None:
        """What the cloud is called with: the HWID (opt=1) when there is one, else the primary MAC (opt=0)."""
        if self.hwid:
            return self.hwid, 1
        mac = self.primary_mac
        return (mac, 0) if mac else None


class MacAddress(models.Model):
    """One MAC address of a device, stored as the cloud writes it."""

    device = models.ForeignKey(Device, on_delete=models.CASCADE, related_name="macs")
    address = models.CharField("MAC address", max_length=17, unique=True)
    is_primary = models.BooleanField("primary", default=False)

    class Meta:
        ordering = ["-is_primary", "id"]
        verbose_name = "MAC address"
        verbose_name_plural = "MAC addresses"
        constraints = [
            models.CheckConstraint(
                condition=Q(address__regex=MAC_CANONICAL_RE), name="mac_address_canonical"
            ),
            models.UniqueConstraint(
                fields=["device"],
                condition=Q(is_primary=True),
                name="one_primary_mac_per_device",
            ),
        ]

    def __str__(self) -> str:
        return self.address

    def clean(self) -> None:
        try:
            self.address = normalize_mac(self.address or "")
        except ValidationError as exc:
            raise ValidationError({"address": exc.messages}) from None


class DeviceImport(models.Model):
    """An uploaded CSV file, kept from preview until the user confirms it.

    The row stays afterwards as a record of who imported what.
    """

    class Status(models.TextChoices):
        PREVIEW = "preview", "Awaiting confirmation"
        APPLIED = "applied", "Applied"
        DISCARDED = "discarded", "Discarded"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    filename = models.CharField(max_length=255)
    content = models.TextField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PREVIEW)
    created_at = models.DateTimeField(auto_now_add=True)
    applied_at = models.DateTimeField(null=True, blank=True)
    created_count = models.PositiveIntegerField(default=0)
    updated_count = models.PositiveIntegerField(default=0)
    skipped_count = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status="applied", applied_at__isnull=False) | ~Q(status="applied"),
                name="device_import_applied_has_time",
            )
        ]

    def __str__(self) -> str:
        return f"{self.filename} ({self.get_status_display()})"


# ============================================================== the outbox


class ActionKind(models.TextChoices):
    DHCPRENEW = "dhcprenew", "Renew DHCP"
    EXEMPT_CRITICAL = "exempt_critical", "Exempt critical issues"
    EXEMPT_ALL = "exempt_all", "Exempt all issues"
    UNEXEMPT = "unexempt", "Remove exemption"
    REMEDIATION = "remediation", "Fetch remediation link"


# The four Device Action v2.0 types; a remediation fetch is a GET of its own.
DEVICE_ACTIONS = [(k.value, k.label) for k in ActionKind if k != ActionKind.REMEDIATION]


# What each exemption action asks the cloud for: a desired state, not a
# toggle, so that sending it twice (an ambiguous resend) is harmless.
EXEMPT_MODE_OF = {
    ActionKind.EXEMPT_CRITICAL: ExemptMode.CRITICAL,
    ActionKind.EXEMPT_ALL: ExemptMode.ALL,
    ActionKind.UNEXEMPT: ExemptMode.NONE,
}


class Priority(models.IntegerChoices):
    CLICK = 0, "Interactive"
    BULK = 9, "Bulk"


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


class Action(models.Model):
    """An upstream call waiting, under way or done: the outbox row is the truth.

    django-q2 only hosts the drainer (devices.outbox) that sends these rows
    within the budget; nothing about a queued action lives in memory.
    """

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        SENDING = "sending", "Sending"
        RETRYING = "retrying", "Retrying"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"
        SUPERSEDED = "superseded", "Superseded"
        CANCELLED = "cancelled", "Cancelled"

    PENDING = (Status.QUEUED, Status.RETRYING)
    TERMINAL = (Status.SUCCEEDED, Status.FAILED, Status.SUPERSEDED, Status.CANCELLED)

    device = models.ForeignKey(Device, on_delete=models.CASCADE, related_name="actions")
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
    first_sent_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    http_status = models.PositiveSmallIntegerField(null=True, blank=True)
    upstream_msg = models.CharField(max_length=300, blank=True, help_text="The cloud's msg.")
    last_error = models.CharField(max_length=300, blank=True)
    ambiguous = models.BooleanField(default=False, help_text="An attempt may have reached the cloud without an answer.")
    superseded_by = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    identifier = models.CharField(max_length=64, blank=True, help_text="What the cloud was called with.")
    opt = models.PositiveSmallIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(
                fields=["priority", "not_before", "id"],
                condition=Q(status__in=["queued", "retrying"]),
                name="action_pending_order_idx",
            ),
            models.Index(fields=["status"], name="action_status_idx"),
            models.Index(fields=["device", "-created_at"], name="action_device_recent_idx"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["coalesce_key"],
                condition=Q(status__in=["queued", "retrying"]),
                name="one_pending_action_per_key",
            ),
            models.CheckConstraint(condition=Q(status__in=["queued", "sending", "retrying", "succeeded", "failed", "superseded", "cancelled"]), name="action_status_valid"),
            models.CheckConstraint(condition=Q(kind__in=ActionKind.values), name="action_kind_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} on {self.device_id} ({self.status})"

    @property
    def is_terminal(self) -> bool:
        return self.status in self.TERMINAL

    @property
    def is_pending(self) -> bool:
        return self.status in self.PENDING

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
        LOST = "lost", "Worker lost"

    action = models.ForeignKey(Action, null=True, on_delete=models.SET_NULL, related_name="upstream_attempts")
    started_at = models.DateTimeField(db_index=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(max_length=15, choices=Outcome.choices, default=Outcome.IN_FLIGHT)
    http_status = models.PositiveSmallIntegerField(null=True, blank=True)
    worker = models.CharField(max_length=100)
    error = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-started_at"]


class PauseKind(models.TextChoices):
    """Why sending to the cloud is paused (UpstreamState.pause_kind): each kind ends its own way."""

    NONE = "", "not paused"
    FAILURES = "failures", "failures in a row"  # an answered call lifts it
    AUTH = "auth", "credentials refused"  # a second 401 in a row
    CREDENTIALS = "credentials", "no access token"  # the token could not be had
    RATE_LIMITED = "rate_limited", "rate limited"  # a 429: only its reset time lifts it


class UpstreamState(models.Model):
    """The single row every drainer locks before it claims: it serialises the
    budget across workers and machines, and holds the circuit breaker."""

    PauseKind = PauseKind

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    blocked_until = models.DateTimeField(null=True, blank=True)
    block_reason = models.CharField(max_length=300, blank=True)
    pause_kind = models.CharField(max_length=12, choices=PauseKind.choices, default=PauseKind.NONE, blank=True)
    consecutive_failures = models.PositiveIntegerField(default=0)
    consecutive_auth_failures = models.PositiveIntegerField(default=0)
    rate_limited_count = models.PositiveIntegerField(default=0, help_text="429s received: each one is an alarm.")
    last_alarm_at = models.DateTimeField(null=True, blank=True)
    last_alarm = models.CharField(max_length=300, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(id=1), name="upstream_state_single_row"),
            models.CheckConstraint(condition=Q(pause_kind__in=PauseKind.values), name="upstream_state_pause_kind_valid"),
        ]


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


class AuditEntry(models.Model):
    """Who queued, cancelled or retried what, and when."""

    class Verb(models.TextChoices):
        QUEUED = "queued", "Queued"
        BULK_QUEUED = "bulk_queued", "Queued in bulk"
        EMAILED = "emailed", "Emailed a remediation link"
        CANCELLED = "cancelled", "Cancelled"
        BULK_CANCELLED = "bulk_cancelled", "Cancelled a bulk job"
        RETRIED = "retried", "Retried"

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

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name_plural = "audit entries"

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.username} {self.verb} {self.kind} {self.device_name}"
