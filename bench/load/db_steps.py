"""The load run's database steps, run in their own process per database (bench/load_run.py calls them).

  prepare PLAN --devices N --browse B --race R   migrate, fill the inventory, make operators
                                                 logged in beforehand, write the plan locust reads
  check PLAN                                     after the run: the race device's actions, the queue

Django is set up from the environment (DATABASE_URL, GEARSDASH_VAR_DIR ...),
with the real settings, as gunicorn will be.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(BENCH.parent), str(BENCH)]

RACE_KIND = "dhcprenew"


def logged_in_operators(prefix: str, count: int) -> list[str]:
    """`count` operators, each with a session as after logging in; their session keys."""
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, get_user_model
    from django.contrib.auth.models import Group
    from django.contrib.sessions.backends.db import SessionStore

    from devices.roles import OPERATOR

    backend = next(b for b in settings.AUTHENTICATION_BACKENDS if b.endswith("ModelBackend"))
    group = Group.objects.get(name=OPERATOR)
    keys = []
    for i in range(count):
        user, _ = get_user_model().objects.get_or_create(username=f"{prefix}-{i:02d}")
        user.set_unusable_password()  # nobody logs in as them: hashing 70 passwords would only heat the CPU
        user.save()
        user.groups.add(group)
        session = SessionStore()
        session.update({SESSION_KEY: str(user.pk), BACKEND_SESSION_KEY: backend, HASH_SESSION_KEY: user.get_session_auth_hash()})
        session.create()
        keys.append(session.session_key)
    return keys


def search_terms(sample: int = 60) -> list[str]:
    """What operators type: whole and partial names, whole and partial MACs, an owner, a miss."""
    from devices.models import MacAddress

    rng = random.Random(7)
    macs = list(MacAddress.objects.filter(is_primary=True).order_by("?").select_related("device")[:sample])
    terms = ["Grace", "Turing", "no-such-device"]
    for mac in macs:
        terms.append(rng.choice([mac.device.name, mac.device.name[:10], mac.address, mac.address[-8:]]))
    return terms


def prepare(args) -> None:
    from django.conf import settings
    from harness import fill_inventory

    from devices.models import Device

    fill_inventory(args.devices)
    ids = list(Device.objects.order_by("pk").values_list("pk", flat=True))
    plan = {
        "session_cookie": settings.SESSION_COOKIE_NAME,
        "browse_sessions": logged_in_operators("load-op", args.browse),
        "race_sessions": logged_in_operators("race-op", args.race),
        # The race's device is one nobody else touches: the last; the others browse the rest.
        "device_ids": [ids[0], ids[-2]],
        "race_device": ids[-1],
        "race_kind": RACE_KIND,
        "list_pages": 50,
        "search_terms": search_terms(),
        "results": str(Path(args.plan).with_suffix(".results.json")),
        "devices": len(ids),
    }
    Path(args.plan).write_text(json.dumps(plan))


def check(args) -> None:
    from django.db.models import Count

    from devices.models import Action, AuditEntry

    plan = json.loads(Path(args.plan).read_text())
    race = Action.objects.filter(device_id=plan["race_device"], kind=plan["race_kind"])
    print(json.dumps({
        "race_actions": race.count(),
        "race_statuses": sorted(race.values_list("status", flat=True)),
        "race_audit_queued": AuditEntry.objects.filter(verb=AuditEntry.Verb.QUEUED, action__in=race).count(),
        "actions_by_status": dict(Action.objects.values_list("status").annotate(n=Count("id")).order_by("status")),
    }))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    steps = parser.add_subparsers(dest="step", required=True)
    ready = steps.add_parser("prepare")
    ready.add_argument("plan")
    ready.add_argument("--devices", type=int, default=10_000)
    ready.add_argument("--browse", type=int, default=50)
    ready.add_argument("--race", type=int, default=20)
    after = steps.add_parser("check")
    after.add_argument("plan")
    args = parser.parse_args()

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gearsdash.settings")
    import django

    django.setup()
    {"prepare": prepare, "check": check}[args.step](args)


if __name__ == "__main__":
    main()
