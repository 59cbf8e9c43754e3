"""Management commands: CSV import for automation, the demo loader, the bench generator."""

from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command

from devices.models import Device, MacAddress

HEADER = "name,hwid,macs,owner_name,owner_email,notes\n"


@pytest.fixture
def csv_file(tmp_path):
    def write(text: str, encoding: str = "utf-8"):
        path = tmp_path / "devices.csv"
        path.write_bytes(text.encode(encoding))
        return str(path)

    return write


def test_import_devices_writes_a_good_file(db, csv_file, capsys):
    call_command("import_devices", csv_file(HEADER + "a,H1,00-0C-29-00-00-01,,,\nb,H2,,,,\n"))
    assert Device.objects.count() == 2
    assert "2 created, 0 updated" in capsys.readouterr().out


def test_import_devices_fails_and_writes_nothing_when_a_row_is_bad(db, csv_file, capsys):
    with pytest.raises(CommandError) as caught:
        call_command("import_devices", csv_file(HEADER + "a,H1,,,,\nb,,nonsense,,,\n"))
    assert "nothing was imported" in str(caught.value)
    assert "line 3: 'nonsense' is not a MAC address" in capsys.readouterr().err
    assert not Device.objects.exists()


def test_import_devices_can_take_the_valid_rows_only(db, csv_file):
    call_command("import_devices", csv_file(HEADER + "a,H1,,,,\nb,,nonsense,,,\n"), "--valid-rows-only")
    assert list(Device.objects.values_list("name", flat=True)) == ["a"]


def test_import_devices_dry_run_writes_nothing(db, csv_file, capsys):
    call_command("import_devices", csv_file(HEADER + "a,H1,,,,\n"), "--dry-run")
    assert not Device.objects.exists()
    assert "Would import" in capsys.readouterr().out


def test_import_devices_reports_unreadable_files(db, csv_file, tmp_path):
    with pytest.raises(CommandError, match="not UTF-8"):
        call_command("import_devices", csv_file("name,hwid\nMünchen,H1\n", "latin-1"))
    with pytest.raises(CommandError, match="Cannot read"):
        call_command("import_devices", str(tmp_path / "missing.csv"))


def test_load_demo_matches_the_simulator_and_is_idempotent(db):
    from fakegears.data import generate_devices

    call_command("load_demo")
    simulated = generate_devices(seed=42, count=40)
    assert Device.objects.count() == len(simulated) + 3
    for sim in simulated:
        device = Device.objects.get(name=sim.hostname, hwid=sim.hwid)
        assert [m.address for m in device.ordered_macs] == sim.macs
    snapshot = list(Device.objects.values_list("pk", "updated_at"))
    macs = MacAddress.objects.count()
    call_command("load_demo")
    assert list(Device.objects.values_list("pk", "updated_at")) == snapshot
    assert MacAddress.objects.count() == macs


def test_load_demo_creates_the_demo_users_in_their_roles(db, client):
    call_command("load_demo")
    for username, password, role in [("admin", "admin-demo", "admin"), ("operator", "operator-demo", "operator"), ("viewer", "viewer-demo", "viewer")]:
        response = client.post("/accounts/login/", {"username": username, "password": password})
        assert response.status_code == 302 and response["Location"] == "/"  # the overview
        from django.contrib.auth import get_user_model

        assert list(get_user_model().objects.get(username=username).groups.values_list("name", flat=True)) == [role]


def test_generate_devices_adds_valid_devices(db):
    call_command("generate_devices", "500")
    call_command("generate_devices", "100")
    assert Device.objects.count() == 600
    assert MacAddress.objects.filter(is_primary=True).count() == 600


def test_the_demo_inventory_is_what_the_simulator_knows_plus_three_it_does_not(db):
    """Over real HTTP: each demo device, called as the dashboard will call it."""
    import requests

    from devices.management.commands.load_demo import UNKNOWN_TO_CLOUD
    from fakegears.server import SimulatorConfig, start_simulator

    call_command("load_demo")
    unknown = {record.name for record in UNKNOWN_TO_CLOUD}
    config = SimulatorConfig(limit=1000, window=1, static_token="demo-test-token")
    with start_simulator(config) as sim:
        for device in Device.objects.prefetch_related("macs"):
            value, opt = device.upstream_identifier.value, device.upstream_identifier.opt
            response = requests.get(
                f"{sim.base_url}/o/api/v2.2/devices/{value}/remediation",
                params={"opt": opt, "access_token": "demo-test-token"},
                timeout=5,
            )
            answer = response.json()
            assert response.status_code == 200
            if device.name in unknown:
                assert answer == {"result": 0, "msg": "Device not found"}, device.name
            else:
                assert "remediation_link" in answer or answer == {"result": 0, "msg": "Device has no issues"}, device.name
