"""Forms only validate; writing is devices.inventory's job."""

from __future__ import annotations

import copy

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils.html import format_html

from devices.inventory import DeviceRecord, conflicting_owners
from devices.models import Device
from devices.validators import normalize_mac_list
from gearsdash.sizes import megabytes


def _belongs_to(identifier: str, device: Device) -> str:
    return format_html(
        '{} already belongs to <a href="{}">{}</a>.',
        identifier,
        reverse("devices:device-detail", args=[device.pk]),
        device.name,
    )


class DeviceForm(forms.ModelForm):
    """A device's editable values and its MACs; lengths and labels come from the model."""

    macs = forms.CharField(
        label="MAC addresses",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "spellcheck": "false"}),
        help_text="One per line (or separated by spaces). The first is the primary. "
        "Any notation: 00:0C:29:F2:7A:29, 00-0c-29-f2-7a-29, 000c.29f2.7a29.",
    )

    class Meta:
        model = Device
        fields = ["name", "hwid", "macs", "owner_name", "owner_email", "notes"]
        help_texts = {
            "hwid": "As the cloud shows it: 32 hex or 16 uppercase characters.",
            "owner_email": "The person a remediation link is shared with.",
        }
        widgets = {"notes": forms.Textarea(attrs={"rows": 4})}

    def __init__(self, *args, instance: Device | None = None, **kwargs):
        # Validation fills the form's instance with the typed values: keep the
        # caller's device as stored (the page still shows its saved name).
        super().__init__(*args, instance=copy.copy(instance), **kwargs)
        if instance is not None and "macs" not in self.initial:
            self.initial["macs"] = "\n".join(mac.address for mac in instance.ordered_macs)

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
            self.instance.pk,
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
            owner_name=data["owner_name"],
            owner_email=data["owner_email"],
            notes=data["notes"],
        )

    def save(self, commit: bool = True):
        raise TypeError("Forms only validate: save with devices.inventory.save_device(device, form.record()).")


class CsvUploadForm(forms.Form):
    file = forms.FileField(label="CSV file")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Read per form: the limit is a setting, and a test may change it.
        self.fields["file"].help_text = (
            f"UTF-8, comma or semicolon separated, at most {megabytes(settings.DEVICE_IMPORT_MAX_BYTES)} MB."
        )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > settings.DEVICE_IMPORT_MAX_BYTES:
            raise ValidationError(
                "The file is %(size)s MB; the limit is %(limit)s MB.",
                params={"size": megabytes(upload.size), "limit": megabytes(settings.DEVICE_IMPORT_MAX_BYTES)},
            )
        return upload
