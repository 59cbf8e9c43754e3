"""The Test connection button in a real browser: the report appears in place, through htmx and its CSRF header."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from devices.models import UpstreamAttempt
from devices.tests.test_browser import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_an_admin_tests_the_connection_and_reads_the_report_on_the_page(page: Page, live_server, admin_user, upstream):
    upstream()
    page.goto(live_server.url + "/devices/upstream/")
    log_in(page, "ada", "pw-ada")
    expect(page.get_by_role("heading", name="Upstream")).to_be_visible()
    page.get_by_role("button", name="Test connection").click()
    report = page.locator("#cloud-check")
    expect(report).to_contain_text("The connection to the cloud works.")
    expect(report).to_contain_text("a token for 43,199 s")
    expect(report).to_contain_text('an object with the list under "devices"')
    expect(page).to_have_url(live_server.url + "/devices/upstream/")  # swapped in place, no page of its own
    assert UpstreamAttempt.objects.filter(connection_check=True).count() == 1
