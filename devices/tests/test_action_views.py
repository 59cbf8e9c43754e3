"""Action buttons, live rows, bulk jobs, the Upstream page and the audit log, by role."""

from __future__ import annotations

import csv
import io

import pytest
from django.urls import reverse

from devices import outbox
from devices.models import Action, AuditEntry, BulkJob

HTMX = {"HX-Request": "true"}


@pytest.fixture
def operator_client(client, operator):
    client.force_login(operator)
    return client


def create_url(device) -> str:
    return reverse("devices:action-create", args=[device.pk])


def test_a_viewer_sees_the_history_but_no_buttons_and_may_press_none(viewer_client, sample_device, operator):
    action = outbox.enqueue(sample_device, "dhcprenew", user=operator).action
    page = viewer_client.get(sample_device.get_absolute_url()).content.decode()
    assert "Renew DHCP" in page and "Queued" in page
    assert 'name="kind"' not in page and "Cancel</button>" not in page
    for url, data in [(create_url(sample_device), {"kind": "dhcprenew"}),
                      (reverse("devices:action-cancel", args=[action.pk]), {}),
                      (reverse("devices:action-retry", args=[action.pk]), {}),
                      (reverse("devices:bulk-action"), {"kind": "dhcprenew", "device": [sample_device.pk]}),
                      (reverse("devices:upstream-resume"), {})]:
        assert viewer_client.post(url, data).status_code == 403, url
    assert Action.objects.get(kind="dhcprenew").status == "queued"


def test_an_operator_click_queues_once_and_answers_with_the_panel(operator_client, sample_device):
    headers = {**HTMX, "HX-Target": "device-actions"}
    first = operator_client.post(create_url(sample_device), {"kind": "exempt_critical"}, headers=headers)
    again = operator_client.post(create_url(sample_device), {"kind": "exempt_critical"}, headers=headers)
    assert first.status_code == 200 and "<html" not in first.content.decode()
    assert "Exempt critical issues queued for ws-042" in first.content.decode()
    assert "already waiting" in again.content.decode()
    assert Action.objects.count() == 1
    assert "Critical issues exempt" in first.content.decode()  # the pending mode


def test_a_click_from_the_list_answers_with_a_notice(operator_client, sample_device):
    response = operator_client.post(create_url(sample_device), {"kind": "dhcprenew"}, headers={**HTMX, "HX-Target": "list-notice"})
    assert response.content.decode().strip() == '<p class="message success" role="status">Renew DHCP queued for ws-042.</p>'


def test_exempt_all_without_javascript_asks_first(operator_client, sample_device):
    page = operator_client.post(create_url(sample_device), {"kind": "exempt_all"})
    assert "Exempt all issues on ws-042?" in page.content.decode()
    assert not Action.objects.exists()
    done = operator_client.post(create_url(sample_device), {"kind": "exempt_all", "confirm": "yes"})
    assert done.status_code == 302 and Action.objects.get().kind == "exempt_all"


def test_an_unknown_action_changes_nothing(operator_client, sample_device):
    response = operator_client.post(create_url(sample_device), {"kind": "reboot"}, follow=True)
    assert "Unknown action" in response.content.decode()
    # Only the page view's remediation fetch exists.
    assert list(Action.objects.values_list("kind", flat=True)) == ["remediation"]


def test_a_row_polls_until_the_action_is_final_then_stops(operator_client, sample_device, operator):
    action = outbox.enqueue(sample_device, "dhcprenew", user=operator).action
    url = reverse("devices:action-row", args=[action.pk])
    waiting = operator_client.get(url, headers=HTMX)
    assert waiting.status_code == 200 and 'hx-trigger="every 2s"' in waiting.content.decode()
    assert "~ " in waiting.content.decode()  # an estimated send time
    outbox.cancel(action, user=operator)
    final = operator_client.get(url, headers=HTMX)
    assert final.status_code == 286  # htmx stops polling
    assert "Cancelled" in final.content.decode() and "hx-trigger" not in final.content.decode()


