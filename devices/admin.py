"""The Django admin for every model of the app; the cloud's values and the token are read-only."""

from django.contrib import admin
from django.core.exceptions import ValidationError
from django.db.models import QuerySet

from devices.inventory import delete_device, delete_devices, record_change, stored_records
from devices.models import (
    Action,
    ApiToken,
    AuditEntry,
    BulkJob,
    CloudSync,
    Device,
    DeviceImport,
    DrainerSlot,
    IdempotentRequest,
    MacAddress,
    Notice,
    UpstreamAttempt,
    UpstreamState,
    UpstreamToken,
)
from devices.validators import mac_search_digits, normalize_mac


def mac_needle(term: str) -> str | None:
    """A MAC typed in any notation, whole or in part, as it reads in the stored colon form.

    "00-0C-29-F2-7A-29" gives "00:0c:29:f2:7a:29", "0C-29-F2" gives "0c:29:f2";
    None when `term` is not (part of) a MAC.
    """
    try:
        return normalize_mac(term)
    except ValidationError:
        pass
    digits = mac_search_digits(term)
    if digits is None or len(digits) % 2:
        return None
    return ":".join(digits[i : i + 2] for i in range(0, len(digits), 2))


class MacSearchAdmin(admin.ModelAdmin):
    """An admin whose search also finds a MAC typed in any notation (the stored form has colons)."""

    mac_search_field: str

    def get_search_results(self, request, queryset: QuerySet, search_term: str) -> tuple[QuerySet, bool]:
        found, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        needle = mac_needle(search_term.strip())
        if needle is None:
            return found, may_have_duplicates
        return found | queryset.filter(**{f"{self.mac_search_field}__icontains": needle}), True


class MacAddressInline(admin.TabularInline):
    model = MacAddress
    extra = 0


@admin.register(Device)
class DeviceAdmin(MacSearchAdmin):
    list_display = ("name", "hwid", "owner_name", "owner_email", "updated_at")
    search_fields = ("name", "hwid", "macs__address", "owner_name", "owner_email")
    mac_search_field = "macs__address"
    # What the cloud confirmed or sent is shown, never edited here: only the outbox writes it.
    readonly_fields = (
        "created_at",
        "updated_at",
        "exempt_mode",
        "exempt_confirmed_at",
        "remediation_state",
        "remediation_link",
        "remediation_fetched_at",
        "remediation_error",
        "compliance",
        "last_seen_at",
        "cloud_synced_at",
        "cloud_missing_since",
    )
    inlines = [MacAddressInline]

    # Changes made here reach the device's timeline like the form's: old values
    # are read before the save, new ones after the MAC inlines are written.
    def save_model(self, request, obj: Device, form, change: bool) -> None:
        form.stored_before = stored_records([obj.pk]).get(obj.pk) if change else None
        super().save_model(request, obj, form, change)

    def save_related(self, request, form, formsets, change: bool) -> None:
        super().save_related(request, form, formsets, change)
        record_change(form.instance, form.stored_before, user=request.user)

    def delete_model(self, request, obj: Device) -> None:
        delete_device(obj, user=request.user)

    def delete_queryset(self, request, queryset: QuerySet[Device]) -> None:
        delete_devices(list(queryset.values_list("pk", flat=True)), user=request.user, detail="Deleted in the admin")


@admin.register(MacAddress)
class MacAddressAdmin(MacSearchAdmin):
    list_display = ("address", "device", "is_primary")
    search_fields = ("address", "device__name")
    mac_search_field = "address"
    list_select_related = ("device",)
    raw_id_fields = ("device",)


@admin.register(DeviceImport)
class DeviceImportAdmin(admin.ModelAdmin):
    list_display = ("filename", "status", "uploaded_by", "created_at", "created_count", "updated_count", "skipped_count")
    list_filter = ("status",)
    readonly_fields = [f.name for f in DeviceImport._meta.fields]


@admin.register(Action)
class ActionAdmin(admin.ModelAdmin):
    list_display = ("id", "kind", "device", "status", "priority", "attempts", "http_status", "created_at", "finished_at")
    list_filter = ("status", "kind", "priority", "ambiguous")
    search_fields = ("device__name", "identifier", "upstream_msg", "last_error")
    list_select_related = ("device",)
    raw_id_fields = ("device", "bulk_job", "superseded_by", "requested_by")


@admin.register(BulkJob)
class BulkJobAdmin(admin.ModelAdmin):
    list_display = ("id", "kind", "requested", "already_queued", "created_by", "created_at", "cancelled_at")
    list_filter = ("kind",)


@admin.register(CloudSync)
class CloudSyncAdmin(admin.ModelAdmin):
    """A record of each sync; only the sync itself writes it."""

    list_display = ("id", "status", "trigger", "started_at", "finished_at", "next_page", "pages_total", "added",
                    "updated", "marked_missing")
    list_filter = ("status", "trigger")
    readonly_fields = [f.name for f in CloudSync._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(UpstreamAttempt)
class UpstreamAttemptAdmin(admin.ModelAdmin):
    list_display = ("id", "started_at", "finished_at", "outcome", "http_status", "worker", "action")
    list_filter = ("outcome",)
    raw_id_fields = ("action",)


@admin.register(UpstreamState)
class UpstreamStateAdmin(admin.ModelAdmin):
    list_display = ("id", "blocked_until", "block_reason", "consecutive_failures", "rate_limited_count", "last_alarm_at")


@admin.register(UpstreamToken)
class UpstreamTokenAdmin(admin.ModelAdmin):
    """Shows when the token was fetched and its version, never the token."""

    fields = ("version", "expires_at", "fetched_at")
    readonly_fields = fields
    list_display = ("id", "version", "expires_at", "fetched_at")

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """API tokens as the Tokens page shows them: never the hash; created and revoked on that page (audited)."""

    fields = ("owner", "name", "key", "scopes", "allowed_networks", "created_at", "expires_at", "last_used_at",
              "last_used_from", "revoked_at", "revoked_by")
    readonly_fields = fields
    list_display = ("name", "owner", "key", "expires_at", "last_used_at", "revoked_at")

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(IdempotentRequest)
class IdempotentRequestAdmin(admin.ModelAdmin):
    """The API's remembered Idempotency-Keys (24 hours), read-only."""

    list_display = ("key", "token", "created_at", "status_code")

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(DrainerSlot)
class DrainerSlotAdmin(admin.ModelAdmin):
    list_display = ("slot", "holder", "expires_at")


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    list_display = ("at", "username", "verb", "kind", "device_name", "detail")
    list_filter = ("verb", "kind")
    search_fields = ("username", "device_name", "detail")
    readonly_fields = [f.name for f in AuditEntry._meta.fields]


@admin.register(Notice)
class NoticeAdmin(admin.ModelAdmin):
    """What the toasts said; only devices.notices writes them."""

    list_display = ("id", "created_at", "kind", "tone", "text")
    list_filter = ("kind",)
    readonly_fields = [f.name for f in Notice._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False
