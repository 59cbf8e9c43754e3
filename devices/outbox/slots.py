"""Drainer slots: at most GEARS_DRAINERS drainers run at once; a slot whose lease passed is free again."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db.models import Q

from devices.models import DrainerSlot
from devices.outbox.clock import db_now


def take_slot(worker: str, lease: timedelta) -> bool:
    """Take a free slot for `worker` until now + `lease`; False when every slot is held."""
    now = db_now()
    for slot in range(settings.GEARS_DRAINERS):
        DrainerSlot.objects.get_or_create(slot=slot)
        free = Q(expires_at__isnull=True) | Q(expires_at__lt=now)
        if DrainerSlot.objects.filter(slot=slot).filter(free).update(holder=worker, expires_at=now + lease):
            return True
    return False


def renew_slot(worker: str, lease: timedelta) -> None:
    DrainerSlot.objects.filter(holder=worker).update(expires_at=db_now() + lease)


def release_slot(worker: str) -> None:
    DrainerSlot.objects.filter(holder=worker).update(holder="", expires_at=None)
