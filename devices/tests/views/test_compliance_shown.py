"""Compliance as the pages show it: an exempt device the cloud calls compliant is not shown "Compliant".

The cloud answers the v2 APIs for an exempt device as if it were compliant,
while still reporting its issues (docs/upstream/api-notes.md §8).
"""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from devices.models import Device, RemediationState


@pytest.fixture
def fleet(make_device, settings):
    """An exempt device with issues the cloud reports, a plainly compliant one, a contradicted one, a failing one."""
    now = timezone.now()
    link = settings.GEARS_BASE_URL.rstrip("/") + "/gears/remediation/acct/HWID/token/remediation.html"
    rows = {
        "exempt-pc": ("compliant", "all", RemediationState.LINK),
        "clean-pc": ("compliant", "none", RemediationState.NO_ISSUES),
        "odd-pc": ("compliant", None, RemediationState.LINK),
        "bad-pc": ("non_compliant", "none", RemediationState.LINK),
    }
    made = {}
    for n, (name, (compliance, mode, remediation)) in enumerate(rows.items()):
        device = make_device(name, hwid=f"HWIDSTAND{n:04d}")
        Device.objects.filter(pk=device.pk).update(
            compliance=compliance, exempt_mode=mode, remediation_state=remediation,
            remediation_link=link if remediation == RemediationState.LINK else "",
            remediation_fetched_at=now, last_seen_at=now - timedelta(hours=3), cloud_synced_at=now)
        made[name] = Device.objects.get(pk=device.pk)
    return made


def compliance_cell(body: str, name: str) -> str:
    row = re.search(rf">{name}</a></td>.*?<td data-label=\"Compliance\">(.*?)</td>", body, re.S)
    assert row, f"no row for {name}"
    return row[1]


def listed(client, **params) -> set[str]:
    body = client.get(reverse("devices:device-list"), params).content.decode()
    return set(re.findall(r'<td class="name"><a href="[^"]+">([^<]+)</a>', body))


def test_the_list_shows_an_exempt_device_as_exempt_and_explains_it_once(viewer_client, fleet):
    body = viewer_client.get(reverse("devices:device-list")).content.decode()
    exempt = compliance_cell(body, "exempt-pc")
    assert "Exempt (issues not counted)" in exempt and ">Compliant<" not in exempt
    assert 'aria-describedby="standing-note-exempt"' in exempt and 'title="The cloud reports an exempt device' in exempt
    assert "Compliant, but issues reported" in compliance_cell(body, "odd-pc")
    assert ">Compliant<" in compliance_cell(body, "clean-pc")
    assert ">Non-compliant<" in compliance_cell(body, "bad-pc")
    # The note under the table, which the badges point to (the phone cards are the same cells).
    assert body.count('id="standing-note-exempt"') == 1 and body.count('id="standing-note-issues_reported"') == 1


def test_no_note_is_shown_when_no_row_needs_one(viewer_client, fleet):
    body = viewer_client.get(reverse("devices:device-list"), {"compliance": "compliant"}).content.decode()
    assert "standing-note" not in body


def test_the_compliance_filter_lists_what_the_column_says(viewer_client, fleet):
    assert listed(viewer_client, compliance="compliant") == {"clean-pc"}
    assert listed(viewer_client, compliance="exempt") == {"exempt-pc"}
    assert listed(viewer_client, compliance="issues_reported") == {"odd-pc"}
    assert listed(viewer_client, compliance="non_compliant") == {"bad-pc"}


def test_each_overview_count_opens_a_list_of_exactly_the_devices_counted(viewer_client, fleet):
    body = viewer_client.get("/").content.decode()
    counts = dict((query, int(n)) for query, n in
                  re.findall(r'<a href="/devices/\?(compliance=[a-z_]+)"[^>]*><strong>(\d+)</strong>', body))
    assert counts == {"compliance=unknown": 0, "compliance=compliant": 1, "compliance=exempt": 1,
                      "compliance=issues_reported": 1, "compliance=non_compliant": 1, "compliance=reporting": 0}
    assert "1</strong> Exempt (issues not counted)" in body
    for query, n in counts.items():
        assert len(listed(viewer_client, compliance=query.split("=")[1])) == n, query


def test_the_device_page_shows_the_explained_standing_and_last_seen(viewer_client, fleet):
    body = viewer_client.get(fleet["exempt-pc"].get_absolute_url()).content.decode()
    status = re.search(r'<section class="card" id="cloud-status".*?</section>', body, re.S)[0]
    assert "Exempt (issues not counted)" in status and ">Compliant<" not in status
    assert "The cloud reports an exempt device as compliant whatever its issues" in status
    assert "Last seen" in status and "3\xa0hours ago" in status
    assert "its exemption keeps them from being counted" in body


def test_the_device_page_of_a_device_never_seen_says_never(viewer_client, make_device):
    body = viewer_client.get(make_device("new-pc").get_absolute_url()).content.decode()
    status = re.search(r'<section class="card" id="cloud-status".*?</section>', body, re.S)[0]
    assert "Not synced yet" in status and "Never" in status


def test_the_export_carries_compliance_as_the_list_shows_it(viewer_client, fleet):
    response = viewer_client.get(reverse("devices:device-export"))
    rows = {r["name"]: r for r in csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode()))}
    assert {name: r["compliance"] for name, r in rows.items()} == {
        "exempt-pc": "exempt", "clean-pc": "compliant", "odd-pc": "issues_reported", "bad-pc": "non_compliant"}
    exported = viewer_client.get(reverse("devices:device-export"), {"compliance": "exempt"})
    assert [r["name"] for r in csv.DictReader(io.StringIO(b"".join(exported.streaming_content).decode()))] == ["exempt-pc"]
