"""Configuration: a bad environment value stops start-up and names the variable."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from gearsdash.env import RateLimit, env_bool, env_int, env_rate_limit, env_url

ROOT = Path(__file__).resolve().parents[2]


def clean_env(tmp_path, **overrides) -> dict[str, str]:
    """The process environment without the test run's own Django variables; the demo's upstream
    (GEARSDASH_DEMO) unless a test takes it out."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "GEARS_", "DATABASE_URL"))}
    return {**env, "GEARSDASH_VAR_DIR": str(tmp_path), "DJANGO_SETTINGS_MODULE": "gearsdash.settings",
            "GEARSDASH_DEMO": "1", **overrides}


def test_rate_limit_reads_n_per_w(monkeypatch):
    monkeypatch.setenv("X", "10/60")
    assert env_rate_limit("X", "1/1") == RateLimit(10, 60.0)
    monkeypatch.setenv("X", "10 / 1.5s")
    assert env_rate_limit("X", "1/1") == RateLimit(10, 1.5)


@pytest.mark.parametrize(
    "reader, value",
    [
        (lambda: env_rate_limit("X", "10/60"), "ten"),
        (lambda: env_rate_limit("X", "10/60"), "0/60"),
        (lambda: env_bool("X", False), "maybe"),
        (lambda: env_int("X", 1, minimum=1), "0"),
        (lambda: env_int("X", 1), "1.5"),
        (lambda: env_url("X", "http://a"), "ftp://example.com"),
        (lambda: env_url("X", "http://a"), "gears.opswat.com"),
    ],
)
def test_bad_values_fail_loudly_naming_the_variable(monkeypatch, reader, value):
    monkeypatch.setenv("X", value)
    with pytest.raises(ImproperlyConfigured, match=r"^X"):
        reader()


@pytest.mark.parametrize(
    "name, value",
    [("GEARS_RATE_LIMIT", "fast"), ("DJANGO_DEBUG", "perhaps"), ("GEARS_BASE_URL", "not a url"), ("DATABASE_URL", "nosuch://x"), ("DJANGO_SECRET_KEY", "short"),
     ("DJANGO_DEFAULT_FROM_EMAIL", "gears at example"), ("GEARSDASH_SERVER_LOG_LEVEL", "LOUD"),
     ("GEARSDASH_LOG_FORMAT", "xml"), ("DATABASE_CONN_MAX_AGE", "-1")],
)
def test_start_up_stops_on_a_bad_setting(tmp_path, name, value):
    env = clean_env(tmp_path, **{name: value})
    result = subprocess.run([sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True)
    assert result.returncode != 0
    assert name in result.stderr.splitlines()[-1]


@pytest.mark.parametrize("setting, expected", [(None, "60 True"), ("0", "0 True"), ("300", "300 True")])
def test_database_connections_are_kept_as_long_as_database_conn_max_age_says(tmp_path, setting, expected):
    env = clean_env(tmp_path, DATABASE_URL="postgres://gd@db.example:5432/gd",
                    **({"DATABASE_CONN_MAX_AGE": setting} if setting is not None else {}))
    code = "from django.conf import settings as s; d = s.DATABASES['default']; print(d['CONN_MAX_AGE'], d['CONN_HEALTH_CHECKS'])"
    result = subprocess.run([sys.executable, "manage.py", "shell", "-c", code], cwd=ROOT, env=env, capture_output=True, text=True)
    assert result.stdout.strip().splitlines()[-1] == expected, result.stderr


def test_deploy_checks_are_clean_with_debug_off(tmp_path):
    env = clean_env(tmp_path, DJANGO_DEBUG="0")
    result = subprocess.run([sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"], cwd=ROOT, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


def test_the_secret_key_is_generated_once_and_kept(tmp_path):
    env = clean_env(tmp_path)
    code = "from django.conf import settings; print(settings.SECRET_KEY)"
    keys = [subprocess.run([sys.executable, "manage.py", "shell", "-c", code], cwd=ROOT, env=env, capture_output=True, text=True).stdout.strip().splitlines()[-1] for _ in range(2)]
    assert keys[0] == keys[1] and len(keys[0]) >= 50
    assert oct((tmp_path / "secret_key").stat().st_mode & 0o777) == "0o600"


def test_the_email_sender_comes_from_the_environment(tmp_path):
    env = clean_env(tmp_path, DJANGO_DEFAULT_FROM_EMAIL="Gears console <gears@example.com>")
    code = "from django.conf import settings; print(settings.DEFAULT_FROM_EMAIL)"
    result = subprocess.run([sys.executable, "manage.py", "shell", "-c", code], cwd=ROOT, env=env, capture_output=True, text=True)
    assert result.stdout.strip().splitlines()[-1] == "Gears console <gears@example.com>", result.stderr


def test_production_without_the_upstream_settings_refuses_to_start_naming_them(tmp_path):
    env = clean_env(tmp_path, DJANGO_DEBUG="0")
    del env["GEARSDASH_DEMO"]
    result = subprocess.run([sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True)
    assert result.returncode != 0
    last = result.stderr.splitlines()[-1]
    assert "GEARS_BASE_URL" in last and "GEARS_CLIENT_ID" in last and "GEARS_ACCESS_TOKEN" in last


@pytest.mark.parametrize("credentials", [{"GEARS_CLIENT_ID": "id", "GEARS_CLIENT_SECRET": "secret"},
                                         {"GEARS_ACCESS_TOKEN": "token"}])
def test_production_starts_with_its_upstream_settings(tmp_path, credentials):
    env = clean_env(tmp_path, DJANGO_DEBUG="0", GEARS_BASE_URL="https://gears.example.com", **credentials)
    del env["GEARSDASH_DEMO"]
    result = subprocess.run([sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_production_with_a_url_but_no_credentials_names_the_missing_ones(tmp_path):
    env = clean_env(tmp_path, DJANGO_DEBUG="0", GEARS_BASE_URL="https://gears.example.com")
    del env["GEARSDASH_DEMO"]
    result = subprocess.run([sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True)
    assert result.returncode != 0
    assert "GEARS_CLIENT_ID" in result.stderr.splitlines()[-1]
