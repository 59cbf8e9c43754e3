"""Real processes for the integration suite: each in a process group of its own, its output in a file.

Killing a group (SIGKILL) takes a django-q2 cluster's forked workers with it,
which is what a machine losing a cluster looks like; stopping everything on the
way out leaves no process and no port behind, whatever the test did.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[3]
PYTHON = str(ROOT / ".venv" / "bin" / "python")
# How much of each process's log a failing test prints.
LOG_TAIL = 6000


def wait_until(condition: Callable[[], object], timeout: float, what: str, every: float = 0.25):
    """Poll `condition` until it returns something true; fail naming `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(every)


def answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=2, allow_redirects=False).status_code < 500
    except requests.RequestException:
        return False


class Processes:
    """Starts named processes, kills their groups, and keeps their logs under `log_dir`."""

    def __init__(self, log_dir: Path, env: dict[str, str]):
        self.log_dir = log_dir
        self.env = env
        self.running: dict[str, subprocess.Popen] = {}
        self.logs: dict[str, Path] = {}
        self.starts: dict[str, int] = {}

    def start(self, name: str, argv: list[str], **env: str) -> subprocess.Popen:
        """Start `argv` as `name` in a new session; its stdout and stderr go to <log_dir>/<name>.<n>.log."""
        assert name not in self.running, f"{name} is already running"
        self.starts[name] = self.starts.get(name, 0) + 1
        log = self.log_dir / f"{name}.{self.starts[name]}.log"
        self.logs[f"{name}.{self.starts[name]}"] = log
        with open(log, "wb") as out:
            process = subprocess.Popen(argv, cwd=ROOT, env={**self.env, **env}, stdout=out,
                                       stderr=subprocess.STDOUT, start_new_session=True)
        self.running[name] = process
        return process

    def run(self, name: str, argv: list[str], timeout: float = 120, **env: str) -> str:
        """Run `argv` to its end; fail with its output if it fails."""
        result = subprocess.run(argv, cwd=ROOT, env={**self.env, **env}, capture_output=True, text=True,
                                timeout=timeout)
        output = result.stdout + result.stderr
        (self.log_dir / f"{name}.log").write_text(output)
        assert result.returncode == 0, f"{name} failed ({result.returncode}):\n{output[-LOG_TAIL:]}"
        return output

    def kill(self, name: str, sig: int = signal.SIGKILL, timeout: float = 20) -> None:
        """Send `sig` to the whole group of `name`, and wait for its leader (SIGKILL after `timeout`)."""
        process = self.running.pop(name)
        try:
            os.killpg(process.pid, sig)
            process.wait(timeout=timeout)
        except ProcessLookupError:
            pass
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
        # A cluster's workers die with their group; wait until none is left holding a connection.
        wait_until(lambda: not group_alive(process.pid), 10, f"the process group of {name} to end")

    def stop_all(self, grace: float = 3) -> None:
        """SIGTERM every group, SIGKILL what is left after `grace` s: called in a finally, it must not raise."""
        for process in self.running.values():
            signal_group(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline and any(group_alive(p.pid) for p in self.running.values()):
            time.sleep(0.1)
        for process in self.running.values():
            signal_group(process.pid, signal.SIGKILL)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
        self.running.clear()

    def report(self) -> str:
        """The end of every log, for a failing test's output."""
        parts = []
        for name, path in self.logs.items():
            text = path.read_text(errors="replace") if path.exists() else "(no log)"
            parts.append(f"----- {name} ({path}) -----\n{text[-LOG_TAIL:]}")
        return "\n".join(parts)

    def log_text(self, prefix: str) -> str:
        """Everything the processes named `prefix…` wrote, over all their starts."""
        return "".join(p.read_text(errors="replace") for n, p in self.logs.items() if n.startswith(prefix) and p.exists())


def signal_group(pgid: int, sig: int) -> None:
    try:
        os.killpg(pgid, sig)
    except ProcessLookupError:
        pass


def group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie leader keeps the group "alive" until reaped; members that are zombies do not count.
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[2]) == pgid and fields[0] != "Z":
                return True
    return False
