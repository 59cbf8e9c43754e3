"""A device's timeline: who changed what (old → new), its actions' steps, older entries page by page."""

from __future__ import annotations

import re

import pytest
import requests
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from devices import outbox
from devices.models import AuditEntry, Device
from devices.timeline import AUDIT, device_timeline, parse_cursor

HTMX = {"HX-Request": "true"}
HEADER = "name,hwid,macs,owner_name,owner_email,notes\n"


def timeline_html(page: str) -> str:
    return page[page.index('id="device-timeline"'):]


def text_of(html: str) -> str:
    """The words a reader sees: tags dropped, spaces collapsed."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def edit(client, device, **changes):
    data = {"name": device.name, "hwid": device.hwid or "", "macs": "\n".join(m.address for m in device.ordered_macs),
            "owner_name": device.owner_name, "owner_email": device.owner_email, "notes": device.notes, **changes}
    return client.post(reverse("devices:device-edit", args=[device.pk]), data)


def test_an_edit_shows_each_changed_field_old_and_new_with_who(admin_client_, sample_device):
    response = edit(admin_client_, sample_device, owner_name="Ada Lovelace",
                    macs="00-0C-29-F2-7A-29\n00:0c:29:f2:7a:31")
    assert response.status_code == 302
    shown = text_of(timeline_html(admin_client_.get(sample_device.get_absolute_url()).content.decode()))
    shown = shown[shown.index("Edited by ada"):shown.index("Created by system")]
    assert "Owner : was Grace Hopper → now Ada Lovelace" in shown
    assert "MAC addresses : was 00:0c:29:f2:7a:29 00:0c:29:f2:7a:30 → now 00:0c:29:f2:7a:29 00:0c:29:f2:7a:31" in shown
    assert "Name :" not in shown  # unchanged fields are not listed
    entry = AuditEntry.objects.get(verb="edited")
    assert entry.username == "ada" and entry.device_name == "ws-042"


def test_saving_without_a_change_records_nothing(admin_client_, sample_device):
    edit(admin_client_, sample_device)
    assert not AuditEntry.objects.filter(verb="edited").exists()


def test_a_created_device_records_its_first_values(admin_client_):
    admin_client_.post(reverse("devices:device-create"), {"name": "new-01", "hwid": "N1", "macs": "", "owner_name": "",
                                                          "owner_email": "", "notes": ""})
    entry = AuditEntry.objects.get(verb="created")
    assert (entry.username, entry.device_name) == ("ada", "new-01")
    assert entry.changes == [["name", "", "new-01"], ["hwid", "", "N1"]]


def test_values_are_escaped_in_the_timeline(admin_client_, sample_device):
    edit(admin_client_, sample_device, notes='<script>alert("x")</script>')
    page = admin_client_.get(sample_device.get_absolute_url()).content.decode()
    assert "<script>alert" not in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in timeline_html(page)


def test_a_delete_keeps_an_entry_with_the_name_and_the_values(admin_client_, sample_device):
    admin_client_.post(reverse("devices:device-delete", args=[sample_device.pk]))
    entry = AuditEntry.objects.get(verb="deleted")
    assert (entry.device_id, entry.device_name, entry.username) == (None, "ws-042", "ada")
    assert ["hwid", "1dc0aaaa292ce801f5379042d68bb6cb", ""] in entry.changes
    log = admin_client_.get(reverse("devices:audit-log"), {"device": "ws-042", "verb": "deleted"}).content.decode()
    assert "ws-042" in log and "Nothing recorded." not in log


def test_a_bulk_delete_keeps_one_entry_per_device(admin_client_, make_device):
    devices = [make_device(f"bulk-{i}", hwid=f"B{i}") for i in range(3)]
    response = admin_client_.post(reverse("devices:device-bulk-delete"),
                                  {"device": [d.pk for d in devices], "confirm": "yes"})
    assert response.status_code == 302 and not Device.objects.exists()
    deleted = AuditEntry.objects.filter(verb="deleted").order_by("device_name")
    assert [(e.device_name, e.username) for e in deleted] == [("bulk-0", "ada"), ("bulk-1", "ada"), ("bulk-2", "ada")]


def test_an_import_writes_one_entry_per_device_created_or_updated(admin_client_, make_device):
    kept = make_device("kept", hwid="K1", owner_name="Old Owner")
    same = make_device("same", hwid="S1")
    text = HEADER + "kept,K1,,New Owner,,\nsame,S1,,,,\nfresh-1,F1,,,,\nfresh-2,F2,,,,\n"
    pending = admin_client_.post(reverse("devices:import-upload"),
                                 {"file": SimpleUploadedFile("inv.csv", text.encode(), "text/csv")})["Location"]
    admin_client_.post(pending, {"mode": "all"})
    imported = AuditEntry.objects.filter(verb="imported")
    assert sorted(imported.values_list("device_name", flat=True)) == ["fresh-1", "fresh-2", "kept"]
    update = imported.get(device=kept)
    assert update.changes == [["owner_name", "Old Owner", "New Owner"]]
    assert update.detail.startswith("Updated from inv.csv") and update.username == "ada"
    assert imported.get(device_name="fresh-1").detail.startswith("Created from inv.csv")
    assert not imported.filter(device=same).exists()  # unchanged rows change nothing


def test_the_timeline_merges_actions_steps_with_their_answers(admin_client_, upstream, operator):
    sim = upstream()
    hosted = requests.get(f"{sim.base_url}/_sim/devices", timeout=5).json()["devices"][0]
    device = Device.objects.create(name=hosted["hostname"], hwid=hosted["hwid"])
    outbox.enqueue(device, "dhcprenew", user=operator)
    outbox.drain(max_runtime=5)
    shown = text_of(timeline_html(admin_client_.get(device.get_absolute_url()).content.decode()))
    assert "Queued: Renew DHCP by otto" in shown
    assert "Sent: Renew DHCP" in shown
    assert re.search(r"Succeeded: Renew DHCP by system HTTP 200", shown)
    # Newest first: the outcome above the click.
    assert shown.index("Succeeded: Renew DHCP") < shown.index("Queued: Renew DHCP")
    # The page view's own remediation fetch is listed by its answer only.
    assert "Fetch remediation link" not in shown
    outbox.drain(max_runtime=5)
    shown = text_of(timeline_html(admin_client_.get(device.get_absolute_url()).content.decode()))
    assert "Succeeded: Fetch remediation link by system HTTP 200" in shown
    assert "Queued: Fetch remediation link" not in shown and "Sent: Fetch remediation link" not in shown


def test_older_entries_come_page_by_page_without_gaps_or_repeats(admin_client_, sample_device):
    for i in range(45):
        AuditEntry.objects.create(verb="edited", username="ada", device=sample_device, device_name="ws-042",
                                  changes=[["notes", "", f"note {i}"]])
    first = device_timeline(sample_device)
    page = admin_client_.get(sample_device.get_absolute_url()).content.decode()
    more = re.search(r'hx-get="([^"]+)"[^>]*>Older entries', page).group(1).replace("&amp;", "&")
    second = admin_client_.get(more, headers=HTMX)
    assert second.status_code == 200 and "<html" not in second.content.decode()
    assert "HX-Request" in second.headers["Vary"]
    seen = [e.pk for e in first.events if e.source == AUDIT]
    cursor = first.older
    while cursor:
        later = device_timeline(sample_device, parse_cursor(cursor))
        seen += [e.pk for e in later.events if e.source == AUDIT]
        cursor = later.older
    assert sorted(seen) == sorted(AuditEntry.objects.filter(device=sample_device).values_list("pk", flat=True))
    assert len(seen) == len(set(seen)) == 46  # the fixture's "created" entry, then 45 edits


def test_a_bad_cursor_is_named_and_the_newest_entries_shown(admin_client_, sample_device):
    response = admin_client_.get(reverse("devices:device-timeline", args=[sample_device.pk]), {"before": "yesterday"})
    assert response.status_code == 200
    body = response.content.decode()
    assert "Ignored before=&#x27;yesterday&#x27;" in body and "Created" in body


@pytest.mark.parametrize("pk", ["99999999999999999999", "٣", "²", "１２"])
def test_a_cursor_whose_id_is_not_ascii_digits_in_range_is_named_and_the_newest_entries_shown(
    admin_client_, sample_device, pk
):
    before = f"2026-01-01T00:00:00+00:00~0~{pk}"
    response = admin_client_.get(reverse("devices:device-timeline", args=[sample_device.pk]), {"before": before})
    assert response.status_code == 200
    assert "Ignored before=" in response.content.decode()


def test_the_audit_log_shows_and_exports_the_changes(admin_client_, sample_device):
    edit(admin_client_, sample_device, hwid="NEWHWID")
    log = text_of(admin_client_.get(reverse("devices:audit-log"), {"verb": "edited"}).content.decode())
    assert "HWID : was 1dc0aaaa292ce801f5379042d68bb6cb → now NEWHWID" in log
    export = admin_client_.get(reverse("devices:audit-export"), {"verb": "edited"})
    lines = b"".join(export.streaming_content).decode().splitlines()
    assert lines[0].endswith(",detail,changes")
    assert lines[1].endswith(",HWID: 1dc0aaaa292ce801f5379042d68bb6cb → NEWHWID")


def test_the_audit_device_filter_finds_an_edit_by_a_mac_in_another_notation(admin_client_, sample_device, make_device):
    other = make_device("other", hwid="OTHER", macs=["00:50:56:00:00:01"])
    edit(admin_client_, sample_device, owner_name="Someone")
    edit(admin_client_, other, owner_name="Someone else")
    log = admin_client_.get(reverse("devices:audit-log"), {"device": "000C.29F2.7A30", "verb": "edited"})
    body = log.content.decode()
    assert ">ws-042</a>" in body and ">other</a>" not in body
