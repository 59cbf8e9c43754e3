"""Both readings of an exempt device's remediation answer, synced from the simulator and shown.

The cloud answers the v2 APIs for an exempt device as if it were compliant;
whether its remediation link goes too is not documented
(docs/upstream/api-notes.md §8). Either way the device reads as exempt.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from devices.cloudsync import write_page
from devices.models import Device, RemediationState, Standing

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(("hides", "remediation", "panel_says"), [
    (False, RemediationState.LINK, "its exemption keeps them from being counted"),
    (True, RemediationState.NO_ISSUES, "the cloud may answer so for an exempt device whatever its issues"),
])
def test_an_exempt_device_with_issues_reads_exempt_under_either_reading(
        start_upstream, fetch_pages, viewer_client, settings, hides, remediation, panel_says):
    sim = start_upstream(devices=20, exempt_hides_issues=hides)
    settings.GEARS_BASE_URL = sim.base_url  # its links are the upstream's own
    cloud = next(d for d in sim.state.devices if d.issues and d.exempt == "none")
    with sim.state.lock:
        cloud.exempt = "all"
    for page in fetch_pages(sim):
        write_page(page.devices, now=NOW)
    device = Device.objects.get(hwid=cloud.hwid)
    assert (device.compliance, device.remediation_state) == ("compliant", remediation)
    assert device.standing == Standing.EXEMPT
    body = viewer_client.get(device.get_absolute_url()).content.decode()
    status = re.search(r'<section class="card" id="cloud-status".*?</section>', body, re.S)[0]
    assert "Exempt (issues not counted)" in status and ">Compliant<" not in status
    assert panel_says in body
    listed = viewer_client.get("/devices/", {"compliance": "exempt"}).content.decode()
    assert f">{cloud.hostname}</a>" in listed
