"""gunicorn's configuration: `gunicorn -c python:gearsdash.gunicorn_conf gearsdash.wsgi`.

Everything a deployment changes comes from the environment (docs/production.md).
It reads no Django settings: gunicorn reads it before the application loads.
"""

from __future__ import annotations

import os

from gearsdash.env import env_bool, env_int, env_list, env_log_level, env_str
from gearsdash.logconfig import gunicorn_logging

bind = env_list("GEARSDASH_BIND", ["127.0.0.1:8000"])
# Pages are CPU-bound Python: about two processes a core keep the cores busy while others wait on
# PostgreSQL. Threads are few, so the database connections (workers x threads, each kept
# DATABASE_CONN_MAX_AGE) stay bounded.
workers = env_int("GEARSDASH_WORKERS", 2 * (os.cpu_count() or 1) + 1, minimum=1)
threads = env_int("GEARSDASH_THREADS", 2, minimum=1)
# gthread whatever `threads` is: it keeps idle keep-alive connections off the workers.
worker_class = "gthread"
# A worker process silent this long (no heartbeat) is killed and replaced. With gthread this is a hung
# process, not a slow request: a 100,000-row CSV import (30 s and more) is not cut off.
timeout = env_int("GEARSDASH_TIMEOUT", 30, minimum=1)
# On SIGTERM, requests in flight get this long to finish before workers are killed (an import
# commits batch by batch: one cut off keeps the batches it wrote).
graceful_timeout = env_int("GEARSDASH_GRACEFUL_TIMEOUT", 30, minimum=1)
# A load balancer in front should drop idle connections sooner than this, so it closes them first.
keepalive = env_int("GEARSDASH_KEEPALIVE", 5, minimum=0)
# A worker is replaced after about this many requests, so no slow leak grows without bound.
max_requests = env_int("GEARSDASH_MAX_REQUESTS", 2000, minimum=0)
max_requests_jitter = max_requests // 10
# The proxies whose X-Forwarded-Proto is believed (Django's SECURE_PROXY_SSL_HEADER trusts gunicorn's result).
forwarded_allow_ips = ",".join(env_list("GEARSDASH_FORWARDED_ALLOW_IPS", ["127.0.0.1", "::1"]))

# The site writes one line per request itself (gearsdash.access_log): gunicorn's access log stays off.
accesslog = None
errorlog = "-"
loglevel = env_log_level("GEARSDASH_LOG_LEVEL", "INFO").lower()
# gunicorn's own lines (start, worker boots and timeouts) in the site's format, through the same redaction.
logconfig_dict = gunicorn_logging(fmt=env_str("GEARSDASH_LOG_FORMAT", "plain").lower(), level=loglevel.upper())

# gunicorn 25+ opens a control socket at one fixed path per user: two instances on a machine
# would fight over it. Off unless a path is given.
_control = env_str("GEARSDASH_CONTROL_SOCKET")
control_socket_disable = not _control
if _control:
    control_socket = _control
proc_name = "gearsdash"
preload_app = env_bool("GEARSDASH_PRELOAD", False)
