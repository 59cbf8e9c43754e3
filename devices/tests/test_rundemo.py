"""`make run`'s launcher: everything starts, and Ctrl-C leaves no process behind."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def processes_with_env(marker: str) -> list[int]:
    """PIDs whose environment holds `marker` (the launcher's children inherit it)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and int(entry.name) != os.getpid():
            try:
                if marker.encode() in (entry / "environ").read_bytes():
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


def test_rundemo_serves_the_site_and_ctrl_c_stops_everything(tmp_path):
    site, upstream = free_port(), free_port()
    marker = f"GEARSDASH_VAR_DIR={tmp_path}"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "GEARS_", "DATABASE_URL"))}
    env.update(GEARSDASH_VAR_DIR=str(tmp_path), DJANGO_HTTPS="0", DJANGO_SETTINGS_MODULE="gearsdash.settings",
               GEARS_BASE_URL=f"http://127.0.0.1:{upstream}", PYTHONUNBUFFERED="1")
    manage = [sys.executable, "manage.py"]
    for command in (["migrate", "--noinput", "-v0"], ["collectstatic", "--noinput", "-v0"]):  # as make run does
        subprocess.run(manage + command, cwd=ROOT, env=env, check=True)
    launcher = subprocess.Popen(manage + ["rundemo", "--addr", f"127.0.0.1:{site}"], cwd=ROOT, env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    output = []
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            line = launcher.stdout.readline()
            output.append(line)
            if "Press Ctrl-C" in line or not line:
                break
        text = "".join(output)
        assert f"running at http://127.0.0.1:{site}/" in text, text
        assert "admin     / admin-demo" in text
        login = urllib.request.urlopen(f"http://127.0.0.1:{site}/accounts/login/", timeout=5)
        assert login.status == 200
        with pytest.raises(urllib.error.HTTPError):
            urllib.request.urlopen(f"http://127.0.0.1:{site}/nope/", timeout=5)
        stats = urllib.request.urlopen(f"http://127.0.0.1:{upstream}/_sim/stats", timeout=5)
        assert stats.status == 200
        assert len(processes_with_env(marker)) >= 4  # launcher, simulator, cluster, site

        os.killpg(launcher.pid, signal.SIGINT)  # what Ctrl-C in a terminal does
        launcher.wait(timeout=30)
        output.append(launcher.stdout.read())
    finally:
        if launcher.poll() is None:
            os.killpg(launcher.pid, signal.SIGKILL)
            # Its children run in sessions of their own: a failed run must not
            # leave them holding ports.
            for pid in processes_with_env(marker):
                os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 5
    while processes_with_env(marker) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert processes_with_env(marker) == []
    assert launcher.returncode == 0
    # Successful requests (the pages' polls) do not scroll the logins away; failures still show.
    text = "".join(output)
    assert '"GET /accounts/login/ HTTP/1.1" 200' not in text
    assert '"GET /nope/ HTTP/1.1" 404' in text
