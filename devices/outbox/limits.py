"""Text measured against, or cut to, the length its model field allows, read from the field itself."""

from __future__ import annotations

from django.db import models


def max_length(model: type[models.Model], field: str) -> int:
    return model._meta.get_field(field).max_length


def fit(model: type[models.Model], field: str, text: str) -> str:
    """`text` cut to `model.field`'s max_length, so a save never fails on a long message."""
    return text[: max_length(model, field)]


def too_long(model: type[models.Model], field: str, text: str) -> str:
    """Why `text` cannot be stored whole in `model.field` ("" if it can): for values that must not be cut."""
    limit = max_length(model, field)
    if len(text) <= limit:
        return ""
    return f"{model._meta.get_field(field).verbose_name} is {len(text):,} characters long; at most {limit:,} can be stored"
