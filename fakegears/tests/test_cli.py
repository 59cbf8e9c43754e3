"""`python -m fakegears`: the startup line, serving, clean exit on SIGTERM/SIGINT, flag errors."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from fakegears.__main__ import build_parser
from fakegears.tests.support import HTTP_TIMEOUT

REPO_ROOT = Path(__file__).resolve().parents[2]
README = Path(__file__).resolve().parents[1] / "README.md"
LISTENING = re.compile(r"fakegears listening on (http://127\.0\.0\.1:(\d+)) \(client_id=([^)]+)\)")


def launch(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "fakegears", *args],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.fixture
def running() -> Iterator[tuple[subprocess.Popen[str], str, str]]:
    process = launch(
        "--port",
        "0",
        "--seed",
        "7",
        "--devices",
        "12",
        "--limit",
        "3",
        "--window",
        "1",
        "--client-id",
        "cli-client",
        "--client-secret",
        "cli-secret-value",
        "--static-token",
        "cli-static-token",
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    match = LISTENING.fullmatch(line.strip())
    assert match, line
    yield process, line, match.group(1)
    if process.poll() is None:
        process.kill()
        process.wait(timeout=5)


def test_prints_one_listening_line_without_secrets(running: tuple[subprocess.Popen[str], str, str]) -> None:
    _, line, _ = running
    assert "client_id=cli-client" in line
    assert "cli-secret-value" not in line
    assert "cli-static-token" not in line


def test_serves_the_configured_simulator(running: tuple[subprocess.Popen[str], str, str]) -> None:
    _, _, base_url = running
    assert len(requests.get(base_url + "/_sim/devices", timeout=HTTP_TIMEOUT).json()["devices"]) == 12
    token = requests.post(
        base_url + "/o/oauth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": "cli-client",
            "client_secret": "cli-secret-value",
        },
        timeout=HTTP_TIMEOUT,
    )
    assert token.status_code == 200
    statuses = [
        requests.get(
            base_url + "/o/api/v2.2/devices",
            params={"access_token": "cli-static-token"},
            timeout=HTTP_TIMEOUT,
        )
        for _ in range(4)
    ]
    assert [s.status_code for s in statuses] == [200, 200, 200, 429]
    assert statuses[0].headers["X-RateLimit-Limit"] == "3"


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT])
def test_exits_zero_on_sigterm_and_sigint_without_leaking_secrets(
    running: tuple[subprocess.Popen[str], str, str], stop_signal: signal.Signals
) -> None:
    process, _, base_url = running
    requests.get(
        base_url + "/o/api/v2.2/devices", params={"access_token": "cli-static-token"}, timeout=HTTP_TIMEOUT
    )
    process.send_signal(stop_signal)
    stdout, stderr = process.communicate(timeout=10)
    assert process.returncode == 0
    for secret in ("cli-secret-value", "cli-static-token"):
        assert secret not in stdout
        assert secret not in stderr
    assert "Traceback" not in stderr


@pytest.mark.parametrize(
    ("args", "flag"),
    [
        (["--limit", "0"], "--limit"),
        (["--window", "abc"], "--window"),
        (["--window", "0"], "--window"),
        (["--error-rate", "2"], "--error-rate"),
        (["--hang-rate", "-0.1"], "--hang-rate"),
        (["--port", "70000"], "--port"),
        (["--devices", "-3"], "--devices"),
        (["--latency", "nan"], "--latency"),
        (["--token-lifetime", "0"], "--token-lifetime"),
        (["--no-such-flag"], "--no-such-flag"),
        (["--tls-cert", "nowhere.pem", "--tls-key", "nowhere.pem"], "--tls-cert/--tls-key: cannot load them"),
        (["--tls-cert", "nowhere.pem"], "tls_cert and tls_key go together"),
    ],
)
def test_bad_flag_values_exit_non_zero_naming_the_flag(args: list[str], flag: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "fakegears", *args], cwd=REPO_ROOT, capture_output=True, text=True, timeout=30
    )
    assert result.returncode != 0
    assert flag in result.stderr


def test_every_flag_is_documented_in_the_readme() -> None:
    readme = README.read_text(encoding="utf-8")
    flags = [
        option
        for action in build_parser()._actions
        for option in action.option_strings
        if option.startswith("--")
    ]
    assert "--limit" in flags
    missing = [flag for flag in flags if flag != "--help" and f"`{flag}" not in readme]
    assert missing == []


def test_flags_map_onto_simulator_config() -> None:
    from fakegears.__main__ import config_from_args

    config = config_from_args(
        build_parser().parse_args(
            [
                "--host",
                "0.0.0.0",
                "--port",
                "8001",
                "--per-endpoint",
                "--strict-ids",
                "--window",
                "0.5",
                "--remediation-unknown-404",
                "--public-url",
                "http://demo.test",
                "--hang-seconds",
                "2",
            ]
        )
    )
    assert (config.host, config.port, config.window) == ("0.0.0.0", 8001, 0.5)
    assert config.per_endpoint and config.strict_ids and config.remediation_unknown_404
    assert config.public_url == "http://demo.test"
    assert config.hang_seconds == 2.0
    defaults = config_from_args(build_parser().parse_args([]))
    assert (defaults.host, defaults.port, defaults.limit, defaults.window) == ("127.0.0.1", 8001, 10, 60.0)
