"""The device list and bulk jobs in a real browser (Debian's Chromium), on a desktop and a phone."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from devices import outbox
from devices.tests.test_browser import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WIDTHS = {"desktop": 1280, "phone": 390}


@pytest.fixture(params=sorted(WIDTHS))
def width(request, page: Page) -> int:
    page.set_viewport_size({"width": WIDTHS[request.param], "height": 900})
    return WIDTHS[request.param]


@pytest.fixture
def operator_page(page: Page, live_server, operator, width):
    page.goto(live_server.url + "/devices/")
    log_in(page, "otto", "pw-otto")
    expect(page.get_by_role("heading", name="Devices")).to_be_visible()
    return page


def test_choosing_a_bulk_action_keeps_the_selection(operator_page: Page, live_server, make_device):
    page = operator_page
    for n in range(6):
        make_device(f"LAB-{n:02d}", hwid=f"LAB{n:02d}")
    page.goto(live_server.url + "/devices/?q=LAB")  # freshly loaded, never reloaded by htmx
    boxes = page.locator("[data-row-check]")
    expect(boxes).to_have_count(6)
    for n in range(4):
        boxes.nth(n).check()
    label = page.locator("[data-selection-label]")
    expect(label).to_have_text("4 selected")
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url) if "/devices/?" in request.url else None)
    page.get_by_label("Action for the selected devices").select_option(label="Exempt critical issues")
    page.wait_for_timeout(600)  # the search form's debounce and a round trip
    assert requests == []  # the table was not reloaded
    expect(label).to_have_text("4 selected")
    expect(page.locator("[data-bulk-bar]")).to_be_visible()
    expect(page.get_by_label("Action for the selected devices")).to_have_value("exempt_critical")
    expect(page.locator("[data-row-check]:checked")).to_have_count(4)
    # The filters' own dropdowns still reload the table.
    page.get_by_label("Identifier").select_option(label="Has a HWID")
    expect(page).to_have_url(re.compile(r"identifier=hwid"))


def page_width(page: Page) -> int:
    """How wide the page's content is: more than the window means it scrolls sideways."""
    return page.evaluate("Math.max(document.documentElement.scrollWidth, document.body.scrollWidth)")


def test_the_device_list_never_scrolls_sideways(operator_page: Page, live_server, make_device, width):
    page = operator_page
    make_device("engineering-workstation-with-a-long-name-042", hwid="HWIDLONG0001",
                macs=["00:0c:29:00:00:01", "00:0c:29:00:00:02"], owner_email="someone.with.a.long.address@example.com")
    for n in range(5):
        make_device(f"LAB-{n:02d}", hwid=f"LAB{n:02d}")
    page.goto(live_server.url + "/devices/")
    expect(page.locator("[data-row-check]")).to_have_count(6)
    assert page_width(page) <= width
    # A row's actions open inside the window, where a thumb can reach them.
    page.locator("summary", has_text="Actions for").first.click()
    button = page.get_by_role("button", name="Renew DHCP").first
    expect(button).to_be_visible()
    box = button.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= width
    assert page_width(page) <= width
    # Every row's name and its checkbox are on screen.
    for check in page.locator("[data-row-check]").all():
        box = check.bounding_box()
        assert box is not None and box["x"] + box["width"] <= width


PAGES = ["/devices/", "/devices/{pk}/", "/devices/{pk}/edit/", "/bulk/", "/bulk/{job}/", "/upstream/", "/audit/",
         "/devices/import/"]


def test_no_page_scrolls_sideways_on_a_phone_with_the_longest_menu(page: Page, live_server, admin_user, sample_device):
    # A staff admin sees every menu entry (Import, Admin): the widest top bar there is.
    admin_user.is_staff = True
    admin_user.save(update_fields=["is_staff"])
    # History rows, a bulk job with its actions and audit entries: the wide tables.
    for kind in ("dhcprenew", "exempt_all"):
        outbox.enqueue(sample_device, kind, user=admin_user)
    job = outbox.enqueue_bulk([sample_device.pk], "unexempt", user=admin_user, description="the phone test")
    page.set_viewport_size({"width": WIDTHS["phone"], "height": 844})
    page.goto(live_server.url + "/devices/")
    log_in(page, "ada", "pw-ada")
    expect(page.get_by_role("link", name="Admin")).to_be_visible()
    widths = {}
    for path in PAGES:
        page.goto(live_server.url + path.format(pk=sample_device.pk, job=job.pk))
        widths[path] = page_width(page)
    assert widths == {path: WIDTHS["phone"] for path in PAGES}
