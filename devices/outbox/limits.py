"""Text cut to the length its model field allows, read from the field itself."""

from __future__ import annotations

from django.db import models


def fit(model: type[models.Model], field: str, text: str) -> str:
    """`text` cut to `model.field`'s max_length, so a save never fails on a long message."""
    return text[: model._meta.get_field(field).max_length]
