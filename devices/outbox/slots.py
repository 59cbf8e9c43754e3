"""Drainer slots: at most GEARS_DRAINERS drainers run at once, and a dead drainer's slot is free within seconds.

A slot only bounds how many drainers send at once; the exact limit comes
from the limiter's row lock (devices.outbox.claim), whatever becomes of slots.
So a slot must never outlive its holder by long: a cluster killed while
holding every slot would otherwise stop all sending until the leases ran out.

- PostgreSQL: a slot is a session-level advisory lock, which the server
  releases the moment the holder's connection dies (a killed process, a
  broken network). The drain loop runs on one connection from take to
  release (django-q2 closes old connections only between tasks), and
  `renew_slot` checks that this is still the session holding the lock, so a
  reconnect mid-run ends the run instead of draining without a slot.
- Elsewhere (SQLite, the embedded default): a row with a short lease
  (SLOT_LEASE), renewed at every turn of the loop, so a dead holder is noticed
  in seconds. A call longer than the lease may let one more drainer in; its
  holder then stops after that call (renew_slot says the slot was taken).

Either way the DrainerSlot rows say who holds what (the admin shows them).

One more slot, the standby (number GEARS_DRAINERS), is held by at most one
drainer that found every slot taken while work was due: it takes the first
slot that frees, so work already queued does not wait for the next kick or the
one-minute schedule when another process's drainers die or end their run.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import connection
from django.db.models import Q

from devices.models import DrainerSlot
from devices.outbox.clock import db_now

# The first key of every drainer-slot advisory lock (the second is the slot number):
# "gd" in ASCII, so no other user of advisory locks in the database collides by accident.
LOCK_CLASS = 0x6764
# How long a slot row outlives its last renewal where there are no advisory locks.
SLOT_LEASE = timedelta(seconds=5)

# This process's holdings: worker -> {slot: the backend pid that holds its lock (None: a lease)}.
_held: dict[str, dict[int, int | None]] = {}


def uses_locks() -> bool:
    """Whether slots are advisory locks (PostgreSQL) rather than leases."""
    return connection.vendor == "postgresql"


def backend_pid(cursor) -> int:
    """The PostgreSQL server process of this connection's session."""
    cursor.execute("SELECT pg_backend_pid()")
    return cursor.fetchone()[0]


def standby_slot() -> int:
    return settings.GEARS_DRAINERS


def take_slot(worker: str, lease: timedelta = SLOT_LEASE, *, standby: bool = False) -> bool:
    """Take a free slot (or the standby slot) for `worker`; False when it is held.

    `lease` matters only where slots are leases: the slot is free again at now + lease unless renewed.
    """
    slots = [standby_slot()] if standby else range(settings.GEARS_DRAINERS)
    for slot in slots:
        if _take(worker, slot, lease):
            return True
    return False


def _take(worker: str, slot: int, lease: timedelta) -> bool:
    DrainerSlot.objects.get_or_create(slot=slot)
    now = db_now()
    if uses_locks():
        with connection.cursor() as cursor:
            pid = backend_pid(cursor)
            # An advisory lock is re-entrant within its session: a slot this session holds is not free.
            if any(owner == pid for held in list(_held.values()) for owner in [held.get(slot)]):
                return False
            cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", [LOCK_CLASS, slot])
            if not cursor.fetchone()[0]:
                return False
        DrainerSlot.objects.filter(slot=slot).update(holder=worker, expires_at=None)
        _held.setdefault(worker, {})[slot] = pid
        return True
    free = Q(expires_at__isnull=True) | Q(expires_at__lt=now)
    if DrainerSlot.objects.filter(slot=slot).filter(free).update(holder=worker, expires_at=now + lease):
        _held.setdefault(worker, {})[slot] = None
        return True
    return False


def renew_slot(worker: str, lease: timedelta = SLOT_LEASE) -> bool:
    """Keep `worker`'s slots; False if it holds none any more (its lease passed and another took it, or
    its database session is not the one that took the lock): the drainer should stop."""
    held = _held.get(worker, {})
    if not held:
        return False
    if uses_locks():
        with connection.cursor() as cursor:
            pid = backend_pid(cursor)
        if any(owner != pid for owner in held.values()):
            # Another session: the lock went with the old one (and may be another drainer's now).
            _held.pop(worker, None)
            return False
        return True
    kept = DrainerSlot.objects.filter(holder=worker, slot__in=list(held)).update(expires_at=db_now() + lease)
    if not kept:
        _held.pop(worker, None)
    return bool(kept)


def release_slot(worker: str, *, standby: bool = False) -> None:
    """Give back `worker`'s slots (only its standby slot, if `standby`)."""
    held = _held.get(worker, {})
    slots = [slot for slot in held if slot == standby_slot() or not standby]
    for slot in slots:
        owner = held.pop(slot)
        DrainerSlot.objects.filter(slot=slot, holder=worker).update(holder="", expires_at=None)
        if owner is not None:
            with connection.cursor() as cursor:
                if backend_pid(cursor) == owner:  # a lock of a session gone is released already
                    cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [LOCK_CLASS, slot])
    if not held:
        _held.pop(worker, None)
