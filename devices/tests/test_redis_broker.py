"""django-q2 with the Redis broker (Q_CLUSTER_REDIS_URL): a task enqueued by one process is run by a cluster."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

import redis

from devices.tests.test_settings_env import ROOT, clean_env


def manage(env, *args, timeout=60) -> str:
    result = subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True,
                            timeout=timeout)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().splitlines()[-1] if result.stdout.strip() else ""


def test_a_task_enqueued_through_redis_is_run_by_a_separate_cluster(tmp_path, redis_url):
    env = clean_env(tmp_path, Q_CLUSTER_REDIS_URL=redis_url, DJANGO_HTTPS="0", GEARS_KICK_DRAINER="0")
    manage(env, "migrate", "--noinput", "-v0")
    task_id = manage(env, "shell", "-c", "from django_q.tasks import async_task; print(async_task('math.hypot', 3, 4))")
    queued = redis.Redis.from_url(redis_url)
    assert queued.llen("django_q:gearsdash:q") == 1  # waiting in Redis, not in the database
    queued.close()
    cluster = subprocess.Popen([sys.executable, "manage.py", "qcluster"], cwd=ROOT, env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        found = "None"
        while found == "None" and time.monotonic() < deadline:
            found = manage(env, "shell", "-c", f"from django_q.tasks import result; print(result('{task_id}'))")
            time.sleep(0.5)
    finally:
        cluster.send_signal(signal.SIGTERM)
        _, log = cluster.communicate(timeout=30)
    assert found == "5.0", log
    assert cluster.returncode == 0, log
