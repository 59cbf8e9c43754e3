"""Fixtures for the devices app: users for each role, and devices built explicitly."""

from __future__ import annotations

import os
import shutil

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from devices.inventory import DeviceRecord, save_device
from devices.models import Device, MacAddress
from devices.roles import ADMIN, OPERATOR, VIEWER, ensure_roles

# Playwright's sync API runs an event loop in the test thread; the ORM calls
# made by the same tests are still synchronous and safe.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


def _user(username: str, role: str | None):
    ensure_roles()
    user = get_user_model().objects.create_user(username=username, password="pw-" + username)
    if role:
        user.groups.add(Group.objects.get(name=role))
    return user


@pytest.fixture
def viewer(db):
    return _user("vera", VIEWER)


@pytest.fixture
def operator(db):
    return _user("otto", OPERATOR)


@pytest.fixture
def admin_user(db):
    return _user("ada", ADMIN)


@pytest.fixture
def nobody(db):
    """Logged in, but in no role."""
    return _user("nora", None)


@pytest.fixture
def viewer_client(client, viewer):
    client.force_login(viewer)
    return client


@pytest.fixture
def admin_client_(client, admin_user):
    client.force_login(admin_user)
    return client


@pytest.fixture
def make_device(db):
    def make(name="ws-001", hwid=None, macs=(), owner_name="", owner_email="", notes=""):
        return save_device(None, DeviceRecord(name, hwid, list(macs), owner_name, owner_email, notes))

    return make


@pytest.fixture
def sample_device(make_device):
    return make_device(
        "ws-042",
        hwid="1dc0aaaa292ce801f5379042d68bb6cb",
        macs=["00:0c:29:f2:7a:29", "00:0c:29:f2:7a:30"],
        owner_name="Grace Hopper",
        owner_email="grace@example.com",
    )


@pytest.fixture
def lab_devices(db):
    """`lab_devices(n, hwid=True)`: n devices named lab-…, known by a HWID or by a primary MAC only."""

    def make(count: int, *, hwid: bool = True) -> list[Device]:
        first = Device.objects.count()
        made = Device.objects.bulk_create(
            [Device(name=f"lab-{first + i:05d}", hwid=f"LAB{first + i:08d}" if hwid else None) for i in range(count)])
        if not hwid:
            MacAddress.objects.bulk_create([
                MacAddress(device=d, address="02:00:00:{:02x}:{:02x}:{:02x}".format(*(first + i).to_bytes(3, "big")),
                           is_primary=True)
                for i, d in enumerate(made)])
        return made

    return make


# ------------------------------------------------------------------ browser


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    """Debian's Chromium: Playwright cannot download its own browser here."""
    if not os.path.exists(CHROMIUM):
        message = f"Chromium not found at {CHROMIUM}: apt-get install chromium"
        if os.environ.get("CI"):
            pytest.fail(message)  # in CI a browser test may not skip
        pytest.skip(message)
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "args": [
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
        ],
    }


# ------------------------------------------------------------------ upstream


@pytest.fixture
def start_upstream():
    """Start fakegears in-process on a free port, with any SimulatorConfig fields.

    Every test of the upstream path talks to it over real HTTP.
    """
    from fakegears.server import SimulatorConfig, start_simulator

    running = []

    def start(**config):
        config.setdefault("limit", 1000)
        config.setdefault("window", 1.0)
        sim = start_simulator(SimulatorConfig(**config))
        running.append(sim)
        return sim

    yield start
    for sim in running:
        sim.stop()


@pytest.fixture
def simulator(start_upstream):
    """The simulator with a generous limit (1000 per second) and the demo client."""
    return start_upstream()


@pytest.fixture
def upstream(settings, start_upstream):
    """Start the simulator and point the dashboard at it, scaled for tests:
    a budget of `limit` per `window` (10 per second), retries in tenths of a
    second. `our_limit` lets the dashboard believe in another limit."""
    from gearsdash.env import RateLimit

    def start(limit=10, window=1.0, our_limit=None, **config):
        sim = start_upstream(limit=limit, window=window, **config)
        settings.GEARS_BASE_URL = sim.base_url
        settings.GEARS_ACCESS_TOKEN = ""
        settings.GEARS_CLIENT_ID, settings.GEARS_CLIENT_SECRET = "gearsdash-demo", "gearsdash-demo-secret"
        settings.GEARS_RATE_LIMIT = our_limit or RateLimit(limit, window)
        settings.GEARS_RATE_MARGIN = 0.02
        settings.GEARS_TIMEOUT, settings.GEARS_CONNECT_TIMEOUT = 1.0, 0.5
        settings.GEARS_RETRY_BASE, settings.GEARS_RETRY_CAP = 0.05, 0.2
        settings.GEARS_MAX_ATTEMPTS, settings.GEARS_BREAKER_THRESHOLD = 8, 3
        return sim

    return start


# ------------------------------------------------------------------ Redis


@pytest.fixture
def redis_url():
    """A Redis database for tests (GEARSDASH_TEST_REDIS_URL, default db 7 of 127.0.0.1:6379), emptied first.

    Skips with the reason when Redis is not reachable; in CI (CI=true) it fails instead.
    """
    import redis

    url = os.environ.get("GEARSDASH_TEST_REDIS_URL", "redis://127.0.0.1:6379/7")
    client = redis.Redis.from_url(url, socket_connect_timeout=1)
    try:
        client.flushdb()
    except redis.RedisError as exc:
        message = f"Redis is not reachable at GEARSDASH_TEST_REDIS_URL ({type(exc).__name__}): start redis-server"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    finally:
        client.close()
    return url