def test_cancel_then_retry_from_the_device_page(operator_client, sample_device, operator):
    action = outbox.enqueue(sample_device, "dhcprenew", user=operator).action
    operator_client.post(reverse("devices:action-cancel", args=[action.pk]), headers={**HTMX, "HX-Target": "device-actions"})
    action.refresh_from_db()
    assert action.status == "cancelled"
    response = operator_client.post(reverse("devices:action-retry", args=[action.pk]), headers={**HTMX, "HX-Target": "device-actions"})
    assert "queued again" in response.content.decode()
    assert Action.objects.filter(status="queued").count() == 1
    refused = operator_client.post(reverse("devices:action-retry", args=[Action.objects.get(status="queued").pk]), follow=True)
    assert "Only a failed or cancelled action can be retried" in refused.content.decode()


def test_bulk_asks_with_the_count_and_an_eta_then_shows_the_job(operator_client, make_device, settings):
    from gearsdash.env import RateLimit

    settings.GEARS_RATE_LIMIT = RateLimit(10, 60)
    for n in range(25):
        make_device(f"lab-{n}", hwid=f"LAB{n}")
    url = reverse("devices:bulk-action")
    confirm = operator_client.post(url, {"kind": "exempt_all", "select_all_matching": "1", "q": "lab"})
    body = confirm.content.decode()
    assert "Exempt all issues on 25 devices?" in body
    assert "10 calls per 60 s, so this takes about" in body and "<strong>2 min</strong>" in body
    assert not Action.objects.exists()
    done = operator_client.post(url, {"kind": "exempt_all", "select_all_matching": "1", "q": "lab", "confirm": "yes"})
    job = BulkJob.objects.get()
    assert done["Location"] == job.get_absolute_url()
    assert job.actions.count() == 25 and job.actions.filter(priority=9).count() == 25
    page = operator_client.get(job.get_absolute_url()).content.decode()
    assert "0</strong> of 25 done" in page and "Estimated to finish" in page
    operator_client.post(reverse("devices:bulk-cancel", args=[job.pk]))
    assert job.actions.filter(status="cancelled").count() == 25
    final = operator_client.get(job.get_absolute_url(), headers=HTMX)
    assert final.status_code == 286 and "25</strong> of 25 done" in final.content.decode()


def test_bulk_with_nothing_selected_queues_nothing(operator_client):
    response = operator_client.post(reverse("devices:bulk-action"), {"kind": "dhcprenew"}, follow=True)
    assert "No devices were selected" in response.content.decode()
    assert not BulkJob.objects.exists()


def test_the_upstream_page_shows_budget_backlog_and_a_pause(viewer_client, sample_device, operator):
    outbox.enqueue(sample_device, "dhcprenew", user=operator)
    outbox.pause("The cloud failed 3 times in a row", 300)
    body = viewer_client.get(reverse("devices:upstream")).content.decode()
    assert "Budget used now <strong>0 / 10</strong>" in body
    assert "Waiting <strong>1</strong>" in body
    assert "Sending is paused" in body and "failed 3 times in a row" in body
    assert "Resume now" not in body  # a viewer cannot


def test_the_audit_log_filters_and_exports(operator_client, make_device, operator, viewer):
    a = make_device("alpha", hwid="A1")
    b = make_device("beta", hwid="B1")
    outbox.enqueue(a, "dhcprenew", user=operator)
    outbox.cancel(outbox.enqueue(b, "exempt_all", user=viewer).action, user=operator)
    page = operator_client.get(reverse("devices:audit-log"), {"verb": "cancelled"}).content.decode()
    assert "beta" in page and "alpha" not in page
    export = operator_client.get(reverse("devices:audit-export"), {"user": "otto"})
    rows = list(csv.reader(io.StringIO(b"".join(export.streaming_content).decode())))
    assert rows[0][:3] == ["time", "user", "verb"]
    assert [(r[1], r[2], r[4]) for r in rows[1:]] == [("otto", "cancelled", "beta"), ("otto", "queued", "alpha")]
    assert AuditEntry.objects.count() == 3


def test_a_bulk_selection_by_filter_goes_back_to_the_same_encoded_filter(operator_client, make_device):
    make_device("R&D lab", hwid="RND1")
    confirm = operator_client.post(reverse("devices:bulk-action"), {"kind": "dhcprenew", "select_all_matching": "1", "q": "R&D", "remediation": "unknown"})
    body = confirm.content.decode()
    assert "on 1 device?" in body
    assert 'href="/devices/?q=R%26D&amp;remediation=unknown"' in body
