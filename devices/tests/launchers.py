"""Running a launcher command (rundemo, serve) in tests: its output up to a line, and no process left behind."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

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


class Launched:
    def __init__(self, process: subprocess.Popen) -> None:
        self.process = process
        self.output: list[str] = []

    @property
    def text(self) -> str:
        return "".join(self.output)

    def read_until(self, wanted: str, timeout: float = 60.0) -> str:
        """The output up to the line holding `wanted` (or its end, or the timeout)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            line = self.process.stdout.readline()
            self.output.append(line)
            if wanted in line or not line:
                break
        return self.text

    def stop(self, signum: int, *, group: bool = False, timeout: float = 60.0) -> None:
        """Send `signum` (to the whole group, as a terminal's Ctrl-C does, if `group`) and read the rest."""
        (os.killpg if group else os.kill)(self.process.pid, signum)
        self.process.wait(timeout=timeout)
        self.output.append(self.process.stdout.read())


@contextmanager
def launched(argv: list[str], env: dict[str, str], marker: str) -> Iterator[Launched]:
    """Start `argv` from the project's root; on the way out, make sure nothing carrying `marker` survives."""
    process = subprocess.Popen([sys.executable, *argv], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        yield Launched(process)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            # Its children run in sessions of their own: a failed run must not leave them holding ports.
            for pid in processes_with_env(marker):
                os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 5
        while processes_with_env(marker) and time.monotonic() < deadline:
            time.sleep(0.2)
