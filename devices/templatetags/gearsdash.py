from __future__ import annotations

from datetime import timedelta

from django import template

from devices import wording

register = template.Library()


@register.filter
def duration(value: timedelta | None) -> str:
    """A timedelta as people say it: "45 s", "12 min", "5 h 3 min"."""
    if value is None:
        return ""
    seconds = max(0, int(round(value.total_seconds())))
    if not seconds:
        return "under a second"
    if seconds < 60:
        return f"{seconds} s"
    minutes = round(seconds / 60)
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min" if minutes else f"{hours} h"


@register.filter
def confirm_warning(kind: str) -> str:
    """The warning said before an action of this kind is queued (devices/wording.py); empty when none is."""
    return wording.confirm_warning(kind)
