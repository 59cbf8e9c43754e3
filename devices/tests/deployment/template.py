"""The template database, built once per test run and shared by pytest-xdist's workers.

Building it (migrate, the demo devices, collectstatic) is the slowest part of a
run, so the first worker builds it under a file lock and the others reuse it;
the last one to finish drops it.
"""

from __future__ import annotations

import fcntl
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def locked(path: Path) -> Iterator[None]:
    with open(path, "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


class SharedTemplate:
    """What `build` made (a JSON-able dict), shared through `root` by every worker that asks for it."""

    def __init__(self, root: Path):
        self.lock = root / "template.lock"
        self.state = root / "template.json"

    def acquire(self, build: Callable[[], dict]) -> dict:
        with locked(self.lock):
            state = json.loads(self.state.read_text()) if self.state.exists() else {"built": build(), "users": 0}
            state["users"] += 1
            self.state.write_text(json.dumps(state))
            return state["built"]

    def release(self, drop: Callable[[dict], None]) -> None:
        with locked(self.lock):
            state = json.loads(self.state.read_text())
            state["users"] -= 1
            if state["users"]:
                self.state.write_text(json.dumps(state))
            else:
                self.state.unlink()
                drop(state["built"])
