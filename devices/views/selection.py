"""The devices a bulk form names: the ticked ids, or everything the list's filter matches."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import QuerySet
from django.urls import reverse
from django.utils.http import urlencode

from devices.filters import DeviceFilterSet
from devices.ids import require_id, require_ids
from devices.models import Action, Device
from devices.views.htmx import HtmxHttpRequest


@dataclass(frozen=True)
class Selection:
    """The devices a bulk form names, where to go back to, and how to say which."""

    devices: QuerySet[Device]
    back: str
    description: str


def selected_devices(request: HtmxHttpRequest) -> Selection:
    """Ticked ids, everything the list's filter (sent along) matches, or a bulk job's failed devices.

    An id that is not one raises BadId (a 400 that says which): a form of ours never sends one.
    """
    listing = reverse("devices:device-list")
    if request.POST.get("select_all_matching") == "1":
        filterset = DeviceFilterSet(request.POST)
        pairs = filterset.selecting_pairs()
        query = urlencode(pairs)
        words = filterset.describe()
        description = f"all devices where {words}" if words else "all devices (no filter)"
        return Selection(filterset.qs, listing + (f"?{query}" if query else ""), description)
    if request.POST.get("retry_failed_of", ""):
        job = require_id("retry_failed_of", request.POST["retry_failed_of"])
        # "Retry failed" on a bulk job's page: the devices whose action failed there.
        failed = Action.objects.filter(bulk_job_id=job, status=Action.Status.FAILED).values("device_id")
        devices = Device.objects.filter(pk__in=failed)
        description = f"the {devices.count()} devices whose action failed in bulk job #{job}"
        return Selection(devices, reverse("devices:bulk-detail", args=[job]), description)
    ids = require_ids("device", request.POST.getlist("device"))
    devices = Device.objects.filter(pk__in=ids)
    return Selection(devices, listing, f"{devices.count()} selected devices")
