"""The devices a bulk form names: the ticked ids, or everything the list's filter matches."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.http import urlencode

from devices.filters import DeviceFilterSet
from devices.models import Device


@dataclass(frozen=True)
class Selection:
    """The devices a bulk form names, where to go back to, and how to say which."""

    devices: QuerySet[Device]
    back: str
    description: str


def selected_devices(request: HttpRequest) -> Selection:
    """Ticked ids, or everything the list's filter (sent along) matches."""
    listing = reverse("devices:device-list")
    if request.POST.get("select_all_matching") == "1":
        filterset = DeviceFilterSet(request.POST)
        pairs = filterset.selecting_pairs()
        query = urlencode(pairs)
        description = "all devices matching " + ("&".join(f"{k}={v}" for k, v in pairs.items()) or "(no filter)")
        return Selection(filterset.qs, listing + (f"?{query}" if query else ""), description)
    ids = [value for value in request.POST.getlist("device") if value.isdigit()]
    devices = Device.objects.filter(pk__in=ids)
    return Selection(devices, listing, f"{devices.count()} selected devices")
