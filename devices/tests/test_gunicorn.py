"""The production server: gunicorn with gearsdash/gunicorn_conf.py serves the site and stops gracefully."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request

from devices.tests.launchers import free_port
from devices.tests.test_settings_env import ROOT, clean_env

GUNICORN = [sys.executable, "-m", "gunicorn", "-c", "python:gearsdash.gunicorn_conf", "gearsdash.wsgi"]


def config_values(tmp_path, **env) -> dict:
    code = ("import json, gearsdash.gunicorn_conf as c; print(json.dumps({k: getattr(c, k, None) for k in "
            "('bind', 'workers', 'threads', 'worker_class', 'timeout', 'graceful_timeout', 'accesslog', "
            "'control_socket_disable', 'forwarded_allow_ips')}))")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=clean_env(tmp_path, **env),
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_the_defaults_serve_localhost_with_two_processes_a_core_and_no_access_log(tmp_path):
    values = config_values(tmp_path)
    assert values["bind"] == ["127.0.0.1:8000"]
    assert values["workers"] == 2 * (os.cpu_count() or 1) + 1
    assert (values["worker_class"], values["threads"]) == ("gthread", 2)
    assert values["timeout"] >= 30 and values["graceful_timeout"] >= 30
    assert values["accesslog"] is None  # the site logs its own line per request
    assert values["control_socket_disable"] is True  # two instances on one machine would share its path


def test_the_environment_sets_the_address_and_the_workers(tmp_path):
    values = config_values(tmp_path, GEARSDASH_BIND="0.0.0.0:9000,unix:/run/gd.sock", GEARSDASH_WORKERS="3",
                           GEARSDASH_THREADS="4", GEARSDASH_FORWARDED_ALLOW_IPS="10.0.0.1,10.0.0.2")
    assert values["bind"] == ["0.0.0.0:9000", "unix:/run/gd.sock"]
    assert (values["workers"], values["threads"]) == (3, 4)
    assert values["forwarded_allow_ips"] == "10.0.0.1,10.0.0.2"


def test_a_bad_worker_count_stops_gunicorn_naming_the_variable(tmp_path):
    result = subprocess.run(GUNICORN + ["--check-config"], cwd=ROOT, capture_output=True, text=True, timeout=60,
                            env=clean_env(tmp_path, GEARSDASH_WORKERS="none"))
    assert result.returncode != 0
    assert "GEARSDASH_WORKERS" in result.stdout + result.stderr


def get(url: str) -> tuple[int, str]:
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.status, response.read().decode()


def test_gunicorn_serves_the_site_logs_one_line_a_page_and_stops_on_sigterm(tmp_path):
    port = free_port()
    env = clean_env(tmp_path, DJANGO_HTTPS="0", GEARSDASH_BIND=f"127.0.0.1:{port}", GEARSDASH_WORKERS="2",
                    GEARSDASH_LOG_FORMAT="json", PYTHONUNBUFFERED="1")
    for command in (["migrate", "--noinput", "-v0"], ["collectstatic", "--noinput", "-v0"]):  # as make serve does
        subprocess.run([sys.executable, "manage.py", *command], cwd=ROOT, env=env, check=True)
    server = subprocess.Popen(GUNICORN, cwd=ROOT, env=env, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                status, body = get(f"http://127.0.0.1:{port}/healthz")
                break
            except OSError:
                assert server.poll() is None and time.monotonic() < deadline, "gunicorn did not start"
                time.sleep(0.3)
        assert status == 200 and json.loads(body)["status"] == "ok"
        status, page = get(f"http://127.0.0.1:{port}/accounts/login/")
        assert status == 200 and "/static/" in page
        css = page.split('href="/static/')[1].split('"')[0]
        assert get(f"http://127.0.0.1:{port}/static/{css}")[0] == 200  # whitenoise serves the collected files
    finally:
        server.send_signal(signal.SIGTERM)
        _, log = server.communicate(timeout=45)
    assert server.returncode == 0, log
    records = [json.loads(line) for line in log.splitlines() if line.startswith("{")]
    access = [r["message"].split(" ")[:3] for r in records if r["logger"] == "gearsdash.access"]
    assert access == [["GET", "/accounts/login/", "200"], ["GET", f"/static/{css}", "200"]]
    assert any(r["message"] == "Shutting down: Master" for r in records)
