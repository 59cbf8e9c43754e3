"""Model fields for the device identifiers that put themselves in canonical form.

Each field normalises through devices.validators wherever a value enters:
model validation (`full_clean`, the admin), the form field it hands to a
ModelForm, and the value sent to the database, so that a save or a lookup
typed in any notation (`00-0C-29-F2-7A-29`) means the canonical row.
"""

from __future__ import annotations

from collections.abc import Callable

from django import forms
from django.core.exceptions import ValidationError
from django.db import models

from devices.validators import HWID_MAX_LENGTH, MAC_LENGTH, normalize_hwid, normalize_mac


class NormalizingFormField(forms.CharField):
    """A text form field whose cleaned value is `normalize(typed)`."""

    def __init__(self, *, normalize: Callable[[str], str | None], spare_length: int = 0, **kwargs):
        self.normalize = normalize
        # Typed stray spaces may make the raw text longer than the stored value.
        self.spare_length = spare_length
        super().__init__(**kwargs)

    def to_python(self, value):
        value = super().to_python(value)
        if value in self.empty_values:
            return value
        return self.normalize(value)

    def widget_attrs(self, widget):
        attrs = super().widget_attrs(widget)
        if "maxlength" in attrs:
            attrs["maxlength"] = str(int(attrs["maxlength"]) + self.spare_length)
        return attrs


class NormalizingCharField(models.CharField):
    """A CharField whose every value passes through `normalize` (raising ValidationError)."""

    default_max_length: int

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("max_length", self.default_max_length)
        super().__init__(*args, **kwargs)

    @staticmethod
    def normalize(value: str) -> str | None:
        raise NotImplementedError

    def deconstruct(self):
        name, path, args, kwargs = super().deconstruct()
        if kwargs.get("max_length") == self.default_max_length:
            del kwargs["max_length"]
        return name, path, args, kwargs

    def to_python(self, value):
        value = super().to_python(value)
        if value in self.empty_values:
            return None if self.null else value
        return self.normalize(value)

    def get_prep_value(self, value):
        try:
            return super().get_prep_value(value)  # CharField's calls to_python
        except ValidationError:
            # Unchanged: on a write the database's format constraint refuses
            # it; a lookup of something that is no identifier matches nothing.
            return value

    def formfield(self, **kwargs):
        return super().formfield(
            **{
                "form_class": NormalizingFormField,
                "normalize": self.normalize,
                "spare_length": 20,
                **kwargs,
            }
        )


class MacAddressField(NormalizingCharField):
    """A MAC address stored as the cloud writes it: `00:0c:29:f2:7a:29`.

    Reads `00:0C:29:F2:7A:29`, `00-0c-29-f2-7a-29`, `000c.29f2.7a29` and
    `000c29f27a29`, in any case and with stray spaces; anything else is a
    ValidationError naming what was typed.
    """

    default_max_length = MAC_LENGTH
    description = "MAC address (lowercase, colon-separated)"

    @staticmethod
    def normalize(value: str) -> str:
        return normalize_mac(value)


class HwidField(NormalizingCharField):
    """A HWID as the cloud shows it, stripped of stray spaces; blank is NULL."""

    default_max_length = HWID_MAX_LENGTH
    description = "Hardware ID (letters, digits, '-' and '_')"

    @staticmethod
    def normalize(value: str) -> str | None:
        return normalize_hwid(value)
