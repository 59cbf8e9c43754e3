"""The deployment's own services failing: PostgreSQL restarted during a drain, Redis stopped."""

from __future__ import annotations

import time

import pytest

from devices.tests.deployment.clients import Outbox
from devices.tests.deployment.processes import wait_until
from devices.tests.deployment.services import MAIN_POSTGRES, OwnPostgres, OwnRedis, copy_database, create_database
from devices.tests.deployment.stack import LIMIT

pytestmark = pytest.mark.integration

JOB = 60


@pytest.fixture
def own_postgres(deployment):
    cluster = OwnPostgres()
    try:
        yield cluster
    finally:
        deployment.processes.stop_all()  # before the cluster goes, so nothing is left connected to it
        cluster.drop()


def test_a_drain_resumes_after_postgresql_restarts_under_it_and_loses_nothing(
        deployment, simulator, own_postgres, template_database):
    url = create_database(own_postgres.url, "gearsdash")
    copy_database(f"{MAIN_POSTGRES}/{template_database[0]}", url)
    deployment.processes.env["DATABASE_URL"] = url
    deployment.start(clusters=2)
    outbox = Outbox(url)
    operator = deployment.operator()
    devices = outbox.device_ids(JOB)
    job = operator.bulk("exempt_all", devices)

    wait_until(lambda: outbox.statuses()["succeeded"] >= 15, 120, "15 actions to succeed")
    own_postgres.ctl("restart")
    restarted_at = time.monotonic()
    wait_until(lambda: outbox.all_final(JOB), 240, "every action to reach a final state after the restart")
    resumed_in = time.monotonic() - restarted_at

    assert outbox.statuses() == {"succeeded": JOB}
    assert simulator.exemptions(outbox.hwids(devices)) == {"all"}
    stats = simulator.stats()
    assert stats["rate_limited"] == 0 and stats["max_accepted_in_window"] <= LIMIT
    assert "Finished" in operator.page(job)  # the site reconnected too
    print(f"drained {resumed_in:.0f} s after the restart; resends {simulator.resends()}")


def test_with_redis_stopped_a_click_is_recorded_and_goes_out_once_the_schedule_kicks(deployment, simulator, outbox):
    broker = OwnRedis(deployment.processes)
    deployment.processes.env["Q_CLUSTER_REDIS_URL"] = broker.url
    deployment.start(clusters=1)
    operator = deployment.operator()
    device = outbox.device_ids(1)[0]

    broker.stop()
    answer = operator.click(device, "exempt_critical")
    assert answer.status_code == 302  # the page answers: the kick failed quietly
    assert "queued for" in operator.page(f"/devices/{device}/")
    assert outbox.statuses("exempt_critical") == {"queued": 1}
    assert "could not kick the outbox drainer" in deployment.processes.log_text("site")

    broker.start()
    outbox.kick_schedule()  # the one-minute schedule, made due now
    wait_until(lambda: outbox.statuses("exempt_critical") == {"succeeded": 1}, 120,
               "the click to go out once Redis is back")
    assert simulator.exemptions(outbox.hwids([device])) == {"critical"}
    assert simulator.stats()["rate_limited"] == 0
