"""The overview at `/`: counts that link to the filtered list, the budget chart, activity, failures."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.urls import reverse

from devices import outbox
from devices.models import Action, CloudSync, Device, UpstreamAttempt
from gearsdash.env import RateLimit

NOW = datetime(2026, 3, 2, 9, 30, 20, tzinfo=UTC)


@pytest.fixture
def at_now(settings):
    """The outbox's clock (and so the page's) stands at NOW."""
    settings.GEARS_CLOCK = "local"
    with time_machine.travel(NOW, tick=False):
        yield NOW


def count_link(body: str, query: str) -> str:
    """The text of the count link to the list filtered by `query`."""
    match = re.search(rf'<a href="/devices/\?{re.escape(query)}"[^>]*>(.*?)</a>', body)
    assert match, f"no link to ?{query}"
    return re.sub(r"<[^>]+>", "", match[1])


def test_the_counts_link_to_the_list_filtered_by_what_they_count(viewer_client, make_device, at_now):
    for n, (compliance, exempt, remediation) in enumerate([
        ("non_compliant", "all", "link"), ("non_compliant", None, "unknown"), ("compliant", "none", "no_issues"),
    ]):
        device = make_device(f"ws-{n}", hwid=f"HWID{n}")
        Device.objects.filter(pk=device.pk).update(compliance=compliance, exempt_mode=exempt,
                                                   remediation_state=remediation,
                                                   remediation_link="https://x.example/r" if remediation == "link" else "")
    Device.objects.filter(name="ws-0").update(cloud_missing_since=at_now - timedelta(days=1),
                                              last_seen_at=at_now - timedelta(days=8))
    Device.objects.filter(name="ws-1").update(last_seen_at=at_now - timedelta(days=6))
    body = viewer_client.get("/").content.decode()
    assert count_link(body, "compliance=non_compliant") == "2 Non-compliant"
    assert count_link(body, "compliance=compliant") == "1 Compliant"
    assert count_link(body, "compliance=exempt") == "0 Exempt (issues not counted)"
    assert count_link(body, "compliance=unknown") == "0 Not synced yet"
    assert count_link(body, "exempt=all") == "1 All issues exempt"
    assert count_link(body, "exempt=none") == "1 Not exempt"
    assert count_link(body, "exempt=critical") == "0 Critical issues exempt"
    assert count_link(body, "exempt=unknown") == "1 Not confirmed yet"
    assert count_link(body, "remediation=link") == "1 Has issues: remediation link"
    assert count_link(body, "remediation=unknown") == "1 Not fetched yet"
    assert count_link(body, "cloud=missing") == "1 Not in the cloud"
    # ws-0 was last seen 8 days ago, ws-2 never (imported, never reported): each has its own figure and list.
    assert count_link(body, "unseen_days=7") == "1 Not seen for 7 days"
    listed = viewer_client.get("/devices/", {"unseen_days": "7"}).content.decode()
    assert ">ws-0</a>" in listed and ">ws-2</a>" not in listed and ">ws-1</a>" not in listed
    assert count_link(body, "seen=never") == "1 Never seen"
    never = viewer_client.get("/devices/", {"seen": "never"}).content.decode()
    assert ">ws-2</a>" in never and ">ws-0</a>" not in never and ">ws-1</a>" not in never


def attempt(at: datetime, outcome=UpstreamAttempt.Outcome.OK) -> UpstreamAttempt:
    return UpstreamAttempt.objects.create(started_at=at, finished_at=at, outcome=outcome, worker="w")


def test_the_chart_counts_requests_per_minute_and_per_hour_against_the_limit(viewer_client, settings, at_now):
    settings.GEARS_RATE_LIMIT = RateLimit(10, 60)
    minute = at_now.replace(second=0)
    attempt(minute)  # three in the minute under way (09:30), one of them failed
    attempt(minute + timedelta(seconds=10))
    attempt(minute + timedelta(seconds=5), UpstreamAttempt.Outcome.TRANSIENT)
    attempt(minute - timedelta(seconds=30))
    for second in range(7):  # the busiest minute, two minutes ago
        attempt(minute - timedelta(minutes=2) + timedelta(seconds=second))
    attempt(minute - timedelta(minutes=60))  # just outside the hour; inside the day
    for second in range(5):  # five hours ago
        attempt(minute - timedelta(hours=5) + timedelta(seconds=second))
    attempt(minute - timedelta(hours=30))  # outside the day
    attempt(minute + timedelta(minutes=1))  # a moment later than now: not counted

    response = viewer_client.get("/")
    hour, day = response.context["hour"], response.context["day"]
    per_minute = {p.start.strftime("%H:%M"): (p.requests, p.failed) for p, _ in hour["rows"]}
    assert len(per_minute) == 60 and list(per_minute)[0] == "08:31" and list(per_minute)[-1] == "09:30"
    assert per_minute["09:30"] == (3, 1) and per_minute["09:29"] == (1, 0) and per_minute["09:28"] == (7, 0)
    assert sum(n for n, _ in per_minute.values()) == 11 == hour["total"]
    per_hour = {p.start.strftime("%H"): (p.requests, p.total) for p, _ in day["rows"]}
    assert len(per_hour) == 24 and list(per_hour)[0] == "10" and list(per_hour)[-1] == "09"
    assert per_hour["09"] == (7, 11) and per_hour["08"] == (1, 1) and per_hour["04"] == (5, 5)
    assert day["total"] == 17
    # Drawn against the limit: 10 a minute, on a scale up to 20 (the line halfway), the busiest bar at 7/20.
    chart = hour["chart"]
    assert (chart.limit, chart.top, chart.limit_y, chart.peak) == (10, 20, 50, 7)
    busiest = next(bar for period, bar in hour["rows"] if period.requests == 7)
    assert (busiest.height, busiest.y) == (35, 65)
    body = response.content.decode()
    assert '<svg class="bars" viewBox="0 0 60 100"' in body and 'role="img"' in body
    assert '<line class="limit" x1="0" x2="60" y1="50.0" y2="50.0"' in body
    # The same numbers as text: the title, and a table a screen reader can read.
    assert "Requests per minute, last hour: 11 requests in all, the busiest minute 7; the limit is 10 per minute." in body
    assert '<th scope="row">09:30</th><td>3</td><td>1</td>' in body
    assert '<th scope="row">09:00</th><td>7</td><td>0.4</td><td>11</td>' in body  # 11 over 31 minutes so far


def test_the_page_shows_backlog_running_jobs_the_last_sync_and_recent_failures(viewer_client, operator, make_device, at_now):
    devices = [make_device(f"lab-{n}", hwid=f"LAB{n}") for n in range(3)]
    job = outbox.enqueue_bulk([d.pk for d in devices], "dhcprenew", user=operator, description="lab")
    Action.objects.filter(device=devices[0]).update(status=Action.Status.SUCCEEDED, finished_at=at_now)
    evil = make_device("<script>alert(1)</script>", hwid="EVIL1")
    failed = outbox.enqueue(evil, "exempt_all", user=operator).action
    Action.objects.filter(pk=failed.pk).update(status=Action.Status.FAILED, finished_at=at_now - timedelta(hours=1),
                                               last_error="The cloud refused it: <b>no</b>")
    old = outbox.enqueue(devices[0], "unexempt", user=operator).action
    Action.objects.filter(pk=old.pk).update(status=Action.Status.FAILED, finished_at=at_now - timedelta(hours=25))
    CloudSync.objects.create(status="succeeded", trigger="schedule", started_at=at_now - timedelta(minutes=5),
                             finished_at=at_now - timedelta(minutes=4), added=12, updated=480, marked_missing=3)
    body = viewer_client.get("/").content.decode()
    assert "<strong>2</strong> actions waiting" in body
    assert f'<a href="/devices/bulk/{job.pk}/">#{job.pk} Renew DHCP</a>' in body
    assert "1 of 3 done" in body and f'value="1" aria-label="Bulk job #{job.pk}: 1 of 3 done"' in body
    assert "12 added, 480 updated, 3 marked not in the cloud" in body
    assert 'Failed in the last 24 hours <span class="muted">1</span>' in body
    assert f'<a href="/devices/{evil.pk}/">&lt;script&gt;alert(1)&lt;/script&gt;</a>' in body
    assert "The cloud refused it: &lt;b&gt;no&lt;/b&gt;" in body
    assert "<script>alert" not in body and "<b>no" not in body


def test_htmx_refreshes_only_the_activity(viewer_client):
    response = viewer_client.get("/", headers={"HX-Request": "true"})
    body = response.content.decode()
    assert response.status_code == 200 and "HX-Request" in response["Vary"]
    assert body.lstrip().startswith("<div id=\"overview-activity\"") and "<html" not in body and "<svg" not in body


def test_the_overview_needs_a_login_and_a_role(client, nobody):
    response = client.get("/")
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))
    client.force_login(nobody)
    assert client.get("/").status_code == 403


def test_the_brand_and_the_menu_lead_to_the_overview(viewer_client):
    body = viewer_client.get(reverse("devices:device-list")).content.decode()
    assert '<a class="brand" href="/">' in body
    assert '<a href="/" >Overview</a>' in body
    assert '<a href="/" aria-current="page">Overview</a>' in viewer_client.get("/").content.decode()


def test_the_page_costs_the_same_queries_for_few_or_many_devices_jobs_and_attempts(
        viewer_client, operator, make_device, at_now):
    def queries() -> int:
        from django.db import connection
        from django.test.utils import CaptureQueriesContext
        with CaptureQueriesContext(connection) as captured:
            assert viewer_client.get("/").status_code == 200
        return len(captured)

    few = queries()
    devices = [make_device(f"ws-{n:02d}", hwid=f"WS{n:02d}") for n in range(30)]
    for n in range(8):
        outbox.enqueue_bulk([d.pk for d in devices[n:n + 5]], "dhcprenew" if n % 2 else "unexempt", user=operator)
    for n in range(200):
        attempt(at_now - timedelta(minutes=n * 7))
    CloudSync.objects.create(status="running", trigger="operator", started_at=at_now, pages_total=10, next_page=4)
    assert queries() <= few + 2  # the count of running jobs and the failures' rows appear once there are some


def test_devices_imported_minutes_ago_are_never_seen_not_unseen_for_seven_days(viewer_client, make_device, at_now):
    make_device("just-imported", hwid="HWIDNEW0001")
    body = viewer_client.get("/").content.decode()
    assert count_link(body, "unseen_days=7") == "0 Not seen for 7 days"
    assert count_link(body, "seen=never") == "1 Never seen"
