"""Action buttons and live history rows, by role."""

from __future__ import annotations

import html
import json
import re
from datetime import datetime, timedelta

import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from devices import outbox
from devices.models import Action
from gearsdash.env import RateLimit

HTMX = {"HX-Request": "true"}


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


def history_url(device, *open_actions) -> str:
    url = reverse("devices:device-history", args=[device.pk])
    return url + (f"?open={','.join(str(a.pk) for a in open_actions)}" if open_actions else "")


def test_the_history_polls_as_one_region_until_no_action_is_open_then_stops(operator_client, sample_device, operator):
    first = outbox.enqueue(sample_device, "dhcprenew", user=operator).action
    second = outbox.enqueue(sample_device, "exempt_critical", user=operator).action
    page = operator_client.get(sample_device.get_absolute_url()).content.decode()
    assert page.count("hx-trigger=\"every ") == 2  # the history region and the remediation panel's open fetch
    assert f'id="device-history" hx-get="{history_url(sample_device, second, first)}&amp;v=' in page
    assert f'id="action-{first.pk}" data-open-action' in page and "devices:action-row" not in page
    waiting = operator_client.get(history_url(sample_device, second, first), headers=HTMX)
    body = waiting.content.decode()
    assert waiting.status_code == 200 and body.strip().startswith("<tbody") and body.count("hx-trigger") == 1
    assert "~ " in body  # an estimated send time
    outbox.cancel(first, user=operator)
    outbox.cancel(second, user=operator)
    final = operator_client.get(history_url(sample_device, second, first), headers=HTMX)
    assert final.status_code == 286  # htmx stops polling
    assert "Cancelled" in final.content.decode() and "hx-trigger" not in final.content.decode()


def test_the_history_polls_often_while_an_action_is_due_and_seldom_while_all_wait_far_off(
        operator_client, lab_devices, operator, settings, frozen_clock):
    settings.GEARS_RATE_LIMIT = RateLimit(10, 60)
    devices = lab_devices(600)
    outbox.enqueue_bulk([d.pk for d in devices], "dhcprenew", user=operator)  # 12 requests ahead of the last
    due = outbox.enqueue(devices[0], "exempt_critical", user=operator).action
    assert 'hx-trigger="every 5s"' in operator_client.get(history_url(devices[0], due), headers=HTMX).content.decode()
    far = Action.objects.get(device=devices[-1])
    polled = operator_client.get(history_url(devices[-1], far), headers=HTMX).content.decode()
    seconds = int(re.search(r'hx-trigger="every (\d+)s"', polled)[1])
    assert 15 <= seconds <= 20  # its batch goes out over a minute from now: a few polls until then


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


def test_a_rows_final_answer_tells_the_page_to_redraw_the_exemption_mode(operator_client, sample_device, operator):
    action = outbox.enqueue(sample_device, "exempt_all", user=operator).action
    row = history_url(sample_device, action)
    assert "HX-Trigger" not in operator_client.get(row, headers=HTMX).headers
    exemption = operator_client.get(reverse("devices:exemption", args=[sample_device.pk]), headers=HTMX).content.decode()
    assert 'id="exemption"' in exemption and "pending (queued)" in exemption
    Action.objects.filter(pk=action.pk).update(status="succeeded")
    sample_device.exempt_mode = "all"
    sample_device.save()
    final = operator_client.get(row, headers=HTMX)
    # htmx fires every event the header names, in its plain or its JSON form.
    assert final.status_code == 286 and "action-final" in json.loads(final.headers["HX-Trigger"])
    exemption = operator_client.get(reverse("devices:exemption", args=[sample_device.pk]), headers=HTMX).content.decode()
    assert "All issues exempt" in exemption and "pending" not in exemption


