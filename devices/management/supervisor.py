"""Children started together and stopped together: the launchers `rundemo` and `serve` share it.

Each child runs in its own process group. Ctrl-C (or SIGTERM) stops them in
reverse order, waiting for each, so no process is left behind; if one of them
dies, the others are stopped too and the exit status says so.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

STOP_TIMEOUT = 10.0
# Statuses of a child that stopped because it was asked to.
STOPPED_AS_ASKED = (0, -signal.SIGTERM, -signal.SIGINT)


def in_use(host: str, port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


class Supervisor:
    """Starts named children, watches them, and stops them all on a signal or when one dies."""

    def __init__(self, cwd: Path, write: Callable[[str], None], warn: Callable[[str], None],
                 stop_timeout: float = STOP_TIMEOUT) -> None:
        self.cwd, self.write, self.warn, self.stop_timeout = cwd, write, warn, stop_timeout
        self.children: list[tuple[str, subprocess.Popen]] = []
        self.stopping = False
        signal.signal(signal.SIGINT, self.stop)
        signal.signal(signal.SIGTERM, self.stop)

    def stop(self, signum=None, frame=None) -> None:
        self.stopping = True

    def start(self, name: str, argv: list[str], env: dict[str, str] | None = None) -> None:
        self.children.append((name, subprocess.Popen(argv, cwd=self.cwd, start_new_session=True, env=env)))

    def wait_until_up(self, url: str, timeout: float = 60.0) -> bool:
        """True once `url` answers; False if a child died, a stop was asked for, or time ran out."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and not self.stopping:
            if any(child.poll() is not None for _, child in self.children):
                return False
            try:
                urllib.request.urlopen(url, timeout=2).close()
                return True
            except urllib.error.HTTPError:
                return True  # it answered
            except (urllib.error.URLError, OSError):
                time.sleep(0.3)
        return False

    def watch(self) -> None:
        """Until a signal comes or a child exits."""
        while not self.stopping:
            for name, child in self.children:
                if child.poll() is not None:
                    self.warn(f"{name} exited with status {child.returncode}; stopping the rest.")
                    self.stopping = True
                    break
            time.sleep(0.3)

    def stop_all(self) -> None:
        # Signal each child's main process only: the qcluster parent stops its
        # own workers, and stalls if they are killed under it.
        for _name, child in reversed(self.children):
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        for name, child in reversed(self.children):
            try:
                child.wait(timeout=self.stop_timeout)
            except subprocess.TimeoutExpired:
                self.warn(f"{name} did not stop in {self.stop_timeout:g} s; killing it.")
                child.kill()
                child.wait()
            try:
                os.killpg(child.pid, signal.SIGKILL)  # anything it left behind
            except (ProcessLookupError, PermissionError):
                pass
        self.write("Stopped.")

    def exit_if_failed(self) -> None:
        if any(child.returncode not in STOPPED_AS_ASKED for _, child in self.children):
            sys.exit(1)
