"""The cloud failing: down for two minutes, then refusing our credentials. Sending pauses, every
page says so, and it resumes with nothing lost and no flood of requests meanwhile."""

from __future__ import annotations

import signal
import time

import pytest

from devices.tests.deployment.clients import PAUSED
from devices.tests.deployment.processes import wait_until
from devices.tests.deployment.stack import LIMIT, WINDOW

pytestmark = pytest.mark.integration

OUTAGE = 120.0  # seconds, as the issue asks: real time, not scaled
JOB = 40
# Requests that reach the cloud during the outage. With the production retry settings a probe
# follows a pause of a quarter of the time failing so far (from 1 s): about 20 in two minutes,
# where the budget alone would allow 600.
MOST_PROBES = 30
CREDENTIALS_ADVICE = "Check GEARS_CLIENT_ID / GEARS_CLIENT_SECRET"


def pages(device: int) -> list[str]:
    """The device list, a device's page, the Upstream page and the overview."""
    return ["/devices/", f"/devices/{device}/", "/devices/upstream/", "/"]


def test_two_minutes_of_outage_pause_sending_on_every_page_and_it_resumes_without_a_flood_or_a_loss(
        deployment, simulator, outbox):
    # The outage lasts real minutes, so the pauses follow the production settings, not scaled ones.
    deployment.processes.env.update(GEARS_RETRY_BASE="30", GEARS_RETRY_CAP="1800")
    deployment.start(clusters=2)
    operator = deployment.operator()
    devices = outbox.device_ids(JOB)
    operator.bulk("exempt_all", devices)
    wait_until(lambda: outbox.statuses()["succeeded"] >= 10, 60, "10 actions to succeed")

    simulator.faults(down=True)
    down_at = time.time()
    wait_until(lambda: outbox.pause()[0] == "failures", 30, "the circuit to open")
    time.sleep(30)
    # Between one pause's end and its probe's failure the pause is not in force; the pages may
    # miss it for that instant, so each is given a few seconds.
    for path in pages(devices[-1]):
        wait_until(lambda: PAUSED in operator.page(path), 5, f"{path} to say sending is paused")  # noqa: B023 - called within this iteration
    time.sleep(max(0.0, down_at + OUTAGE - time.time()))
    simulator.faults(down=False)
    up_at = time.time()

    wait_until(lambda: outbox.all_final(JOB), 120, "every action to reach a final state after the outage")
    log = simulator.stats()["request_log"]
    during = [r for r in log if down_at <= r["time"] < up_at]
    resumed = min(r["time"] for r in log if r["time"] >= up_at and r["status"] == 200) - up_at

    assert outbox.statuses() == {"succeeded": JOB}
    assert simulator.exemptions(outbox.hwids(devices)) == {"all"}
    assert 1 <= len(during) <= MOST_PROBES, [(round(r["time"] - down_at, 1), r["path"]) for r in during]
    assert resumed <= OUTAGE / 4 + 10  # a pause is at most a quarter of the time failing
    assert simulator.stats()["rate_limited"] == 0
    assert outbox.pause() == ("", "")
    assert PAUSED not in operator.page("/devices/upstream/")
    # Logged once when the pause starts and once when sending resumes, not once per probe.
    clusters = deployment.processes.log_text("cluster")
    assert clusters.count("upstream paused") == 1, clusters.count("upstream paused")
    assert clusters.count("sending resumes") == 1
    print(f"{len(during)} requests during the {OUTAGE:.0f} s outage "
          f"(the budget allows {OUTAGE / WINDOW * LIMIT:.0f}); the first answer {resumed:.1f} s after")


def test_refused_credentials_pause_sending_with_advice_on_every_page_and_fixing_them_resumes(
        deployment, simulator, outbox):
    deployment.processes.env["GEARS_CLIENT_SECRET"] = "not-the-secret"
    deployment.start(clusters=1)
    operator = deployment.operator()
    device = outbox.device_ids(1)[0]
    operator.click(device, "exempt_critical")

    wait_until(lambda: outbox.pause()[0] == "credentials", 30, "sending to pause for the credentials")
    for path in pages(device):
        assert CREDENTIALS_ADVICE in operator.page(path), path
    time.sleep(3)  # the pause holds: nobody asks the token endpoint again, nothing is sent
    assert outbox.statuses("exempt_critical") == {"queued": 1}
    stats = simulator.stats()
    assert stats["token_grants"] == 0
    assert [r["status"] for r in stats["request_log"]] == [401]

    # The fix: the right secret in the environment, the processes restarted, and Resume on the Upstream page.
    deployment.processes.env["GEARS_CLIENT_SECRET"] = "gearsdash-demo-secret"
    for name in ("cluster-1", "site"):
        deployment.processes.kill(name, signal.SIGTERM)
    deployment.start_site()
    deployment.start_cluster(1)
    operator = deployment.operator()
    assert operator.post("/devices/upstream/resume/", {}).status_code == 302
    wait_until(lambda: outbox.statuses("exempt_critical") == {"succeeded": 1}, 60, "the click to go out")
    for path in pages(device):
        assert CREDENTIALS_ADVICE not in operator.page(path), path
    assert simulator.stats()["rate_limited"] == 0
