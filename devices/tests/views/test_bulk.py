"""Bulk jobs: asked with a count and an ETA, followed live, cancelled."""

from __future__ import annotations

from django.urls import reverse

from devices.models import Action, BulkJob
from gearsdash.env import RateLimit

HTMX = {"HX-Request": "true"}


def test_bulk_asks_with_the_count_and_an_eta_then_shows_the_job(operator_client, make_device, settings):
    settings.GEARS_RATE_LIMIT = RateLimit(10, 60)
    for n in range(25):
        make_device(f"lab-{n}", hwid=f"LAB{n}")
    url = reverse("devices:bulk-action")
    confirm = operator_client.post(url, {"kind": "exempt_all", "select_all_matching": "1", "q": "lab"})
    body = confirm.content.decode()
    assert "Exempt all issues on 25 devices?" in body
    assert "10 calls per 60 s, so this takes about" in body and "<strong>2 min</strong>" in body
    assert not Action.objects.exists()
    done = operator_client.post(url, {"kind": "exempt_all", "select_all_matching": "1", "q": "lab", "confirm": "yes"})
    job = BulkJob.objects.get()
    assert done["Location"] == job.get_absolute_url()
    assert job.actions.count() == 25 and job.actions.filter(priority=9).count() == 25
    page = operator_client.get(job.get_absolute_url()).content.decode()
    assert "0</strong> of 25 done" in page and "Estimated to finish" in page
    operator_client.post(reverse("devices:bulk-cancel", args=[job.pk]))
    assert job.actions.filter(status="cancelled").count() == 25
    final = operator_client.get(job.get_absolute_url(), headers=HTMX)
    assert final.status_code == 286 and "25</strong> of 25 done" in final.content.decode()


def test_bulk_with_nothing_selected_queues_nothing(operator_client):
    response = operator_client.post(reverse("devices:bulk-action"), {"kind": "dhcprenew"}, follow=True)
    assert "No devices were selected" in response.content.decode()
    assert not BulkJob.objects.exists()


def test_a_bulk_selection_by_filter_goes_back_to_the_same_encoded_filter(operator_client, make_device):
    make_device("R&D lab", hwid="RND1")
    confirm = operator_client.post(reverse("devices:bulk-action"), {"kind": "dhcprenew", "select_all_matching": "1", "q": "R&D", "remediation": "unknown"})
    body = confirm.content.decode()
    assert "on 1 device?" in body
    assert 'href="/devices/?q=R%26D&amp;remediation=unknown"' in body
