"""Talking to the deployment as its users and its operators do: the site over HTTP as a logged-in
operator, the simulator's control API, and the outbox's rows in PostgreSQL."""

from __future__ import annotations

import re
from collections import Counter

import psycopg
import requests

TERMINAL = ("succeeded", "failed", "superseded", "cancelled")
PAUSED = "Sending is paused"


class SiteUser:
    """A browser-like session on the site: logs in, reads pages, presses buttons (CSRF included)."""

    def __init__(self, base_url: str, username: str, password: str):
        self.base_url = base_url
        self.session = requests.Session()
        login = self.session.get(f"{base_url}/accounts/login/", timeout=10)
        assert login.status_code == 200, login.status_code
        answer = self.post("/accounts/login/", {"username": username, "password": password})
        assert answer.status_code == 302, f"login as {username} failed: {answer.status_code}"

    def get(self, path: str) -> requests.Response:
        answer = self.session.get(self.base_url + path, timeout=20)
        assert answer.status_code < 500, f"GET {path} answered {answer.status_code}"
        return answer

    def page(self, path: str) -> str:
        answer = self.get(path)
        assert answer.status_code == 200, f"GET {path} answered {answer.status_code}"
        return answer.text

    def post(self, path: str, data: dict | list) -> requests.Response:
        token = self.session.cookies.get("csrftoken", "")
        answer = self.session.post(self.base_url + path, data=data, headers={"X-CSRFToken": token},
                                   allow_redirects=False, timeout=30)
        assert answer.status_code < 500, f"POST {path} answered {answer.status_code}"
        return answer

    def bulk(self, kind: str, device_ids: list[int] | None = None) -> str:
        """Queue `kind` on the devices ticked (or on every device), confirmed: the job page's path."""
        fields = [("kind", kind), ("confirm", "yes")]
        fields += [("device", str(i)) for i in device_ids] if device_ids else [("select_all_matching", "1")]
        answer = self.post("/devices/bulk/actions/", fields)
        assert answer.status_code == 302 and "/devices/bulk/" in answer.headers["Location"], answer.text[:500]
        return answer.headers["Location"]

    def click(self, device_id: int, kind: str) -> requests.Response:
        """An action button on a device's page."""
        return self.post(f"/devices/{device_id}/actions/", {"kind": kind, "confirm": "yes"})


class Simulator:
    """The simulator's control API (fakegears/README.md, "Control API")."""

    def __init__(self, base_url: str):
        self.base_url = base_url

    def stats(self) -> dict:
        return requests.get(f"{self.base_url}/_sim/stats", timeout=10).json()

    def faults(self, **settings) -> dict:
        answer = requests.post(f"{self.base_url}/_sim/faults", json=settings, timeout=10)
        assert answer.status_code == 200, answer.text
        return answer.json()

    def devices(self) -> dict[str, dict]:
        """The simulated devices by HWID."""
        return {d["hwid"]: d for d in requests.get(f"{self.base_url}/_sim/devices", timeout=10).json()["devices"]}

    def exemptions(self, hwids: list[str]) -> set[str]:
        """The exemption modes the cloud holds for the devices of `hwids`."""
        devices = self.devices()
        return {devices[hwid]["exempt"] for hwid in hwids}

    def action_requests(self) -> list[dict]:
        """Device Action v2.0 requests that reached the endpoint (counted: past auth and the limit)."""
        return [r for r in self.stats()["request_log"]
                if r["counted"] and re.fullmatch(r"/o/api/v2/devices/[^/]+/action", r["path"])]

    def resends(self) -> int:
        """Requests that repeated a device and action the cloud had already received."""
        seen = Counter((r["path"], r["query"].get("types")) for r in self.action_requests())
        return sum(n - 1 for n in seen.values())


class Outbox:
    """The outbox's rows, read straight from the deployment's database."""

    def __init__(self, database_url: str):
        self.url = database_url

    def query(self, sql: str, *params) -> list[tuple]:
        with psycopg.connect(self.url, connect_timeout=5) as conn:
            return conn.execute(sql, params).fetchall()

    def statuses(self, kind: str = "exempt_all") -> Counter:
        """Actions of `kind` by status (page views queue remediation fetches of their own)."""
        return Counter(dict(self.query("SELECT status, count(*) FROM devices_action WHERE kind = %s GROUP BY status",
                                       kind)))

    def all_final(self, expected: int, kind: str = "exempt_all") -> bool:
        counts = self.statuses(kind)
        return sum(counts.values()) == expected and all(s in TERMINAL for s in counts)

    def device_ids(self, limit: int) -> list[int]:
        """The first `limit` devices the cloud knows (the ones with a HWID from the simulator's seed)."""
        rows = self.query("SELECT id FROM devices_device WHERE name NOT IN ('lab-spare-01', 'printer-3f', 'old-kiosk')"
                          " ORDER BY id LIMIT %s", limit)
        return [row[0] for row in rows]

    def hwids(self, device_ids: list[int]) -> list[str]:
        return [hwid for (hwid,) in self.query("SELECT hwid FROM devices_device WHERE id = ANY(%s)", device_ids)]

    def pause(self) -> tuple[str, str]:
        """The pause in force: (its kind, its reason), or ("", "") when sending is not paused."""
        rows = self.query("SELECT pause_kind, block_reason FROM devices_upstreamstate "
                          "WHERE blocked_until > statement_timestamp()")
        return rows[0] if rows else ("", "")

    def claimers(self) -> set[int]:
        """The process ids of workers holding a claimed action now (claimed_by is host:pid:nonce)."""
        rows = self.query("SELECT claimed_by FROM devices_action WHERE status = 'sending'")
        return {int(c.split(":")[1]) for (c,) in rows if c.count(":") == 2}

    def kick_schedule(self) -> None:
        """Make the one-minute drain schedule due now (a test must not wait for its minute)."""
        self.query("UPDATE django_q_schedule SET next_run = statement_timestamp() "
                   "WHERE func = 'devices.outbox.tasks.drain' RETURNING id")
