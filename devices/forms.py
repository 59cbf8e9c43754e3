"""Forms only validate; writing is devices.inventory's job."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils.html import format_html

from devices.inventory import DeviceRecord, conflicting_owners
from devices.models import Device
from devices.validators import HWID_MAX_LENGTH, normalize_hwid, normalize_mac_list


def _belongs_to(identifier: str, device: Device) -> str:
    return format_html(
        '{} already belongs to <a href="{}">{}</a>.',
        identifier,
        reverse("devices:device-detail", args=[device.pk]),
        device.name,
    )


class DeviceForm(forms.Form):
    name = forms.CharField(max_length=253, help_text="The device's hostname.")
    hwid = forms.CharField(
        label="HWID",
        required=False,
        max_length=HWID_MAX_LENGTH + 20,  # room for stray spaces; the validator has the last word
        help_text="As the cloud shows it: 32 hex or 16 uppercase characters.",
    )
    macs = forms.CharField(
        label="MAC addresses",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "spellcheck": "false"}),
        help_text="One per line (or separated by spaces). The first is the primary. "
        "Any notation: 00:0C:29:F2:7A:29, 00-0c-29-f2-7a-29, 000c.29f2.7a29.",
    )
    owner_name = forms.CharField(label="Owner", max_length=200, required=False)
    owner_email = forms.EmailField(
        label="Owner email",
        required=False,
        help_text="The person a remediation link is shared with.",
    )
    notes = forms.CharField(widget=forms.Textarea(attrs={"rows": 4}), required=False, max_length=10_000)

    def __init__(self, *args, instance: Device | None = None, **kwargs):
        self.instance = instance
        if instance is not None and "initial" not in kwargs:
            record = DeviceRecord.of(instance)
            kwargs["initial"] = {**record.__dict__, "macs": "\n".join(record.macs), "hwid": record.hwid or ""}
        super().__init__(*args, **kwargs)

    def clean_name(self) -> str:
        return self.cleaned_data["name"].strip()

    def clean_hwid(self) -> str | None:
        return normalize_hwid(self.cleaned_data["hwid"])

    def clean_macs(self) -> list[str]:
        return normalize_mac_list(self.cleaned_data["macs"])

    def clean(self):
        data = super().clean()
        hwid, macs = data.get("hwid"), data.get("macs")
        if "hwid" in data and "macs" in data and not hwid and not macs:
            raise ValidationError("A device needs a HWID or at least one MAC address.")
        taken = conflicting_owners(
            hwid if "hwid" in data else None,
            macs or [],
            self.instance.pk if self.instance else None,
        )
        for identifier, device in taken.items():
            self.add_error("hwid" if identifier == hwid else "macs", _belongs_to(identifier, device))
        return data

    def record(self) -> DeviceRecord:
        data = self.cleaned_data
        return DeviceRecord(
            name=data["name"],
            hwid=data["hwid"],
            macs=data["macs"],
            owner_name=data["owner_name"].strip(),
            owner_email=data["owner_email"].strip(),
            notes=data["notes"].strip(),
        )


class CsvUploadForm(forms.Form):
    file = forms.FileField(label="CSV file", help_text="UTF-8, comma or semicolon separated.")

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > settings.DEVICE_IMPORT_MAX_BYTES:
            raise ValidationError(
                "The file is %(size)s MB; the limit is %(limit)s MB.",
                params={
                    "size": round(upload.size / 1e6, 1),
                    "limit": round(settings.DEVICE_IMPORT_MAX_BYTES / 1e6, 1),
                },
            )
        return upload
