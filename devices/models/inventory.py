"""The device inventory: devices, their MAC addresses, and CSV imports."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import ClassVar

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.urls import reverse

from devices.fields import HwidField, MacAddressField
from devices.models.search import DeviceQuerySet
from devices.validators import HWID_RE, MAC_CANONICAL_RE, ONE_LINE_RE, validate_one_line


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


class Compliance(models.TextChoices):
    """The cloud's compliance status (Get Devices v2.2 `status`, docs/upstream/api-notes.md §2.4)."""

    UNKNOWN = "unknown", "Not synced yet"
    COMPLIANT = "compliant", "Compliant"
    NON_COMPLIANT = "non_compliant", "Non-compliant"
    REPORTING = "reporting", "Still reporting"

    @classmethod
    def from_cloud(cls, status: object) -> Compliance | None:
        """The status code the cloud sends (0, 1, 3); None for a code it never documented."""
        return {0: cls.COMPLIANT, 1: cls.NON_COMPLIANT, 3: cls.REPORTING}.get(status) if type(status) is int else None


@dataclass(frozen=True)
class UpstreamId:
    """What the cloud is called with for one device: a HWID (opt 1) or a MAC address (opt 0).

    The opt values are Device Action v2.0's and Remediation v2.2's (docs/upstream/api-notes.md §2.6).
    """

    value: str
    opt: int

    OPT_MAC: ClassVar[int] = 0
    OPT_HWID: ClassVar[int] = 1

    @property
    def is_hwid(self) -> bool:
        return self.opt == self.OPT_HWID

    @property
    def label(self) -> str:
        return "HWID" if self.is_hwid else "MAC address"

    def __str__(self) -> str:
        return f"{self.label} {self.value}"


class Standing(models.TextChoices):
    """Compliance as the console shows it: the cloud's status read beside the exemption and the remediation answer.

    An exempt device answers the v2 APIs as if it were compliant, while its
    issues are still reported elsewhere (docs/upstream/api-notes.md §8): a
    "compliant" status from an exempt device says nothing about its issues.
    """

    UNKNOWN = "unknown", "Not synced yet"
    COMPLIANT = "compliant", "Compliant"
    EXEMPT = "exempt", "Exempt (issues not counted)"
    # Compliant by the status, yet the remediation answer lists issues, and
    # no exemption is known here: one made outside the console, or the two
    # answers were read at different times.
    ISSUES_REPORTED = "issues_reported", "Compliant, but issues reported"
    NON_COMPLIANT = "non_compliant", "Non-compliant"
    REPORTING = "reporting", "Still reporting"


STANDING_NOTES = {
    Standing.UNKNOWN: "No cloud sync has listed this device yet.",
    Standing.COMPLIANT: "The cloud reports the device compliant.",
    Standing.EXEMPT: "The cloud reports an exempt device as compliant whatever its issues, so this does not say "
                     "whether it has any.",
    Standing.ISSUES_REPORTED: "The cloud lists it as compliant, yet its remediation link reports issues: the cloud "
                              "does this for an exempt device (an exemption made outside this console), or the two "
                              "were read at different times.",
    Standing.NON_COMPLIANT: "The cloud reports issues the policy counts.",
    Standing.REPORTING: "The device is still sending its first report to the cloud.",
}
EXEMPTING_MODES = (ExemptMode.CRITICAL, ExemptMode.ALL)


