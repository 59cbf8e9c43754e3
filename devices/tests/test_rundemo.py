"""`make run`'s launcher: everything starts, and Ctrl-C leaves no process behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import urllib.error
import urllib.request

import pytest

from devices.tests.launchers import ROOT, free_port, launched, processes_with_env


def test_rundemo_serves_the_site_and_ctrl_c_stops_everything(tmp_path):
    site, upstream = free_port(), free_port()
    marker = f"GEARSDASH_VAR_DIR={tmp_path}"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "GEARS_", "DATABASE_URL"))}
    env.update(GEARSDASH_VAR_DIR=str(tmp_path), GEARSDASH_DEMO="1", DJANGO_HTTPS="0", DJANGO_SETTINGS_MODULE="gearsdash.settings",
               GEARS_BASE_URL=f"http://127.0.0.1:{upstream}", PYTHONUNBUFFERED="1")
    manage = [sys.executable, "manage.py"]
    for command in (["migrate", "--noinput", "-v0"], ["collectstatic", "--noinput", "-v0"]):  # as make run does
        subprocess.run(manage + command, cwd=ROOT, env=env, check=True)
    with launched(["manage.py", "rundemo", "--addr", f"127.0.0.1:{site}"], env, marker) as launcher:
        text = launcher.read_until("Press Ctrl-C")
        assert f"running at http://127.0.0.1:{site}/" in text, text
        assert "admin     / admin-demo" in text
        login = urllib.request.urlopen(f"http://127.0.0.1:{site}/accounts/login/", timeout=5)
        assert login.status == 200
        with pytest.raises(urllib.error.HTTPError):
            urllib.request.urlopen(f"http://127.0.0.1:{site}/nope/", timeout=5)
        stats = urllib.request.urlopen(f"http://127.0.0.1:{upstream}/_sim/stats", timeout=5)
        assert stats.status == 200
        assert len(processes_with_env(marker)) >= 4  # launcher, simulator, cluster, site
        launcher.stop(signal.SIGINT, group=True, timeout=30)  # what Ctrl-C in a terminal does
    assert processes_with_env(marker) == []
    assert launcher.process.returncode == 0
    # Successful requests (the pages' polls) do not scroll the logins away; failures still show.
    assert "GET /accounts/login/ 200" not in launcher.text
    assert "WARNING gearsdash.access: GET /nope/ 404" in launcher.text
