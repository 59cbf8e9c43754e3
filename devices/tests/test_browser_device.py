"""The device page in Chromium: the QR code, panels that follow their actions, sharing, times."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import segno
from django.utils import timezone
from playwright.sync_api import Page, expect

from devices.models import Device, RemediationState
from devices.tests.test_browser import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WIDTHS = [1280, 390]


def linked_device(settings, name="ws-042", **extra) -> Device:
    """A device whose fresh, trusted remediation link is already known (no fetch goes out)."""
    link = settings.GEARS_BASE_URL.rstrip("/") + "/gears/remediation/" + "a1b2c3d4" * 8
    return Device.objects.create(
        name=name, hwid="HWIDQR0001", remediation_state=RemediationState.LINK, remediation_link=link,
        remediation_fetched_at=timezone.now(), **extra,
    )


def log_in_ready(page: Page) -> None:
    """Log in as the operator and wait until the page's scripts (htmx) are running, so a key press is htmx's."""
    log_in(page, "otto", "pw-otto")
    page.wait_for_url(re.compile(r"^(?!.*/accounts/login/)"))
    page.wait_for_function("() => document.readyState === 'complete' && !!window.htmx")


def qr_geometry(page: Page, selector: str) -> dict:
    return page.locator(selector).evaluate("""svg => {
        const box = svg.getBoundingClientRect();
        const code = svg.querySelector("path").getBoundingClientRect();
        const parent = svg.parentElement.getBoundingClientRect();
        return {viewBox: svg.getAttribute("viewBox"), w: box.width, h: box.height, left: box.left, top: box.top,
                right: box.right, bottom: box.bottom, cl: code.left, ct: code.top, cr: code.right, cb: code.bottom,
                pl: parent.left, pr: parent.right};
    }""")


def assert_whole_code_shown(geometry: dict, link: str) -> None:
    size = segno.make(link, error="m").symbol_size(scale=4, border=2)[0]
    assert geometry["viewBox"] == f"0 0 {size} {size}"  # modules + border, at the SVG's scale
    assert geometry["w"] > 100 and abs(geometry["w"] - geometry["h"]) < 0.5  # a square box
    tolerance = 1  # stroke anti-aliasing
    assert geometry["cl"] >= geometry["left"] - tolerance and geometry["ct"] >= geometry["top"] - tolerance
    assert geometry["cr"] <= geometry["right"] + tolerance and geometry["cb"] <= geometry["bottom"] + tolerance
    # The modules fill the box but for the quiet zone (2 of `size / 4` modules on each side).
    quiet = geometry["w"] * 2 * 4 / size
    assert geometry["cr"] - geometry["cl"] >= geometry["w"] - 2 * quiet - 2 * geometry["w"] / size


@pytest.mark.parametrize("width", WIDTHS)
def test_the_qr_code_is_shown_whole_on_the_page_and_centred_on_the_card(page: Page, live_server, operator, settings, width):
    device = linked_device(settings)
    page.set_viewport_size({"width": width, "height": 900})
    page.goto(live_server.url + device.get_absolute_url())
    log_in_ready(page)
    expect(page.locator("#remediation .qr svg")).to_be_visible()
    assert_whole_code_shown(qr_geometry(page, "#remediation .qr svg"), device.remediation_link)

    page.goto(live_server.url + f"/devices/{device.pk}/remediation/card/")
    expect(page.locator(".qr.large svg")).to_be_visible()
    card = qr_geometry(page, ".qr.large svg")
    assert_whole_code_shown(card, device.remediation_link)
    assert card["w"] > 200  # larger on paper
    assert abs((card["left"] - card["pl"]) - (card["pr"] - card["right"])) < 2  # centred, not top-left


def drain_in_a_thread() -> None:
    import threading

    from django.db import connections

    from devices import outbox

    worker = threading.Thread(target=lambda: (outbox.drain(max_runtime=5), connections.close_all()))
    worker.start()
    worker.join(timeout=20)


@pytest.mark.parametrize("width", WIDTHS)
def test_the_exemption_mode_follows_its_action_without_a_reload(page: Page, live_server, operator, upstream, width):
    import requests

    sim = upstream()
    simulated = requests.get(f"{sim.base_url}/_sim/devices", timeout=5).json()["devices"][0]
    device = Device.objects.create(name=simulated["hostname"], hwid=simulated["hwid"])
    page.set_viewport_size({"width": width, "height": 900})
    page.goto(live_server.url + device.get_absolute_url())
    log_in_ready(page)
    panel = page.locator("#device-actions")
    mode = panel.locator("#exemption")
    page.once("dialog", lambda dialog: dialog.accept())  # hx-confirm
    panel.get_by_role("button", name="Exempt all issues").click()
    expect(mode).to_contain_text("pending (queued)")

    drain_in_a_thread()
    expect(panel.locator(".badge.status-succeeded")).to_be_visible(timeout=10_000)
    # No reload: the row's final answer makes the exemption mode redraw itself.
    expect(mode).to_contain_text("All issues exempt", timeout=5_000)
    expect(mode).to_contain_text("confirmed")
    expect(mode).not_to_contain_text("pending")
    expect(mode).not_to_contain_text("not confirmed yet")


@pytest.mark.parametrize("width", WIDTHS)
def test_email_the_owner_asks_first_and_refuses_a_second_email_soon_after(page: Page, live_server, operator, settings, width):
    from django.core import mail

    device = linked_device(settings, owner_name="Ada", owner_email="ada@example.com")
    page.set_viewport_size({"width": width, "height": 900})
    page.goto(live_server.url + device.get_absolute_url())
    log_in_ready(page)
    panel = page.locator("#remediation")
    questions = []

    def answer(accept):
        def handle(dialog):
            questions.append(dialog.message)
            dialog.accept() if accept else dialog.dismiss()
        return handle

    page.once("dialog", answer(False))
    panel.get_by_role("button", name="Email the owner").click()
    expect(panel.get_by_role("button", name="Email the owner")).to_be_visible()
    page.wait_for_timeout(300)
    assert questions == ["Email the remediation link of ws-042 to ada@example.com?"] and not mail.outbox

    page.once("dialog", answer(True))
    panel.get_by_role("button", name="Email the owner").click()
    expect(panel).to_contain_text("Emailed the remediation link to ada@example.com.")
    page.once("dialog", answer(True))
    panel.get_by_role("button", name="Email the owner").click()
    expect(panel).to_contain_text("Not sent again: the link went to ada@example.com at")
    expect(panel).to_contain_text("It can be emailed again from")
    assert len(mail.outbox) == 1


@pytest.mark.parametrize("width", WIDTHS)
def test_history_rows_show_absolute_times_that_cannot_go_stale_with_the_relative_one_as_a_title(
        page: Page, live_server, operator, sample_device, width):

    from devices import outbox
    from devices.models import Action

    old = outbox.enqueue(sample_device, "dhcprenew", user=operator).action
    earlier = timezone.now() - timedelta(minutes=8)
    Action.objects.filter(pk=old.pk).update(status="succeeded", created_at=earlier, finished_at=earlier + timedelta(seconds=3))
    new = outbox.enqueue(sample_device, "exempt_critical", user=operator).action
    page.set_viewport_size({"width": width, "height": 900})
    page.goto(live_server.url + sample_device.get_absolute_url())
    log_in_ready(page)
    for action in Action.objects.filter(pk__in=[old.pk, new.pk]):
        queued = page.locator(f"#action-{action.pk} td:nth-child(4) time")
        expect(queued).to_have_text(timezone.localtime(action.created_at).strftime("%Y-%m-%d %H:%M:%S"))
        expect(queued).to_have_attribute("title", re.compile(r"ago|now"))
    sent = page.locator(f"#action-{old.pk} td:nth-child(5) time")
    expect(sent).to_have_text(timezone.localtime(earlier + timedelta(seconds=3)).strftime("%Y-%m-%d %H:%M:%S"))
    expect(sent).to_have_attribute("title", re.compile(r"^7\s+minutes ago$"))


@pytest.mark.parametrize("width", WIDTHS)
def test_focus_stays_on_the_pressed_button_and_escape_closes_the_row_menu(page: Page, live_server, operator, sample_device, width):
    page.set_viewport_size({"width": width, "height": 900})
    page.goto(live_server.url + sample_device.get_absolute_url())
    log_in_ready(page)
    panel = page.locator("#device-actions")
    panel.get_by_role("button", name="Renew DHCP").focus()
    page.keyboard.press("Enter")
    expect(panel).to_contain_text("Renew DHCP queued for ws-042")
    expect(panel.get_by_role("button", name="Renew DHCP")).to_be_focused()

    page.goto(live_server.url + "/devices/")
    menu = page.locator("details.row-actions").first
    menu.locator("summary").click()
    expect(menu.get_by_role("button", name="Renew DHCP")).to_be_visible()
    page.keyboard.press("Escape")
    expect(menu).not_to_have_attribute("open", re.compile(".*"))
    expect(menu.get_by_role("button", name="Renew DHCP")).to_be_hidden()
    expect(menu.locator("summary")).to_be_focused()


@pytest.mark.parametrize("width", WIDTHS)
def test_an_edit_appears_in_the_timeline_with_old_and_new_values(page: Page, live_server, admin_user, sample_device, width):
    page.set_viewport_size({"width": width, "height": 900})
    page.goto(live_server.url + f"/devices/{sample_device.pk}/edit/")
    log_in(page, "ada", "pw-ada")
    page.locator("#id_owner_name").fill("Ada Lovelace")
    page.get_by_label("MAC addresses").fill("00-0C-29-F2-7A-29")
    page.get_by_role("button", name="Save").click()
    entry = page.locator("#device-timeline .timeline-entry", has_text="Edited")
    expect(entry).to_contain_text("by ada")
    expect(entry.locator("li", has_text="Owner:").locator("del")).to_have_text("was Grace Hopper")
    expect(entry.locator("li", has_text="Owner:").locator("ins")).to_have_text("now Ada Lovelace")
    expect(entry.locator("li", has_text="MAC addresses")).to_contain_text("00:0c:29:f2:7a:29 00:0c:29:f2:7a:30")
    expect(entry.locator("li", has_text="MAC addresses").locator("ins")).to_have_text("now 00:0c:29:f2:7a:29")
    # Nothing scrolls sideways on a phone.
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


@pytest.mark.parametrize("width", WIDTHS)
def test_an_exempt_device_shows_its_explained_compliance_and_last_seen(page: Page, live_server, operator, settings, width):
    # The cloud reports an exempt device compliant while it still reports issues (docs/upstream/api-notes.md §8).
    device = linked_device(settings, compliance="compliant", exempt_mode="all",
                           last_seen_at=timezone.now() - timedelta(hours=2))
    page.set_viewport_size({"width": width, "height": 900})
    page.goto(live_server.url + device.get_absolute_url())
    log_in_ready(page)
    status = page.locator("#cloud-status")
    badge = status.locator(".badge.compliance-exempt")
    expect(badge).to_have_text("Exempt (issues not counted)")
    expect(badge).to_have_attribute("title", re.compile("as compliant whatever its issues"))
    expect(status.get_by_text(re.compile("reports an exempt device as compliant"))).to_be_visible()
    expect(status).not_to_contain_text("Compliant")  # only "compliant" inside the note
    seen = status.locator("time")
    expect(seen).to_have_text("2\xa0hours ago")
    expect(seen).to_have_attribute("datetime", re.compile(r"^\d{4}-\d\d-\d\dT"))
    expect(page.locator("#remediation")).to_contain_text("its exemption keeps them from being counted")