def test_a_cancelled_action_shows_no_sent_time_and_a_resend_after_a_500_does_not_claim_no_answer(
        operator_client, sample_device, operator):
    import re

    cancelled = outbox.enqueue(sample_device, "dhcprenew", user=operator).action
    outbox.cancel(cancelled, user=operator)
    resent = outbox.enqueue(sample_device, "exempt_critical", user=operator).action
    # A first attempt answered HTTP 500 (the outbox marks it ambiguous: it may have taken effect); the resend worked.
    Action.objects.filter(pk=resent.pk).update(status="succeeded", attempts=2, transient_failures=1, ambiguous=True,
                                               http_status=200)
    page = operator_client.get(sample_device.get_absolute_url()).content.decode()
    cancelled_row = re.search(rf'<tr id="action-{cancelled.pk}".*?</tr>', page, re.S).group(0)
    sent_cell = re.findall(r"<td[^>]*>(.*?)</td>", cancelled_row, re.S)[4]
    assert "<time" not in sent_cell and "not sent" in sent_cell
    resent_row = re.search(rf'<tr id="action-{resent.pk}".*?</tr>', page, re.S).group(0)
    assert "without an answer" not in resent_row and "ambiguous" not in resent_row
    assert "sent again" in resent_row and "HTTP 500" in resent_row


def row_eta(body: str, action: Action) -> datetime:
    row = re.search(rf'<tr id="action-{action.pk}".*?</tr>', body, re.S)[0]
    return datetime.fromisoformat(re.search(r'<time class="eta" datetime="([^"]+)"', row)[1])


def test_a_click_row_shows_the_next_slot_and_a_bulk_row_its_batch_time(
        operator_client, lab_devices, operator, settings, frozen_clock):
    settings.GEARS_RATE_LIMIT = RateLimit(10, 60)
    devices = lab_devices(3000)
    outbox.enqueue_bulk([d.pk for d in devices], "exempt_all", user=operator)
    last = devices[-1]
    operator_client.post(create_url(last), {"kind": "dhcprenew"})
    bulk, click = Action.objects.get(device=last, kind="exempt_all"), Action.objects.get(device=last, kind="dhcprenew")
    page = operator_client.get(last.get_absolute_url()).content.decode()
    assert row_eta(page, click) == frozen_clock  # the slot bulk work leaves free: now, before all 60 requests
    assert timedelta(minutes=6) < row_eta(page, bulk) - frozen_clock < timedelta(minutes=7)  # the 60th request
    polled = operator_client.get(history_url(last, click, bulk), headers=HTMX).content.decode()
    assert row_eta(polled, bulk) == row_eta(page, bulk)


def test_a_device_page_with_two_waiting_actions_costs_at_most_20_requests_and_100_queries_a_minute(
        operator_client, sample_device, operator, frozen_clock):
    # A fresh remediation link: the page queues no fetch, so only the history waits on the cloud.
    sample_device.remediation_state, sample_device.remediation_fetched_at = "no_issues", frozen_clock
    sample_device.save()
    outbox.enqueue(sample_device, "dhcprenew", user=operator)
    outbox.enqueue(sample_device, "exempt_critical", user=operator)
    region = operator_client.get(sample_device.get_absolute_url()).content.decode()
    assert region.count('hx-trigger="every ') == 1  # one poll for the whole page
    requests = queries = 0
    with time_machine.travel(frozen_clock, tick=False) as clock:
        elapsed = 0
        while True:
            url, period = re.search(r'id="device-history" hx-get="([^"]+)" hx-trigger="every (\d+)s"', region).groups()
            elapsed += int(period)
            if elapsed > 60:
                break
            clock.shift(int(period))
            with CaptureQueriesContext(connection) as polled:
                response = operator_client.get(html.unescape(url), headers=HTMX)
            requests, queries = requests + 1, queries + len(polled)
            if response.status_code == 200:  # redrawn: the next poll is the new region's
                region = response.content.decode()
            else:
                assert response.status_code == 204  # nothing changed: nothing redrawn
    assert requests <= 20 and queries <= 100, (requests, queries)


def test_an_unchanged_history_answers_204_and_one_that_changed_redraws(operator_client, sample_device, operator):
    action = outbox.enqueue(sample_device, "dhcprenew", user=operator).action
    region = operator_client.get(sample_device.get_absolute_url()).content.decode()
    url = html.unescape(re.search(r'id="device-history" hx-get="([^"]+)"', region)[1])
    assert operator_client.get(url, headers=HTMX).status_code == 204
    Action.objects.filter(pk=action.pk).update(status="sending")
    redrawn = operator_client.get(url, headers=HTMX)
    assert redrawn.status_code == 200 and "Sending" in redrawn.content.decode()
