"""What the integration suite needs from the machine: PostgreSQL, Redis, and the tools to run its own.

Without one of them a test skips and says why, except in CI (CI=true), where
it fails: there the suite must have run.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from pathlib import Path

import psycopg
import pytest
import redis

from devices.tests.deployment.processes import Processes, wait_until
from devices.tests.launchers import free_port

MAIN_POSTGRES = "postgres://postgres@127.0.0.1:5432"
MAIN_REDIS = "redis://127.0.0.1:6379"
GUNICORN = Path(__file__).resolve().parents[3] / ".venv" / "bin" / "gunicorn"
PG_VERSION = "15"


def require(ok: bool, reason: str) -> None:
    """Skip with `reason` when `ok` is false, or fail in CI, where nothing may skip."""
    if ok:
        return
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (CI=true: the integration suite may not skip)")
    pytest.skip(reason)


def postgres_answers(url: str) -> bool:
    try:
        with psycopg.connect(f"{url}/postgres", connect_timeout=3):
            return True
    except psycopg.Error:
        return False


def redis_answers(url: str) -> bool:
    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=2).ping())
    except redis.RedisError:
        return False


def require_machine() -> None:
    """PostgreSQL on 127.0.0.1:5432, Redis on 127.0.0.1:6379, and gunicorn in the venv."""
    require(postgres_answers(MAIN_POSTGRES), f"PostgreSQL does not answer at {MAIN_POSTGRES}")
    require(redis_answers(MAIN_REDIS), f"Redis does not answer at {MAIN_REDIS}")
    require(GUNICORN.exists(), f"gunicorn is not installed at {GUNICORN} (pip install -r requirements.txt)")


def unique_name(prefix: str) -> str:
    return f"{prefix}_{os.getpid()}_{uuid.uuid4().hex[:6]}"


def execute(url: str, sql: str) -> None:
    """Run one statement outside a transaction (CREATE/DROP DATABASE need that)."""
    with psycopg.connect(f"{url}/postgres", autocommit=True, connect_timeout=5) as conn:
        conn.execute(sql)


def create_database(url: str, name: str, template: str | None = None) -> str:
    execute(url, f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))
    return f"{url}/{name}"


def copy_database(source: str, target: str) -> None:
    """Copy the database at URL `source` into the empty one at `target`, on another cluster (pg_dump | psql)."""
    dump = subprocess.run(["pg_dump", "--no-owner", source], check=True, capture_output=True, timeout=120)
    subprocess.run(["psql", "-q", "-v", "ON_ERROR_STOP=1", target], input=dump.stdout, check=True,
                   capture_output=True, timeout=120)


def drop_database(url: str, name: str) -> None:
    execute(url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


class RedisDatabase:
    """One numbered Redis database of the machine's server, flushed before and after use."""

    # Numbers 12-15 are left to this suite (other tools use the low ones).
    FIRST, LAST = 12, 15

    def __init__(self, number: int):
        self.url = f"{MAIN_REDIS}/{number}"
        redis.Redis.from_url(self.url).flushdb()

    def close(self) -> None:
        redis.Redis.from_url(self.url).flushdb()


class OwnPostgres:
    """A PostgreSQL cluster of the test's own (pg_createcluster), so restarting it disturbs nobody."""

    def __init__(self):
        require(bool(shutil.which("pg_createcluster")) and bool(shutil.which("pg_ctlcluster")),
                "pg_createcluster/pg_ctlcluster not found (apt-get install postgresql-common postgresql-15)")
        require(os.geteuid() == 0, "creating a PostgreSQL cluster needs root")
        self.name = unique_name("gdit").replace("_", "-")
        self.port = free_port()
        self.url = f"postgres://postgres@127.0.0.1:{self.port}"
        subprocess.run(["pg_createcluster", PG_VERSION, self.name, "--port", str(self.port), "--",
                        "--auth-local=trust", "--auth-host=trust"], check=True, capture_output=True, text=True)
        self.ctl("start")

    def ctl(self, verb: str) -> None:
        subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", PG_VERSION, self.name, verb],
                       check=True, capture_output=True, text=True, timeout=60)
        if verb in ("start", "restart"):
            wait_until(lambda: postgres_answers(self.url), 30, f"PostgreSQL cluster {self.name} to accept connections")

    def drop(self) -> None:
        subprocess.run(["pg_dropcluster", "--stop", PG_VERSION, self.name], capture_output=True, text=True, timeout=60)


class OwnRedis:
    """A redis-server of the test's own, started and stopped like any of its processes."""

    def __init__(self, processes: Processes):
        self.path = shutil.which("redis-server")
        require(bool(self.path), "redis-server not found (apt-get install redis-server)")
        self.processes = processes
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.start()

    def start(self) -> None:
        self.processes.start("redis", [self.path, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                                       "--appendonly", "no", "--daemonize", "no"])
        wait_until(lambda: redis_answers(self.url), 20, "our redis-server to answer")

    def stop(self) -> None:
        self.processes.kill("redis")
