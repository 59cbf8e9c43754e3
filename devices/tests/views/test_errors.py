"""What a browser gets for the favicon and for a page that is not there."""

from __future__ import annotations

import html
import re
import urllib.request

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse


@pytest.mark.django_db
def test_the_favicon_is_linked_from_every_page_and_answers_without_a_login(client):
    login_page = client.get("/accounts/login/").content.decode()
    (href,) = re.findall(r'<link rel="icon" href="([^"]+)" type="image/svg\+xml">', login_page)
    answer = client.get("/favicon.ico")
    assert answer.status_code == 302 and answer["Location"] == href


def test_the_favicon_is_an_svg_a_browser_can_fetch(live_server):
    with urllib.request.urlopen(live_server.url + "/favicon.ico") as answer:  # follows the redirect
        assert answer.status == 200
        assert answer.headers["Content-Type"].startswith("image/svg+xml")
        assert answer.read().lstrip().startswith(b"<svg")


def not_found_text(response) -> str:
    assert response.status_code == 404
    body = response.content.decode()
    (reason,) = re.findall(r"<h1>Not found</h1>\s*<p>([^<]*)</p>", body)
    return html.unescape(reason)


def test_a_page_that_does_not_exist_does_not_blame_a_deleted_device(viewer_client):
    reason = not_found_text(viewer_client.get("/nope/"))
    assert reason.startswith("There is no page at this address") and "device" not in reason.split(":")[0]
    assert "deleted" not in reason


def test_a_missing_device_or_bulk_job_is_named(viewer_client, sample_device):
    missing_device = not_found_text(viewer_client.get(reverse("devices:device-detail", args=[sample_device.pk + 99])))
    assert missing_device.startswith("There is no device with this number: it may have been deleted")
    missing_job = not_found_text(viewer_client.get(reverse("devices:bulk-detail", args=[12345])))
    assert missing_job.startswith("There is no bulk job with this number")


def test_an_import_preview_already_used_says_so(admin_client_):
    upload = SimpleUploadedFile("devices.csv", b"name,hwid\na,H1\n", "text/csv")
    pending_url = admin_client_.post(reverse("devices:import-upload"), {"file": upload})["Location"]
    admin_client_.post(pending_url, {"mode": "all"})
    applied = not_found_text(admin_client_.get(pending_url))
    assert applied.startswith("This preview of devices.csv was already imported (")
    assert "upload it again" in applied
    upload = SimpleUploadedFile("other.csv", b"name,hwid\nb,H2\n", "text/csv")
    discarded_url = admin_client_.post(reverse("devices:import-upload"), {"file": upload})["Location"]
    admin_client_.post(discarded_url, {"mode": "discard"})
    assert not_found_text(admin_client_.get(discarded_url)).startswith("This preview of other.csv was discarded")
    unknown = reverse("devices:import-preview", args=["00000000-0000-0000-0000-000000000000"])
    assert not_found_text(admin_client_.get(unknown)).startswith("There is no import preview with this number")
