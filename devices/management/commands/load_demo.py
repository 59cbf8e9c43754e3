"""Load the demo: the simulator's devices, a few it does not know, and demo users.

Idempotent: existing devices (matched by HWID or MAC) and users are left as
they are, so running it again changes nothing, and edits made in the demo
survive a restart.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand
from django.db import transaction

from devices.inventory import DeviceRecord, save_device
from devices.models import Device, MacAddress
from devices.roles import ADMIN, OPERATOR, VIEWER, ensure_roles

DEMO_USERS = [
    # username, password, role, staff (may open the Django admin)
    ("admin", "admin-demo", ADMIN, True),
    ("operator", "operator-demo", OPERATOR, False),
    ("viewer", "viewer-demo", VIEWER, False),
]

# Devices the simulated cloud has never seen, so "Device not found" shows up.
UNKNOWN_TO_CLOUD = [
    DeviceRecord("lab-spare-01", "LABSPARE0000001X", ["02:00:5e:10:00:01"], "Stock room", "", "Not enrolled yet."),
    DeviceRecord("printer-3f", None, ["02:00:5e:10:00:02"], "", "", "Network printer, no agent."),
    DeviceRecord("old-kiosk", "9f1c0000000000000000000000000001", ["02:00:5e:10:00:03", "02:00:5e:10:00:04"], "Front desk", "desk@example.com", "Decommissioned in the cloud."),
]


def demo_records(seed: int, count: int) -> list[DeviceRecord]:
    from fakegears.data import generate_devices

    records = [
        DeviceRecord(
            name=device.hostname,
            hwid=device.hwid,
            macs=list(device.macs),
            owner_name=device.owner_name,
            owner_email=device.owner_email,
            notes="",
        )
        for device in generate_devices(seed=seed, count=count)
    ]
    return records + UNKNOWN_TO_CLOUD


class Command(BaseCommand):
    help = "Load the demo inventory (matching the simulator's seed) and the demo users."

    def add_arguments(self, parser):
        parser.add_argument("--seed", type=int, default=42, help="The simulator's seed (default 42).")
        parser.add_argument("--devices", type=int, default=40, help="The simulator's device count (default 40).")

    @transaction.atomic
    def handle(self, *args, seed: int, devices: int, **options):
        ensure_roles()
        created = 0
        for record in demo_records(seed, devices):
            known = (record.hwid and Device.objects.filter(hwid=record.hwid).exists()) or (
                MacAddress.objects.filter(address__in=record.macs).exists()
            )
            if not known:
                save_device(None, record)
                created += 1
        users = self._ensure_users()
        self.stdout.write(f"Demo inventory: {created} devices added, {Device.objects.count()} in all.")
        if users:
            self.stdout.write("Demo users created: " + ", ".join(users) + ".")

    def _ensure_users(self) -> list[str]:
        User = get_user_model()
        created = []
        for username, password, role, staff in DEMO_USERS:
            user, new = User.objects.get_or_create(username=username, defaults={"is_staff": staff})
            if new:
                user.set_password(password)
                user.save()
                created.append(username)
            user.groups.add(Group.objects.get(name=role))
        return created
