"""Three django-q2 clusters, the site under gunicorn, PostgreSQL and Redis, as separate processes:
a backlog of 300 actions drains within the cloud's limit even when a cluster dies mid-send."""

from __future__ import annotations

import os
import time

import pytest

from devices.tests.deployment.processes import wait_until
from devices.tests.deployment.stack import LIMIT, SIM_DEVICES

pytestmark = pytest.mark.integration

BACKLOG = SIM_DEVICES + 3  # and three devices the cloud does not know


def cluster_sending(stack, outbox) -> str | None:
    """The name of a cluster one of whose workers holds a claimed action right now."""
    groups = {}
    for pid in outbox.claimers():
        try:
            groups[os.getpgid(pid)] = pid
        except ProcessLookupError:
            continue
    for name, process in stack.processes.running.items():
        if name.startswith("cluster-") and process.pid in groups:
            return name
    return None


def test_a_backlog_of_300_drains_across_three_clusters_without_a_429_or_a_loss_when_one_is_killed(
        deployment, simulator, outbox):
    deployment.start(clusters=3)
    operator = deployment.operator()

    job = operator.bulk("exempt_all")
    assert sum(outbox.statuses().values()) == BACKLOG

    # Mid-run: kill (SIGKILL, the whole group) a cluster caught sending, then start it again.
    wait_until(lambda: outbox.statuses()["succeeded"] >= 60, 120, "60 actions to succeed")
    victim = wait_until(lambda: cluster_sending(deployment, outbox), 60, "a cluster caught sending", every=0.05)
    deployment.processes.kill(victim)
    killed_at = time.monotonic()
    deployment.start_cluster(int(victim.removeprefix("cluster-")))

    wait_until(lambda: outbox.all_final(BACKLOG), 300, "every action to reach a final state")
    drained_in = time.monotonic() - killed_at

    stats = simulator.stats()
    assert stats["rate_limited"] == 0
    assert stats["max_accepted_in_window"] <= LIMIT
    counts = outbox.statuses()
    # Each known device succeeded, each unknown one failed with the cloud's answer: none lost, none stuck.
    assert counts == {"succeeded": SIM_DEVICES, "failed": 3}, counts
    assert {d["exempt"] for d in simulator.devices().values()} == {"all"}
    sent = simulator.action_requests()
    assert len({r["path"] for r in sent}) == BACKLOG
    # At most one ambiguous resend per kill: the action the dead worker held.
    assert simulator.resends() <= 1
    assert outbox.query("SELECT count(*) FROM devices_action WHERE ambiguous")[0][0] <= 1
    assert "Finished" in operator.page(job)
    print(f"drained {BACKLOG} actions; {drained_in:.0f} s after the kill; resends {simulator.resends()}; "
          f"requests {len(sent)}")
