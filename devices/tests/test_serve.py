"""`make serve`'s launcher: gunicorn and clusters start together, and SIGTERM stops every one of them."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import urllib.request

from devices.tests.launchers import free_port, launched, processes_with_env
from devices.tests.test_settings_env import ROOT, clean_env


def test_serve_refuses_to_start_on_sqlite_by_accident(tmp_path):
    result = subprocess.run([sys.executable, "manage.py", "serve", "--prepare"], cwd=ROOT, env=clean_env(tmp_path),
                            capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert "DATABASE_URL is not set" in result.stderr and "--allow-sqlite" in result.stderr
    assert not (tmp_path / "gearsdash.sqlite3").exists()  # nothing migrated, nothing started


def test_serve_runs_gunicorn_and_two_clusters_and_sigterm_stops_them_all(tmp_path):
    port = free_port()
    marker = f"GEARSDASH_VAR_DIR={tmp_path}"
    env = clean_env(tmp_path, DJANGO_HTTPS="0", GEARSDASH_BIND=f"127.0.0.1:{port}", GEARSDASH_WORKERS="1",
                    PYTHONUNBUFFERED="1")
    argv = ["manage.py", "serve", "--prepare", "--allow-sqlite", "--clusters", "2"]
    with launched(argv, env, marker) as launcher:
        text = launcher.read_until("Ctrl-C or SIGTERM", timeout=90)
        assert f"serving on 127.0.0.1:{port} with 2 cluster(s)" in text, text
        assert "Database: sqlite; broker: the database" in text
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=10) as response:
            assert json.loads(response.read())["status"] == "ok"
        # the launcher, gunicorn's master and worker, and two clusters of several processes each
        assert len(processes_with_env(marker)) >= 5
        launcher.stop(signal.SIGTERM)
    assert processes_with_env(marker) == []
    assert launcher.process.returncode == 0, launcher.text
    assert "Stopped." in launcher.text


def test_serve_refuses_a_taken_address_before_touching_the_database(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        address = "127.0.0.1:%d" % taken.getsockname()[1]
        result = subprocess.run([sys.executable, "manage.py", "serve", "--prepare", "--allow-sqlite"], cwd=ROOT,
                                env=clean_env(tmp_path, GEARSDASH_BIND=address), capture_output=True, text=True,
                                timeout=60)
    assert result.returncode != 0
    assert f"{address} is already in use" in result.stderr
    assert not (tmp_path / "gearsdash.sqlite3").exists()
