"""The deployment under test: the simulator, the site under gunicorn and django-q2 clusters, all processes.

Every process reads its settings from the environment, as in production
(gearsdash.settings, not the test settings). The limits are scaled: 10 calls
per 2 s instead of per minute, retries and timeouts in seconds.
"""

from __future__ import annotations

import os
from pathlib import Path

from devices.tests.deployment.clients import SiteUser
from devices.tests.deployment.processes import PYTHON, Processes, answers, wait_until
from devices.tests.deployment.services import GUNICORN
from devices.tests.launchers import free_port

# The simulator's demo devices (same seed as load_demo), plus the three it does not know: 300 in all.
SEED, SIM_DEVICES = 42, 297
LIMIT, WINDOW = 10, 2
OPERATOR = ("operator", "operator-demo")

SCALED = {
    "DJANGO_SETTINGS_MODULE": "gearsdash.settings",
    "DJANGO_HTTPS": "0",
    "DJANGO_SECRET_KEY": "integration-suite-" + "k" * 40,
    # Production settings name their upstream and its credentials: the simulator's own. Each Stack points
    # GEARS_BASE_URL at its simulator; preparing the template database (migrate, load_demo) calls no cloud.
    "GEARS_BASE_URL": "http://127.0.0.1:9",
    "GEARS_CLIENT_ID": "gearsdash-demo",
    "GEARS_CLIENT_SECRET": "gearsdash-demo-secret",
    "GEARS_RATE_LIMIT": f"{LIMIT}/{WINDOW}",
    "GEARS_TIMEOUT": "2",
    "GEARS_CONNECT_TIMEOUT": "1",
    "GEARS_RETRY_BASE": "0.5",
    "GEARS_RETRY_CAP": "5",
    "GEARS_BATCH_SIZE": "1",  # every action its own request: 300 requests for 300 actions
    "GEARS_SYNC_INTERVAL": "0",  # no cloud sync spends the budget the assertions count
    "GEARS_DRAIN_RUNTIME": "20",
    "Q_CLUSTER_WORKERS": "2",
    "GEARSDASH_LOG_LEVEL": "INFO",
    # django-q2's "running" line (INFO) tells that a cluster has started.
    "GEARSDASH_QUEUE_LOG_LEVEL": "INFO",
    "PYTHONUNBUFFERED": "1",
}


def base_env(var_dir: Path) -> dict[str, str]:
    """This process's environment without any of the settings' variables, plus the scaled ones."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("DJANGO_", "GEARS_", "GEARSDASH_", "Q_CLUSTER_", "DATABASE_URL"))}
    return {**env, **SCALED, "GEARSDASH_VAR_DIR": str(var_dir)}


def manage(*args: str) -> list[str]:
    return [PYTHON, "manage.py", *args]


def prepare_database(processes: Processes) -> None:
    """Migrate the database of DATABASE_URL and load the simulator's devices and the demo users."""
    processes.run("migrate", manage("migrate", "--noinput", "-v0"), timeout=300)
    processes.run("load_demo", manage("load_demo", "--seed", str(SEED), "--devices", str(SIM_DEVICES)))


class Stack:
    """One deployment: `processes` runs it, `env` (DATABASE_URL, Q_CLUSTER_REDIS_URL…) configures it."""

    def __init__(self, processes: Processes):
        self.processes = processes
        self.sim_port = free_port()
        self.sim_url = f"http://127.0.0.1:{self.sim_port}"
        self.site_port = free_port()
        self.site_url = f"http://127.0.0.1:{self.site_port}"
        processes.env["GEARS_BASE_URL"] = self.sim_url

    def start_simulator(self) -> None:
        self.processes.start("simulator", [PYTHON, "-m", "fakegears", "--port", str(self.sim_port),
                                           "--limit", str(LIMIT), "--window", str(WINDOW), "--seed", str(SEED),
                                           "--devices", str(SIM_DEVICES)])
        wait_until(lambda: answers(f"{self.sim_url}/_sim/health"), 20, "the simulator to answer")

    def start_site(self, **env: str) -> None:
        # The production configuration, as `make serve` runs it; two workers fit this machine's cores.
        env = {"GEARSDASH_BIND": f"127.0.0.1:{self.site_port}", "GEARSDASH_WORKERS": "2", **env}
        self.processes.start("site", [str(GUNICORN), "-c", "python:gearsdash.gunicorn_conf",
                                      "gearsdash.wsgi:application"], **env)
        wait_until(lambda: answers(f"{self.site_url}/accounts/login/"), 60, "gunicorn to serve the login page")

    def start_cluster(self, number: int, **env: str) -> None:
        """Start `manage.py qcluster` as cluster-<number>; wait until it says it runs."""
        name = f"cluster-{number}"
        self.processes.start(name, manage("qcluster"), **env)
        started = self.processes.starts[name]
        log = self.processes.logs[f"{name}.{started}"]
        wait_until(lambda: "running" in log.read_text(errors="replace"), 60, f"{name} to start")

    def start(self, clusters: int = 1) -> None:
        """The simulator, the site, and `clusters` clusters."""
        self.start_simulator()
        self.start_site()
        for number in range(1, clusters + 1):
            self.start_cluster(number)

    def operator(self) -> SiteUser:
        """A logged-in session of the demo operator."""
        return SiteUser(self.site_url, *OPERATOR)
