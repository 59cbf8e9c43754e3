from django.contrib import admin

from devices.models import Device, DeviceImport, MacAddress


class MacAddressInline(admin.TabularInline):
    model = MacAddress
    extra = 0


@admin.register(Device)
class DeviceAdmin(admin.ModelAdmin):
    list_display = ("name", "hwid", "owner_name", "owner_email", "updated_at")
    search_fields = ("name", "hwid", "macs__address", "owner_name", "owner_email")
    readonly_fields = ("created_at", "updated_at")
    inlines = [MacAddressInline]


@admin.register(MacAddress)
class MacAddressAdmin(admin.ModelAdmin):
    list_display = ("address", "device", "is_primary")
    search_fields = ("address", "device__name")
    list_select_related = ("device",)
    raw_id_fields = ("device",)


@admin.register(DeviceImport)
class DeviceImportAdmin(admin.ModelAdmin):
    list_display = ("filename", "status", "uploaded_by", "created_at", "created_count", "updated_count", "skipped_count")
    list_filter = ("status",)
    readonly_fields = [f.name for f in DeviceImport._meta.fields]