class Device(models.Model):
    """An endpoint known to the cloud by its HWID, its MAC addresses, or both."""

    name = models.CharField("name", max_length=253, help_text="The device's hostname.", validators=[validate_one_line])
    hwid = HwidField(
        "HWID",
        null=True,  # NULL, not "", so that devices without a HWID stay unique
        blank=True,
        unique=True,
        help_text="Hardware ID as the cloud shows it: letters, digits, '-' and '_'.",
    )
    owner_name = models.CharField("owner", max_length=200, blank=True, validators=[validate_one_line])
    owner_email = models.EmailField("owner email", blank=True)
    # The form and the CSV import refuse longer notes; the database does not.
    notes = models.TextField(blank=True, max_length=10_000)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # The exemption mode the cloud last confirmed (None: never confirmed here).
    exempt_mode = models.CharField(max_length=10, choices=ExemptMode.choices, null=True, blank=True)  # noqa: DJ001
    exempt_confirmed_at = models.DateTimeField(null=True, blank=True)
    # The remediation page the cloud gave for this device, as last fetched.
    remediation_state = models.CharField(
        max_length=10, choices=RemediationState.choices, default=RemediationState.UNKNOWN
    )
    remediation_link = models.CharField(max_length=2000, blank=True)
    remediation_fetched_at = models.DateTimeField(null=True, blank=True)
    remediation_error = models.CharField(max_length=300, blank=True)
    # What the last cloud sync saw (Get Devices v2.2); only a sync writes these.
    compliance = models.CharField(max_length=15, choices=Compliance.choices, default=Compliance.UNKNOWN)
    last_seen_at = models.DateTimeField("last seen", null=True, blank=True, help_text="When the cloud last heard from the device.")
    cloud_synced_at = models.DateTimeField(null=True, blank=True, help_text="When a cloud sync last listed this device.")
    cloud_missing_since = models.DateTimeField(
        null=True, blank=True, help_text="Set when a complete sync did not list the device: not in the cloud.")

    objects = DeviceQuerySet.as_manager()

    class Meta:
        ordering = ["name", "id"]
        permissions = [
            ("import_devices", "Can import devices from CSV"),
            ("trigger_actions", "Can trigger device actions"),
            ("check_cloud", "Can test the connection to the cloud"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(hwid__isnull=True) | Q(hwid__regex=HWID_RE),
                name="device_hwid_format",
            ),
            models.CheckConstraint(condition=~Q(name=""), name="device_name_not_empty"),
            models.CheckConstraint(condition=Q(name__regex=ONE_LINE_RE), name="device_name_one_line"),
            models.CheckConstraint(condition=Q(owner_name__regex=ONE_LINE_RE), name="device_owner_name_one_line"),
            models.CheckConstraint(
                condition=Q(exempt_mode__isnull=True) | Q(exempt_mode__in=ExemptMode.values),
                name="device_exempt_mode_valid",
            ),
            models.CheckConstraint(
                condition=Q(remediation_state__in=RemediationState.values),
                name="device_remediation_state_valid",
            ),
            models.CheckConstraint(
                condition=Q(remediation_state=RemediationState.LINK.value, remediation_link__gt="")
                | ~Q(remediation_state=RemediationState.LINK.value),
                name="device_remediation_link_present",
            ),
            models.CheckConstraint(condition=Q(compliance__in=Compliance.values), name="device_compliance_valid"),
        ]
        indexes = [
            # The list's default order, so page 1 needs no sort of every row.
            models.Index(fields=["name", "id"], name="device_name_idx"),
            # The list's name sort ignores case (devices.filters.SortFilter).
            models.Index(Lower("name"), "id", name="device_name_lower_idx"),
            models.Index(fields=["updated_at"], name="device_updated_idx"),
            models.Index(fields=["owner_name"], name="device_owner_idx"),
            models.Index(fields=["remediation_state"], name="device_remediation_idx"),
            models.Index(fields=["compliance"], name="device_compliance_idx"),
            models.Index(fields=["exempt_mode"], name="device_exempt_idx"),
            models.Index(fields=["last_seen_at"], name="device_last_seen_idx"),
            models.Index(fields=["cloud_missing_since"], name="device_cloud_missing_idx"),
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("devices:device-detail", args=[self.pk])

    @staticmethod
    def standing_of(compliance: str, exempt_mode: str | None, remediation_state: str) -> Standing:
        """The standing of one device from its three columns (`standing_q` in Python), for rows read as plain values."""
        if compliance != Compliance.COMPLIANT:
            return Standing(compliance) if compliance in Standing.values else Standing.UNKNOWN
        if exempt_mode in EXEMPTING_MODES:
            return Standing.EXEMPT
        return Standing.ISSUES_REPORTED if remediation_state == RemediationState.LINK else Standing.COMPLIANT

    @staticmethod
    def standing_q(standing: Standing | str) -> Q:
        """The devices of one standing, as a database condition (each is an indexed column test)."""
        standing = Standing(standing)
        if standing not in (Standing.COMPLIANT, Standing.EXEMPT, Standing.ISSUES_REPORTED):
            return Q(compliance=standing.value)
        exempting = Q(exempt_mode__in=[mode.value for mode in EXEMPTING_MODES])
        if standing == Standing.EXEMPT:
            return Q(compliance=Compliance.COMPLIANT.value) & exempting
        not_exempting = Q(exempt_mode__isnull=True) | Q(exempt_mode=ExemptMode.NONE.value)
        issues = Q(remediation_state=RemediationState.LINK.value)
        reported = issues if standing == Standing.ISSUES_REPORTED else ~issues
        return Q(compliance=Compliance.COMPLIANT.value) & not_exempting & reported

    @property
    def standing(self) -> Standing:
        """Compliance as the console shows it (`Standing`): what the list, the overview and this page say."""
        return self.standing_of(self.compliance, self.exempt_mode, self.remediation_state)

    @property
    def standing_note(self) -> str:
        """Why the standing reads as it does, for a tooltip or a note beside it."""
        return STANDING_NOTES[self.standing]

    @property
    def in_cloud(self) -> bool | None:
        """True: the last sync listed it; False: a complete sync did not; None: never synced."""
        return self.presence(self.cloud_synced_at, self.cloud_missing_since)

    @staticmethod
    def presence(synced_at, missing_since) -> bool | None:
        """`in_cloud` from the two columns, for rows read as plain values (the export)."""
        if missing_since is not None:
            return False
        return True if synced_at is not None else None

    @property
    def ordered_macs(self) -> list[MacAddress]:
        """MACs with the primary first; uses prefetched rows when there are some."""
        return sorted(self.macs.all(), key=lambda mac: (not mac.is_primary, mac.id))

    @property
    def primary_mac(self) -> str | None:
        macs = self.ordered_macs
        return macs[0].address if macs else None

    @property
    def upstream_identifier(self) -> UpstreamId | None:
        """What the cloud is called with: the HWID (opt=1) when there is one, else the primary MAC (opt=0)."""
        if self.hwid:
            return UpstreamId(self.hwid, UpstreamId.OPT_HWID)
        mac = self.primary_mac
        return UpstreamId(mac, UpstreamId.OPT_MAC) if mac else None


class MacAddress(models.Model):
    """One MAC address of a device, stored as the cloud writes it."""

    device = models.ForeignKey(Device, on_delete=models.CASCADE, related_name="macs")
    address = MacAddressField("MAC address", unique=True)
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


# Outside DeviceImport so that its Meta's constraints can name the values.
class ImportStatus(models.TextChoices):
    PREVIEW = "preview", "Awaiting confirmation"
    APPLIED = "applied", "Applied"
    DISCARDED = "discarded", "Discarded"


class DeviceImport(models.Model):
    """An uploaded CSV file, kept from preview until the user confirms it.

    The row stays afterwards as a record of who imported what.
    """

    Status = ImportStatus

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
                condition=Q(status=ImportStatus.APPLIED.value, applied_at__isnull=False)
                | ~Q(status=ImportStatus.APPLIED.value),
                name="device_import_applied_has_time",
            )
        ]

    def __str__(self) -> str:
        return f"{self.filename} ({self.get_status_display()})"

    def discard(self) -> None:
        """Nothing of the file is imported; its content is dropped, the record of the upload stays."""
        self.status = self.Status.DISCARDED
        self.content = ""
        self.save(update_fields=["status", "content"])

    def mark_applied(self, result, now) -> None:
        """The file was imported at `now`, with `result`'s counts (an ImportResult)."""
        self.status = self.Status.APPLIED
        self.applied_at = now
        self.created_count = result.created
        self.updated_count = result.updated
        self.skipped_count = result.skipped
        self.save(update_fields=["status", "applied_at", "created_count", "updated_count", "skipped_count"])
