"""The Upstream page: budget, backlog, pauses."""

from __future__ import annotations

from django.urls import reverse

from devices import outbox


def test_the_upstream_page_shows_budget_backlog_and_a_pause(viewer_client, sample_device, operator):
    outbox.enqueue(sample_device, "dhcprenew", user=operator)
    outbox.pause("The cloud failed 3 times in a row", 300)
    body = viewer_client.get(reverse("devices:upstream")).content.decode()
    assert "Budget used now <strong>0 / 10</strong>" in body
    assert '<strong id="backlog-devices">1 action</strong> in <strong id="backlog-requests">1 request</strong>' in body
    assert "Sending is paused" in body and "failed 3 times in a row" in body
    assert "Resume now" not in body  # a viewer cannot
