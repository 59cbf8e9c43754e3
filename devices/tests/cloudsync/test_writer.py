"""One page of the cloud's list into the inventory: pages fetched from the simulator over HTTP, written directly."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from devices.cloudsync import write_page
from devices.models import AuditEntry, Compliance, Device, ExemptMode, MacAddress, RemediationState
from devices.remediation import remediation_is_stale
from devices.upstream import CloudDevice

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
LATER = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)


def write_all(pages, now=NOW):
    return [write_page(page.devices, now=now) for page in pages]


def expected_compliance(sim_device):
    return Compliance.NON_COMPLIANT if sim_device.status == 1 else Compliance.COMPLIANT


def test_a_first_sync_adds_every_cloud_device_with_what_the_cloud_says(start_upstream, fetch_pages):
    sim = start_upstream(devices=120)
    results = write_all(fetch_pages(sim))
    assert sum(r.added for r in results) == Device.objects.count() == 120
    for cloud in sim.state.devices:
        device = Device.objects.get(hwid=cloud.hwid)
        assert device.name == cloud.hostname
        assert [mac.address for mac in device.ordered_macs] == cloud.macs
        assert device.primary_mac == cloud.macs[0]
        assert device.compliance == expected_compliance(cloud)
        assert device.exempt_mode == cloud.exempt
        expected_state = RemediationState.LINK if cloud.issues else RemediationState.NO_ISSUES
        assert device.remediation_state == expected_state
        assert device.cloud_synced_at == NOW and device.in_cloud is True
        assert device.last_seen_at is not None
        # A link from a sync counts as a fetch: no device page spends a request within the TTL.
        assert not remediation_is_stale(device, NOW)
    created = AuditEntry.objects.filter(verb=AuditEntry.Verb.CREATED)
    assert created.count() == 120 and created.filter(username="system").count() == 120


def test_known_devices_get_the_cloud_values_and_keep_the_operators_fields(start_upstream, fetch_pages, make_device):
    sim = start_upstream(devices=60)
    cloud = next(d for d in sim.state.devices if d.issues and d.exempt == "none")
    mine = make_device("front-desk-pc", hwid=cloud.hwid, macs=["02:00:00:00:00:01"], owner_name="Ines",
                       notes="Keep this note.")
    results = write_all(fetch_pages(sim))
    assert sum(r.added for r in results) == 59
    assert sum(r.updated for r in results) == 1
    mine.refresh_from_db()
    assert (mine.name, mine.owner_name, mine.notes) == ("front-desk-pc", "Ines", "Keep this note.")
    assert [mac.address for mac in mine.ordered_macs] == ["02:00:00:00:00:01"]
    assert (mine.compliance, mine.exempt_mode) == (Compliance.NON_COMPLIANT, ExemptMode.NONE)
    assert mine.remediation_state == RemediationState.LINK and mine.remediation_link.startswith(sim.base_url)
    (entry,) = AuditEntry.objects.filter(device=mine, verb="synced")  # the fixture wrote "created"
    assert entry.verb == AuditEntry.Verb.SYNCED
    assert ["compliance", "Not synced yet", "Non-compliant"] in entry.changes
    assert ["remediation_state", "Not fetched yet", "Has issues: remediation link"] in entry.changes


def test_a_sync_of_unchanged_devices_writes_no_timeline_rows_and_a_change_writes_one(start_upstream, fetch_pages):
    sim = start_upstream(devices=60)
    write_all(fetch_pages(sim))
    rows = AuditEntry.objects.count()
    again = write_all(fetch_pages(sim), now=LATER)
    assert AuditEntry.objects.count() == rows
    assert sum(r.updated for r in again) == sum(r.added for r in again) == 0
    assert Device.objects.filter(cloud_synced_at=LATER).count() == 60

    changed = next(d for d in sim.state.devices if d.exempt == "none")
    with sim.state.lock:
        changed.exempt = "critical"
    write_all(fetch_pages(sim), now=LATER)
    (entry,) = AuditEntry.objects.filter(verb=AuditEntry.Verb.SYNCED)
    assert entry.device.hwid == changed.hwid
    assert ["exempt_mode", "Not exempt", "Critical issues exempt"] in entry.changes


def test_a_device_known_only_by_a_mac_is_matched_and_gets_its_hwid(start_upstream, fetch_pages, make_device):
    sim = start_upstream(devices=10)
    cloud = sim.state.devices[3]
    mine = make_device("printer", macs=[cloud.macs[-1]])
    write_all(fetch_pages(sim))
    assert Device.objects.count() == 10
    mine.refresh_from_db()
    assert (mine.name, mine.hwid) == ("printer", cloud.hwid)
    (entry,) = AuditEntry.objects.filter(device=mine, verb="synced")  # the fixture wrote "created"
    assert ["hwid", "", cloud.hwid] in entry.changes


def test_a_mac_another_device_has_stays_with_it_and_is_reported(start_upstream, fetch_pages, make_device):
    sim = start_upstream(devices=10)
    cloud = next(d for d in sim.state.devices if len(d.macs) > 1)
    # Another machine (its own HWID) holds one of the cloud device's MACs.
    other = make_device("other", hwid="OTHERMACHINE0001", macs=[cloud.macs[1]])
    (result,) = write_all(fetch_pages(sim))
    added = Device.objects.get(hwid=cloud.hwid)
    assert cloud.macs[1] not in [mac.address for mac in added.ordered_macs]
    assert MacAddress.objects.get(address=cloud.macs[1]).device == other
    assert any(cloud.macs[1] in note and "'other'" in note for note in result.notes)


def test_what_the_inventory_cannot_store_is_skipped_with_a_note_not_a_crash(db):
    devices = [
        CloudDevice("bad hwid!", "h1", 0, None, None, None, ()),
        CloudDevice("GOODHWID00000001", "line\nbreak", 7, "exempt", "", None, ("01:00:5e:00:00:01", "00:0c:29:00:00:01")),
    ]
    result = write_page(devices, now=NOW)
    assert result.added == 1 and len(result.notes) == 2
    device = Device.objects.get()
    assert device.name == "line break"
    # An undocumented status is no compliance the cloud stated; a bare "exempt" flag is stored as all.
    assert (device.compliance, device.exempt_mode) == (Compliance.UNKNOWN, ExemptMode.ALL)
    assert [mac.address for mac in device.ordered_macs] == ["00:0c:29:00:00:01"]


@pytest.mark.parametrize(("known", "stored"), [(ExemptMode.CRITICAL, ExemptMode.CRITICAL), (None, ExemptMode.ALL),
                                               (ExemptMode.NONE, ExemptMode.ALL)])
def test_the_v2_exempt_flag_keeps_a_known_mode(make_device, known, stored):
    device = make_device("pc", hwid="FLAGGED000000001")
    Device.objects.filter(pk=device.pk).update(exempt_mode=known)
    write_page([CloudDevice("FLAGGED000000001", "pc", 0, "exempt", None, None, ())], now=NOW)
    device.refresh_from_db()
    assert device.exempt_mode == stored


def test_an_exemption_reads_in_the_timeline_as_exempt_not_as_a_device_turned_compliant(start_upstream, fetch_pages):
    # The simulator plays the vendor's rule: an exempt device reports status 0 (docs/upstream/api-notes.md §8).
    sim = start_upstream(devices=20)
    write_all(fetch_pages(sim))
    cloud = next(d for d in sim.state.devices if d.issues and d.exempt == "none")
    with sim.state.lock:
        cloud.exempt = "all"
    write_all(fetch_pages(sim), now=LATER)
    (entry,) = AuditEntry.objects.filter(verb=AuditEntry.Verb.SYNCED)
    assert entry.device.hwid == cloud.hwid
    assert ["compliance", "Non-compliant", "Exempt (issues not counted)"] in entry.changes
    assert ["exempt_mode", "Not exempt", "All issues exempt"] in entry.changes
    assert not any(change[2] == "Compliant" for change in entry.changes)
