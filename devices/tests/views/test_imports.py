"""The web import: upload, preview, confirm — nothing written before the confirmation."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.urls import reverse

from devices.models import Device, DeviceImport

HEADER = "name,hwid,macs,owner_name,owner_email,notes\n"


def upload(client, text: str | bytes, name: str = "devices.csv"):
    data = text.encode("utf-8") if isinstance(text, str) else text
    return client.post(reverse("devices:import-upload"), {"file": SimpleUploadedFile(name, data, "text/csv")})


def test_upload_shows_a_preview_and_writes_nothing(admin_client_):
    response = upload(admin_client_, HEADER + "a,H1,,,,\nb,,bad-mac,,,\n")
    pending = DeviceImport.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("devices:import-preview", args=[pending.pk])
    preview = admin_client_.get(response["Location"]).content.decode()
    assert "&#x27;bad-mac&#x27; is not a MAC address" in preview
    assert not Device.objects.exists()


def test_import_all_refuses_while_a_row_is_bad_then_valid_rows_only_imports(admin_client_):
    pending_url = upload(admin_client_, HEADER + "a,H1,,,,\nb,,bad-mac,,,\n")["Location"]
    refused = admin_client_.post(pending_url, {"mode": "all"}, follow=True)
    assert "1 row(s) have errors; nothing was imported." in refused.content.decode()
    assert not Device.objects.exists()
    done = admin_client_.post(pending_url, {"mode": "valid"}, follow=True)
    assert "1 created, 0 updated, 0 unchanged, 1 skipped" in done.content.decode()
    assert list(Device.objects.values_list("name", flat=True)) == ["a"]
    assert DeviceImport.objects.get().status == DeviceImport.Status.APPLIED
    assert admin_client_.post(pending_url, {"mode": "all"}).status_code == 404  # applied once only


def test_discard_writes_nothing(admin_client_):
    pending_url = upload(admin_client_, HEADER + "a,H1,,,,\n")["Location"]
    admin_client_.post(pending_url, {"mode": "discard"})
    assert not Device.objects.exists()
    assert DeviceImport.objects.get().status == DeviceImport.Status.DISCARDED


def test_an_unreadable_file_is_refused_at_upload_with_the_reason(admin_client_):
    response = upload(admin_client_, "name,hwid\nMünchen,H1\n".encode("latin-1"))
    assert response.status_code == 200
    assert "not UTF-8" in response.content.decode()
    assert not DeviceImport.objects.exists()


def test_an_unknown_mode_changes_nothing(admin_client_):
    pending_url = upload(admin_client_, HEADER + "a,H1,,,,\n")["Location"]
    response = admin_client_.post(pending_url, {"mode": "drop"})
    assert response.status_code == 200 and "Choose to import" in response.content.decode()
    assert not Device.objects.exists()


def test_a_huge_error_list_is_shown_in_part(admin_client_):
    pending_url = upload(admin_client_, HEADER + "".join(f"x{n},,bad{n},,,\n" for n in range(700)))["Location"]
    body = admin_client_.get(pending_url).content.decode()
    assert body.count('<tr class="bad">') == 500 and "200 more rows with errors" in body


def test_another_users_import_is_not_found(admin_client_, client, db):
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group

    pending_url = upload(admin_client_, HEADER + "a,H1,,,,\n")["Location"]
    other = get_user_model().objects.create_user("other-admin")
    other.groups.add(Group.objects.get(name="admin"))
    client.force_login(other)
    assert client.get(pending_url).status_code == 404


# ------------------------------------------------------------------ clicks during a large import

ROOT = Path(__file__).resolve().parents[3]


def run_import_under_clicks(database_url: str | None) -> dict:
    """bench/import_lock.py, scaled down: an update import of 8,000 rows through the web in
    20 batches while two threads, each on its own connection, queue an action every 50 ms."""
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    if database_url:
        env["DATABASE_URL"] = database_url
    env["GEARSDASH_VAR_DIR"] = tempfile.mkdtemp(prefix="gearsdash-import-lock-")  # SQLite: a file DB of its own
    command = [sys.executable, "bench/import_lock.py", "--rows", "8000", "--batch", "400", "--interval", "0.05", "--json"]
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def assert_clicks_recorded_while_the_import_writes(result: dict) -> None:
    assert result["updated"] == result["rows"]  # the import went through
    assert result["failed"] == 0, result["errors"]  # no "database is locked"
    assert result["recorded"] == result["clicks"]  # every click is in the outbox
    assert result["clicks_done_during_import"] >= 1  # clicks got in between batches, not after the import
    # A click waits for one batch at most, never for the whole import.
    assert result["worst_wait"] < result["import_seconds"] / 4, result


def test_a_click_during_a_large_import_is_recorded_at_once_on_sqlite():
    result = run_import_under_clicks(None)
    assert result["vendor"] == "sqlite"
    assert_clicks_recorded_while_the_import_writes(result)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_click_during_a_large_import_is_recorded_at_once_on_postgresql():
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (DATABASE_URL)")
    db = connection.settings_dict
    url = f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
    result = run_import_under_clicks(url)
    assert result["vendor"] == "postgresql"
    assert_clicks_recorded_while_the_import_writes(result)


def test_the_preview_shows_old_and_new_values_and_flags_a_cleared_hwid(admin_client_, make_device):
    make_device("ENG-LT-002", hwid="H2", macs=["00:0c:29:00:00:01", "00:0c:29:00:00:02"], owner_name="Ada")
    make_device("ENG-LT-003", hwid="H3", macs=["00:0c:29:00:00:03"], owner_name="Bob")
    pending_url = upload(admin_client_, HEADER + "ENG-LT-002,,00:0c:29:00:00:01,Ada,,\nENG-LT-003,H3,00:0c:29:00:00:03,Bo,,\n")["Location"]
    page = admin_client_.get(pending_url).content.decode()
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page))
    assert "1 remove identifiers" in text
    assert "Updates that remove identifiers" in text
    assert "hwid : H2 → (empty) clears the HWID" in text
    assert "macs : 00:0c:29:00:00:01 00:0c:29:00:00:02 → 00:0c:29:00:00:01 removes 00:0c:29:00:00:02" in text
    assert "owner_name : Bob → Bo" in text
    removing = page.split("Updates that remove identifiers", 1)[1].split("Valid rows", 1)[0]
    assert "ENG-LT-002" in removing and "ENG-LT-003" not in removing


def test_the_upload_limit_shown_is_the_setting_in_the_same_units(admin_client_, settings):
    settings.DEVICE_IMPORT_MAX_BYTES = 10 * 1024 * 1024
    page = admin_client_.get(reverse("devices:import-upload")).content.decode()
    assert "at most 10 MB" in page
    response = upload(admin_client_, b"name,hwid\n" + b"x,H1\n" * (2 * 1024 * 1024 + 1))
    assert response.context["form"].errors["file"] == ["The file is 10.1 MB; the limit is 10 MB."]
    assert not DeviceImport.objects.exists()
