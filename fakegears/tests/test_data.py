"""Demo data: deterministic from the seed, realistic identifier formats, every kind present."""

from __future__ import annotations

import inspect
import json
import os
import re
import subprocess
import sys
from dataclasses import asdict
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fakegears.data import SimDevice, generate_devices, is_canonical_mac, normalize_mac

REPO_ROOT = Path(__file__).resolve().parents[2]
CANONICAL_MAC = re.compile(r"[0-9a-f]{2}(:[0-9a-f]{2}){5}")
HEX32 = re.compile(r"[0-9a-f]{32}")
ALNUM16 = re.compile(r"[A-Z0-9]{16}")


def test_generate_devices_signature_is_the_documented_one() -> None:
    signature = inspect.signature(generate_devices)
    assert list(signature.parameters) == ["seed", "count"]
    assert signature.parameters["seed"].default == 42
    assert signature.parameters["count"].default == 40


def test_default_call_gives_40_sim_devices_with_the_documented_fields() -> None:
    devices = generate_devices()
    assert len(devices) == 40
    for device in devices:
        assert isinstance(device, SimDevice)
        assert device.hostname and device.owner_name
        assert re.fullmatch(r"[a-z0-9.]+@example\.com", device.owner_email)
        assert device.exempt in ("none", "critical", "all")
        assert isinstance(device.persistent_agent, bool)
        assert isinstance(device.issues, list)
        assert device.remediation_token


def test_same_seed_gives_identical_devices() -> None:
    assert generate_devices(7, 25) == generate_devices(7, 25)


def test_different_seeds_give_different_devices() -> None:
    assert generate_devices(1) != generate_devices(2)


def test_count_controls_the_number_of_devices() -> None:
    assert generate_devices(42, 0) == []
    assert len(generate_devices(42, 3)) == 3
    assert len(generate_devices(42, 500)) == 500


def test_negative_count_is_rejected() -> None:
    with pytest.raises(ValueError):
        generate_devices(42, -1)


def _devices_json_in_subprocess(hash_seed: str) -> str:
    code = (
        "import json, dataclasses; from fakegears.data import generate_devices; "
        "print(json.dumps([dataclasses.asdict(d) for d in generate_devices(42, 40)]))"
    )
    env = {**os.environ, "PYTHONHASHSEED": hash_seed}
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    )
    return result.stdout.strip()


def test_same_seed_gives_identical_devices_across_processes_with_different_hash_seeds() -> None:
    in_process = json.dumps([asdict(device) for device in generate_devices(42, 40)])
    assert _devices_json_in_subprocess("1") == in_process
    assert _devices_json_in_subprocess("2") == in_process


def test_macs_are_canonical_one_to_three_per_device_and_globally_unique() -> None:
    devices = generate_devices(42, 300)
    all_macs = [mac for device in devices for mac in device.macs]
    assert all(1 <= len(device.macs) <= 3 for device in devices)
    assert all(CANONICAL_MAC.fullmatch(mac) for mac in all_macs)
    assert len(all_macs) == len(set(all_macs))


def test_hwids_use_both_documented_styles_roughly_half_each_and_are_unique() -> None:
    devices = generate_devices(42, 40)
    hex_style = [d for d in devices if HEX32.fullmatch(d.hwid)]
    alnum_style = [d for d in devices if ALNUM16.fullmatch(d.hwid)]
    assert len(hex_style) + len(alnum_style) == 40
    assert 15 <= len(hex_style) <= 25
    assert len({d.hwid for d in devices}) == 40


def test_hostnames_and_remediation_tokens_are_unique() -> None:
    devices = generate_devices(42, 200)
    assert len({d.hostname for d in devices}) == 200
    assert len({d.remediation_token for d in devices}) == 200


@pytest.mark.parametrize("seed", range(30))
def test_every_seed_has_clean_dirty_exempt_and_agentless_devices(seed: int) -> None:
    devices = generate_devices(seed, 40)
    assert any(d.issues for d in devices)
    assert any(not d.issues for d in devices)
    assert any(d.exempt != "none" for d in devices)
    assert any(not d.persistent_agent for d in devices)
    # "a few" without a persistent agent, not most of them
    assert sum(not d.persistent_agent for d in devices) < 20


def test_default_seed_has_devices_with_issues_and_devices_without() -> None:
    devices = generate_devices()
    with_issues = sum(bool(d.issues) for d in devices)
    assert 5 <= with_issues <= 35


@pytest.mark.parametrize(
    "raw",
    [
        "00:0c:29:f2:7a:29",
        "00:0C:29:F2:7A:29",
        "00-0c-29-f2-7a-29",
        "00-0C-29-F2-7A-29",
        "000c.29f2.7a29",
        "000C29F27A29",
    ],
)
def test_normalize_mac_accepts_colon_dash_dotted_and_bare_forms(raw: str) -> None:
    assert normalize_mac(raw) == "00:0c:29:f2:7a:29"


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "00:0c:29:f2:7a",
        "00:0c:29:f2:7a:2g",
        "00:0c-29:f2:7a:29",
        "00:0c:29:f2:7a:29\n",
        "HWID123",
        "00:0c:29:f2:7a:29:00",
    ],
)
def test_normalize_mac_rejects_non_macs(raw: str) -> None:
    assert normalize_mac(raw) is None


def test_is_canonical_mac_only_accepts_lowercase_colon_form() -> None:
    assert is_canonical_mac("00:0c:29:f2:7a:29")
    assert not is_canonical_mac("00:0C:29:F2:7A:29")
    assert not is_canonical_mac("00-0c-29-f2-7a-29")


# database=None: keep hypothesis from writing a .hypothesis/ folder into the repo.
@settings(database=None)
@given(st.binary(min_size=6, max_size=6), st.sampled_from(["colon", "dash", "dotted", "bare"]), st.booleans())
def test_normalize_mac_round_trips_every_notation(raw: bytes, notation: str, upper: bool) -> None:
    digits = raw.hex()
    canonical = ":".join(digits[i : i + 2] for i in range(0, 12, 2))
    text = {
        "colon": canonical,
        "dash": canonical.replace(":", "-"),
        "dotted": ".".join(digits[i : i + 4] for i in range(0, 12, 4)),
        "bare": digits,
    }[notation]
    assert normalize_mac(text.upper() if upper else text) == canonical
