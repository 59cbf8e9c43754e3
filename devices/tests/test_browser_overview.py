"""The overview and the toasts in a real browser (Debian's Chromium), against the simulator over real HTTP."""

from __future__ import annotations

import re

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from devices import notices, outbox
from devices.models import CloudSync, Device, Notice
from devices.tests.outbox.test_end_to_end import devices_known
from devices.tests.test_browser import log_in
from devices.tests.test_browser_list import page_width

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


PHONE = 390


@pytest.mark.parametrize("width", [1280, 390])
def test_the_overview_shows_its_counts_and_chart_and_never_scrolls_sideways(page: Page, live_server, viewer, upstream,
                                                                           operator, width):
    sim = upstream()
    lab = devices_known(sim, 3)
    Device.objects.filter(pk__in=[d.pk for d in lab[:2]]).update(compliance="non_compliant")
    outbox.enqueue(lab[0], "dhcprenew", user=operator)
    outbox.drain(max_runtime=5)  # one real request: one bar
    page.set_viewport_size({"width": width, "height": 844})
    page.goto(live_server.url + "/")
    log_in(page, "vera", "pw-vera")
    counts = page.get_by_role("list", name="Compliance")
    expect(counts.get_by_role("link", name="2 Non-compliant")).to_be_visible()
    expect(counts.get_by_role("link", name="0 Compliant", exact=True)).to_be_visible()
    chart = page.get_by_role("img", name=re.compile(r"^Requests per minute, last hour: 1 request in all"))
    expect(chart).to_be_visible()
    box, figure = chart.bounding_box(), page.locator("figure.chart").first.bounding_box()
    assert box and figure and box["width"] > 0.8 * figure["width"]  # stretched to its column, not a thumbnail
    page.screenshot(path=f"/tmp/overview-{width}.png", full_page=True)
    expect(page.locator("svg.bars rect.answered")).to_have_count(2)  # the minute's bar, the hour's bar
    page.get_by_text("The numbers").first.click()
    expect(page.get_by_role("table", name="Requests per minute, last hour").get_by_role("cell", name="1", exact=True)).to_have_count(1)
    assert page_width(page) <= width
    # A count leads to the list with its filter.
    counts.get_by_role("link", name="2 Non-compliant").click()
    expect(page).to_have_url(re.compile(r"/devices/\?compliance=non_compliant$"))
    expect(page.get_by_role("heading", name="Devices")).to_be_visible()
    for device in lab[:2]:
        expect(page.get_by_role("link", name=device.name, exact=True).first).to_be_visible()
    expect(page.get_by_role("link", name=lab[2].name, exact=True)).to_have_count(0)


def test_a_toast_tells_any_page_a_bulk_job_ended_and_stays_until_dismissed(page: Page, live_server, viewer, upstream,
                                                                           operator):
    sim = upstream()
    lab = devices_known(sim, 2)
    notices.sync_ended(finished_sync())  # noted before the tab's first page: never shown
    page.set_viewport_size({"width": PHONE, "height": 844})
    page.goto(live_server.url + "/devices/")
    log_in(page, "vera", "pw-vera")
    expect(page.get_by_role("heading", name="Devices")).to_be_visible()
    job = outbox.enqueue_bulk([d.pk for d in lab], "dhcprenew", user=operator, description="the lab")
    outbox.drain(max_runtime=5)  # the real drainer: both actions answered, the job ends
    toast = page.locator("[data-toast-list] li")
    expect(toast).to_have_count(1, timeout=15_000)  # the next poll, within 5 s
    expect(toast).to_contain_text(f"Bulk job #{job.pk} (Renew DHCP, 2 devices) finished: 2 succeeded.")
    expect(page.locator("[data-toast-announcer]")).to_have_text(re.compile(f"Bulk job #{job.pk}"))
    assert page_width(page) <= PHONE
    # Still there on the next page: it stays until dismissed.
    page.get_by_role("link", name="Audit").click()
    expect(page.get_by_role("heading", name="Audit log")).to_be_visible()
    expect(toast).to_have_count(1)
    expect(page.locator("[data-toast-announcer]")).to_have_text("")  # shown again, not announced again
    # Dismissed from the keyboard: focus on its button, Enter.
    page.get_by_role("button", name="Dismiss notification").focus()
    page.keyboard.press("Enter")
    expect(toast).to_have_count(0)
    page.get_by_role("link", name="Overview").click()
    expect(page.get_by_role("heading", name="Overview")).to_be_visible()
    page.wait_for_timeout(6_000)  # a poll went by
    expect(toast).to_have_count(0)
    assert Notice.objects.count() == 2


def finished_sync() -> CloudSync:
    return CloudSync.objects.create(status="succeeded", trigger="schedule", started_at=timezone.now(),
                                    finished_at=timezone.now())
