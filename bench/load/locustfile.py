"""Load on the site as operators use it, for `locust --headless`; bench/load_run.py prepares and drives it.

Two user classes, picked on locust's command line:
- `Browse`: the device list, a search as typed (htmx), a device's page and
  its action buttons (htmx POSTs with the page's CSRF token).
- `SameClick`: operators who all have one device's page open and press the
  same button at the same moment (a gevent event releases them together).

GD_LOAD_PLAN names a JSON file written by bench/load/db_steps.py: the
operators' session keys (logged in beforehand: the run measures the pages,
not password hashing), the devices' ids, search terms, the race's device,
and where to write the final figures (locust's stats at the end, 5xx, the race's
answers).
"""

from __future__ import annotations

import itertools
import json
import os
import random
import re
from collections import Counter

import gevent
from gevent.event import Event
from locust import HttpUser, between, constant, events, task
from locust.exception import StopUser

with open(os.environ["GD_LOAD_PLAN"]) as plan_file:
    PLAN = json.load(plan_file)

# The token base.html hands htmx for every request (hx-headers on <body>).
CSRF = re.compile(r'"X-CSRFToken": "([^"]+)"')
QUEUED = re.compile(r"queued for |was already waiting for ")
KINDS = ("dhcprenew", "exempt_critical", "exempt_all", "unexempt")

server_errors: Counter[str] = Counter()
transport_errors: Counter[str] = Counter()
race_answers: Counter[str] = Counter()
browse_sessions = itertools.cycle(PLAN["browse_sessions"])
race_sessions = iter(PLAN["race_sessions"])
race_ready, race_go = [0], Event()


@events.request.add_listener
def count_errors(name, response, exception, **kwargs) -> None:
    status = getattr(response, "status_code", 0) or 0
    if status >= 500:
        server_errors[f"{name} {status}"] += 1
    elif exception is not None and not status:
        transport_errors[f"{name}: {type(exception).__name__}"] += 1


def final_stats(environment) -> list[dict]:
    """Locust's figures at the end, per endpoint and in all: the CSV file is rewritten only once a second."""
    stats = environment.stats
    return [{"Name": entry.name, "Request Count": entry.num_requests, "Failure Count": entry.num_failures,
             "50%": round(entry.get_response_time_percentile(0.5)), "95%": round(entry.get_response_time_percentile(0.95)),
             "Requests/s": entry.total_rps}
            for entry in [*sorted(stats.entries.values(), key=lambda e: e.name), stats.total]]


@events.quitting.add_listener
def write_results(environment, **kwargs) -> None:
    with open(PLAN["results"], "w") as out:
        json.dump({"server_errors": server_errors, "transport_errors": transport_errors, "race": race_answers,
                   "stats": final_stats(environment)}, out)


class Operator(HttpUser):
    abstract = True

    def log_in(self, session_key: str, page: str, name: str) -> None:
        """Carry the operator's session, open `page` and keep its CSRF token for the POSTs."""
        self.client.cookies.set(PLAN["session_cookie"], session_key)
        response = self.client.get(page, name=name)
        found = CSRF.search(response.text)
        if response.status_code != 200 or found is None:
            raise StopUser()  # a user without a token cannot click; a non-200 counts as a failed request
        self.csrf = found[1]

    def press(self, device_id: int, kind: str, name: str, target: str = "device-actions"):
        headers = {"HX-Request": "true", "HX-Target": target, "X-CSRFToken": self.csrf}
        with self.client.post(f"/devices/{device_id}/actions/", {"kind": kind}, headers=headers,
                              name=name, catch_response=True) as response:
            if response.status_code == 200 and not QUEUED.search(response.text):
                response.failure("answered 200 without saying the action was queued")
            return response


class Browse(Operator):
    wait_time = between(0.5, 1.5)  # an operator reads before the next click

    def on_start(self) -> None:
        self.log_in(next(browse_sessions), "/devices/", "list (full page)")
        self.device = self.any_device()

    @staticmethod
    def any_device() -> int:
        low, high = PLAN["device_ids"]
        return random.randint(low, high)

    @task(3)
    def device_list(self) -> None:
        self.client.get(f"/devices/?page={random.randint(1, PLAN['list_pages'])}", name="list (full page)")

    @task(3)
    def search(self) -> None:
        self.client.get("/devices/", params={"q": random.choice(PLAN["search_terms"])},
                        headers={"HX-Request": "true", "HX-Target": "device-table"}, name="search (htmx)")

    @task(3)
    def device_page(self) -> None:
        self.device = self.any_device()
        self.client.get(f"/devices/{self.device}/", name="device page")

    @task(2)
    def action_button(self) -> None:
        # The button on the page the operator last opened.
        self.press(self.device, random.choice(KINDS), "action button (htmx POST)")


class SameClick(Operator):
    wait_time = constant(0)

    def on_start(self) -> None:
        self.log_in(next(race_sessions), f"/devices/{PLAN['race_device']}/", "same click: device page")
        race_ready[0] += 1
        if race_ready[0] == len(PLAN["race_sessions"]):
            race_go.set()
        race_go.wait(timeout=60)

    @task
    def click(self) -> None:
        response = self.press(PLAN["race_device"], PLAN["race_kind"], "same click: the button")
        text = response.text or ""
        race_answers["queued" if "queued for" in text else "already waiting" if "already waiting" in text
                     else f"HTTP {response.status_code}"] += 1
        if sum(race_answers.values()) == len(PLAN["race_sessions"]):
            gevent.spawn_later(0.5, self.environment.runner.quit)
        raise StopUser()
