"""The device list counts matches only up to a cap: past it, "more than"; the paging, the
bulk "all matching" and the export still cover every match."""

from __future__ import annotations

import csv
import io

import pytest
from django.urls import reverse

from devices.models import ActionKind, BulkJob, Device
from devices.views import paging

LIST = reverse("devices:device-list")
HTMX = {"HX-Request": "true"}


@pytest.fixture
def sixty(db, monkeypatch):
    """60 devices, and a cap of 30: a few pages already go past it."""
    monkeypatch.setattr(paging, "COUNT_CAP", 30)
    Device.objects.bulk_create([Device(name=f"lab-{n:02d}", hwid=f"LAB{n:02d}") for n in range(60)])


def test_past_the_cap_the_heading_and_the_pages_say_more_than(admin_client_, sixty):
    body = admin_client_.get(LIST, {"per_page": "25"}, headers=HTMX).content.decode()
    assert "More than <strong>30</strong> devices" in body
    assert "Page 1 of more than 1" in body and "Next" in body
    assert "Select all matching (more than 30)" in body
    assert 'data-total-text="more than 30"' in body


def test_next_keeps_working_past_the_cap_until_the_last_page_which_counts_exactly(admin_client_, sixty):
    names = []
    for number in (1, 2, 3):
        response = admin_client_.get(LIST, {"per_page": "25", "page": str(number)}, headers=HTMX)
        names += [d.name for d in response.context["page"].object_list]
    assert names == [f"lab-{n:02d}" for n in range(60)]
    body = response.content.decode()
    assert "<strong>60</strong> devices" in body and "Page 3 of 3" in body and "Next" not in body


def test_a_page_number_beyond_the_matches_shows_the_last_page(admin_client_, sixty):
    response = admin_client_.get(LIST, {"per_page": "25", "page": "99"}, headers=HTMX)
    assert response.context["page"].number == 3


def test_under_the_cap_the_count_is_exact(admin_client_, sixty):
    body = admin_client_.get(LIST, {"q": "lab-1"}, headers=HTMX).content.decode()
    assert "<strong>10</strong> devices matching “lab-1”" in body and "More than" not in body


@pytest.mark.parametrize("sort", ["name", "-name"])
def test_a_search_under_the_cap_reads_its_page_in_the_list_order(admin_client_, sixty, sort):
    response = admin_client_.get(LIST, {"q": "lab-2", "sort": sort, "per_page": "25"}, headers=HTMX)
    expected = [f"lab-2{n}" for n in range(10)]
    assert [d.name for d in response.context["page"].object_list] == (expected if sort == "name" else expected[::-1])


def test_bulk_all_matching_on_a_capped_list_states_the_exact_number_and_queues_every_match(admin_client_, sixty):
    form = {"kind": "dhcprenew", "select_all_matching": "1", "q": "lab"}
    confirm = admin_client_.post(reverse("devices:bulk-action"), form).content.decode()
    assert "Renew DHCP on 60 devices?" in confirm and "Queue 60 actions" in confirm
    admin_client_.post(reverse("devices:bulk-action"), {**form, "confirm": "yes"})
    job = BulkJob.objects.get()
    assert job.requested == 60 and job.actions.count() == 60


def test_the_export_of_a_capped_list_has_every_match(admin_client_, sixty):
    response = admin_client_.get(reverse("devices:device-export"), {"q": "lab"})
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert len(rows) == 60


def test_a_search_under_the_cap_pages_through_every_match_once_in_the_chosen_order(admin_client_, db):
    Device.objects.bulk_create([Device(name=f"lab-{n:02d}", hwid=f"LAB{n:02d}") for n in range(60)])
    seen = []
    for number in (1, 2, 3):
        response = admin_client_.get(LIST, {"q": "lab", "sort": "-hwid", "per_page": "25", "page": str(number)},
                                     headers=HTMX)
        assert response.context["page"].paginator.count == 60
        seen += [d.name for d in response.context["page"].object_list]
    assert seen == [f"lab-{n:02d}" for n in range(59, -1, -1)]


HUGE_PAGES = ["9223372036854775807", "99999999999999999999999999", "-9223372036854775809", "1e400", "²", "１２"]


@pytest.mark.parametrize("page", HUGE_PAGES)
@pytest.mark.parametrize("query", [{}, {"q": "lab"}, {"per_page": "25"}])
def test_any_page_number_on_the_device_list_shows_a_real_page(viewer_client, sixty, page, query):
    response = viewer_client.get(LIST, {**query, "page": page})
    assert response.status_code == 200
    number = response.context["page"].number
    assert number >= 1 and len(response.context["page"].object_list) > 0


@pytest.mark.parametrize("page", HUGE_PAGES)
@pytest.mark.parametrize("name", ["devices:audit-log", "devices:bulk-list", "bulk-detail"])
def test_any_page_number_on_every_other_paginated_list_shows_a_real_page(admin_client_, sixty, page, name):
    BulkJob.objects.create(kind=ActionKind.DHCPRENEW, description="all devices")
    url = reverse("devices:bulk-detail", args=[BulkJob.objects.get().pk]) if name == "bulk-detail" else reverse(name)
    response = admin_client_.get(url, {"page": page})
    assert response.status_code == 200
