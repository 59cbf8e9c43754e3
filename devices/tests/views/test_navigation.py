"""The top navigation: every page reachable from it, the current one marked for screen readers."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from devices import outbox
from devices.templatetags.main_nav import MAIN_NAV

# A page of each menu entry, and the entry it marks current.
PAGES = [
    ("overview", "Overview"),
    ("devices:device-list", "Devices"),
    ("devices:bulk-list", "Bulk jobs"),
    ("devices:sync", "Cloud sync"),
    ("devices:upstream", "Upstream"),
    ("devices:audit-log", "Audit"),
    ("devices:import-upload", "Import"),
]


def menu(body: str) -> str:
    return re.search(r'<nav aria-label="Main">.*?</nav>', body, re.S).group(0)


def current_entries(body: str) -> list[str]:
    return re.findall(r'aria-current="page">([^<]+)</a>', menu(body))


@pytest.mark.parametrize(("url_name", "label"), PAGES)
def test_each_page_marks_its_own_menu_entry_and_no_other_as_current(admin_client_, url_name, label):
    assert current_entries(admin_client_.get(reverse(url_name)).content.decode()) == [label]


def test_a_page_outside_the_menu_marks_no_entry_current(viewer_client, sample_device):
    assert current_entries(viewer_client.get(sample_device.get_absolute_url()).content.decode()) == []


def test_a_bulk_jobs_page_marks_bulk_jobs_current(viewer_client, operator, lab_devices):
    job = outbox.enqueue_bulk([d.pk for d in lab_devices(2)], "dhcprenew", user=operator)
    assert current_entries(viewer_client.get(job.get_absolute_url()).content.decode()) == ["Bulk jobs"]


def test_the_menu_leads_to_the_cloud_sync_page(viewer_client):
    nav = menu(viewer_client.get(reverse("devices:device-list")).content.decode())
    assert f'<a href="{reverse("devices:sync")}" >Cloud sync</a>' in nav


def test_viewers_see_neither_import_nor_admin(viewer_client):
    nav = menu(viewer_client.get("/").content.decode())
    assert ">Import</a>" not in nav and ">Admin</a>" not in nav and ">Cloud sync</a>" in nav


def test_staff_admins_see_every_entry_in_the_lists_order(admin_client_, admin_user):
    admin_user.is_staff = True
    admin_user.save(update_fields=["is_staff"])
    labels = re.findall(r">([^<>]+)</a></li>", menu(admin_client_.get("/").content.decode()))
    assert labels == [entry.label for entry in MAIN_NAV]
