"""Fixtures of the integration suite: a migrated template database, and a deployment per test.

Each test gets its own database (a copy of the template), its own Redis
database number, free ports, and a log file per process under its tmp dir;
whatever happens, every process group is stopped and the database dropped.
A failing test's report ends with the end of every process's log.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from devices.tests.deployment.clients import Outbox, Simulator
from devices.tests.deployment.processes import Processes
from devices.tests.deployment.services import (
    MAIN_POSTGRES,
    RedisDatabase,
    create_database,
    drop_database,
    require_machine,
    unique_name,
)
from devices.tests.deployment.stack import Stack, base_env, manage, prepare_database
from devices.tests.deployment.template import SharedTemplate


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    processes = getattr(item, "deployment_processes", None)
    if report.failed and processes is not None:
        report.sections.append(("process logs", processes.report()))
    return report


def build_template(log_dir: Path, var_dir: Path) -> dict:
    """Migrate a new database, load the simulator's devices and the demo users, collect the static files."""
    name = unique_name("gd_it_template")
    processes = Processes(log_dir, base_env(var_dir))
    processes.env["DATABASE_URL"] = create_database(MAIN_POSTGRES, name)
    try:
        prepare_database(processes)
        processes.run("collectstatic", manage("collectstatic", "--noinput", "-v0"))
    except BaseException:
        drop_database(MAIN_POSTGRES, name)
        raise
    return {"name": name, "var_dir": str(var_dir)}


@pytest.fixture(scope="session")
def template_database(tmp_path_factory):
    """(name, var dir) of a database migrated once per run, with the simulator's 297 devices, 3 it does
    not know and the demo users; the var dir holds the collected static files."""
    require_machine()
    base = tmp_path_factory.getbasetemp()
    shared = SharedTemplate(base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base)
    built = shared.acquire(lambda: build_template(tmp_path_factory.mktemp("template-logs"),
                                                  tmp_path_factory.mktemp("var")))
    try:
        yield built["name"], Path(built["var_dir"])
    finally:
        shared.release(lambda done: drop_database(MAIN_POSTGRES, done["name"]))


@pytest.fixture
def deployment(request, template_database, tmp_path):
    """A Stack on a copy of the template database and Redis as the broker, not started yet."""
    template, var_dir = template_database
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw")
    broker = RedisDatabase(RedisDatabase.FIRST + int(worker or 0) % (RedisDatabase.LAST - RedisDatabase.FIRST + 1))
    name = unique_name("gd_it")
    processes = Processes(tmp_path, base_env(var_dir))
    request.node.deployment_processes = processes
    processes.env["DATABASE_URL"] = create_database(MAIN_POSTGRES, name, template=template)
    processes.env["Q_CLUSTER_REDIS_URL"] = broker.url
    try:
        yield Stack(processes)
    finally:
        processes.stop_all()
        drop_database(MAIN_POSTGRES, name)
        broker.close()


@pytest.fixture
def simulator(deployment) -> Simulator:
    return Simulator(deployment.sim_url)


@pytest.fixture
def outbox(deployment) -> Outbox:
    return Outbox(deployment.processes.env["DATABASE_URL"])

