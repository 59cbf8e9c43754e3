"""Request bodies are capped before anything reads them: the import's upload view has its own larger cap."""

from __future__ import annotations

from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from devices.models import Action, BulkJob, DeviceImport

GIGABYTE = str(1024**3)


def test_an_anonymous_gigabyte_post_to_the_login_page_is_refused_unread(client, db):
    from axes.models import AccessAttempt

    response = client.generic("POST", reverse("login"), b"username=a&password=b",
                              content_type="application/x-www-form-urlencoded", CONTENT_LENGTH=GIGABYTE)
    assert response.status_code == 413
    assert "The request is 1024 MB; this page takes at most 1 MB." in response.content.decode()
    assert not AccessAttempt.objects.exists()


def test_a_bulk_post_over_the_cap_queues_nothing(operator_client, make_device, settings):
    settings.GEARSDASH_MAX_BODY_BYTES = 4096
    device = make_device("lab-1", hwid="LAB1")
    ids = [str(device.pk)] * 1000
    response = operator_client.post(reverse("devices:bulk-action"), {"kind": "exempt_all", "confirm": "yes",
                                                                     "device": ids})
    assert response.status_code == 413
    assert not Action.objects.exists() and not BulkJob.objects.exists()


def test_an_upload_over_the_import_cap_is_refused_unread_naming_the_limit(admin_client_, settings):
    settings.DEVICE_IMPORT_MAX_BYTES = 10 * 1024 * 1024
    response = admin_client_.generic("POST", reverse("devices:import-upload"), b"--x--",
                                     content_type="multipart/form-data; boundary=x",
                                     CONTENT_LENGTH=str(50 * 1024 * 1024))
    assert response.status_code == 413
    assert "this page takes at most 10.1 MB" in response.content.decode()
    assert not DeviceImport.objects.exists()


def test_the_import_takes_a_file_larger_than_every_other_page_may_post(admin_client_, settings):
    settings.GEARSDASH_MAX_BODY_BYTES = 2048
    text = "name,hwid\n" + "".join(f"ws-{n},H{n}\n" for n in range(1000))
    response = admin_client_.post(reverse("devices:import-upload"),
                                  {"file": SimpleUploadedFile("big.csv", text.encode(), "text/csv")})
    assert response.status_code == 302 and DeviceImport.objects.exists()
