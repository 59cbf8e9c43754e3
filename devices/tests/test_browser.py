"""What an operator does in a real browser: Debian's Chromium, driven by Playwright."""

from __future__ import annotations

import re
from urllib.parse import quote

import pytest
from django.contrib.auth.models import Group
from django.contrib.sessions.models import Session
from playwright.sync_api import Page, expect

from devices import outbox
from devices.models import Device
from devices.roles import VIEWER

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def log_in(page: Page, username: str, password: str) -> None:
    """Fill the login form the page was sent to (conftest's users have password pw-<name>)."""
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()


@pytest.fixture
def logged_in(page: Page, live_server, admin_user):
    page.goto(live_server.url + "/devices/")
    expect(page).to_have_url(re.compile(r"/accounts/login/"))
    log_in(page, "ada", "pw-ada")
    expect(page.get_by_role("heading", name="Devices")).to_be_visible()
    return page


def test_a_wrong_password_is_refused(page: Page, live_server, admin_user):
    page.goto(live_server.url + "/accounts/login/")
    log_in(page, "ada", "wrong")
    expect(page.get_by_role("alert")).to_contain_text("correct username and password")


def test_live_search_finds_a_device_by_a_mac_typed_in_another_form(logged_in: Page, live_server, sample_device, make_device):
    page = logged_in
    make_device("decoy", hwid="DECOY", macs=["02:22:33:44:55:66"])
    page.reload()
    table = page.locator("#device-table")
    expect(table).to_contain_text("decoy")
    expect(page.get_by_label("Per page")).to_have_value("50")  # the size in use
    page.get_by_label("Search").press_sequentially("00-0C-29-F2-7A-29", delay=10)
    expect(table).not_to_contain_text("decoy")
    expect(table).to_contain_text("ws-042")
    expect(table).to_contain_text("1 device matching")
    # The URL carries the search, so the view can be bookmarked and Back works.
    expect(page).to_have_url(re.compile(r"q=00-0C-29-F2-7A-29"))
    page.get_by_role("link", name="ws-042").click()
    expect(page.get_by_role("heading", name="ws-042")).to_be_visible()
    expect(page.locator("body")).to_contain_text("00:0c:29:f2:7a:29")
    page.go_back()
    expect(page.locator("#device-table")).to_contain_text("ws-042")
    expect(page.locator("#device-table")).not_to_contain_text("decoy")


def test_adding_a_device_with_a_bad_mac_shows_the_error(logged_in: Page):
    page = logged_in
    page.get_by_role("link", name="Add device").click()
    page.get_by_label("Name").fill("laptop-9")
    page.get_by_label("MAC addresses").fill("00:0C:29:F2:7A:ZZ")
    page.get_by_role("button", name="Add device").click()
    expect(page.locator(".field-errors")).to_contain_text("'00:0C:29:F2:7A:ZZ' is not a MAC address")
    assert not Device.objects.exists()
    page.get_by_label("MAC addresses").fill("00-0C-29-F2-7A-2A")
    page.get_by_role("button", name="Add device").click()
    expect(page.get_by_role("heading", name="laptop-9")).to_be_visible()
    expect(page.locator("body")).to_contain_text("00:0c:29:f2:7a:2a")


def test_importing_a_csv_shows_a_preview_then_the_result(logged_in: Page, tmp_path):
    page = logged_in
    path = tmp_path / "inventory.csv"
    path.write_text(
        "\ufeffname;hwid;macs;owner_name;owner_email;notes\n"
        "import-a;IMPA;00-0C-29-00-00-0A;Ada;ada@example.com;\n"
        "import-b;;000c.2900.000b 00:0c:29:00:00:0c;;;\n"
        "broken;;not-a-mac;;;\n",
        encoding="utf-8",
    )
    page.get_by_role("link", name="Import CSV").click()
    page.get_by_label("CSV file").set_input_files(str(path))
    page.get_by_role("button", name="Upload and preview").click()
    expect(page.locator(".summary")).to_contain_text("2 new")
    expect(page.locator(".summary")).to_contain_text("1 with errors")
    expect(page.locator("tr.bad")).to_contain_text("'not-a-mac' is not a MAC address")
    assert not Device.objects.exists()
    page.get_by_role("button", name="Import the 2 valid rows only").click()
    expect(page.get_by_role("status")).to_contain_text("2 created, 0 updated, 0 unchanged, 1 skipped")
    expect(page.locator("#device-table")).to_contain_text("import-a")
    expect(page.locator("#device-table")).to_contain_text("import-b")
    assert sorted(Device.objects.values_list("name", flat=True)) == ["import-a", "import-b"]


def test_select_all_matching_offers_every_device_of_the_filter(logged_in: Page, live_server, make_device):
    page = logged_in
    for n in range(30):
        make_device(f"lab-{n:02d}", hwid=f"LAB{n:02d}")
    make_device("office", hwid="OFFICE")
    page.goto(live_server.url + "/devices/?q=lab&per_page=25")
    bar = page.locator("[data-bulk-bar]")
    expect(bar).to_be_hidden()
    expect(page.get_by_label("Per page")).to_have_value("25")
    page.get_by_label("Select every device on this page").check()
    expect(bar).to_be_visible()
    expect(page.locator("[data-selection-label]")).to_have_text("25 selected")
    page.get_by_role("button", name="Select all 30 matching").click()
    expect(page.locator("[data-selection-label]")).to_have_text("All 30 matching devices selected")
    page.get_by_role("button", name="Delete selected…").click()
    expect(page.get_by_role("heading", name="Delete 30 devices?")).to_be_visible()
    page.get_by_role("button", name="Delete 30 devices").click()
    expect(page.get_by_role("status")).to_contain_text("Deleted 30 devices")
    assert list(Device.objects.values_list("name", flat=True)) == ["office"]


def test_an_operator_exempts_a_device_and_watches_it_go_out(page: Page, live_server, operator, upstream):
    import threading

    import requests
    from django.db import connections

    from devices import outbox

    sim = upstream()

    simulated = requests.get(f"{sim.base_url}/_sim/devices", timeout=5).json()["devices"][0]
    device = Device.objects.create(name=simulated["hostname"], hwid=simulated["hwid"])

    page.goto(live_server.url + device.get_absolute_url())
    log_in(page, "otto", "pw-otto")
    panel = page.locator("#device-actions")
    expect(panel).to_contain_text("not confirmed yet")
    page.once("dialog", lambda dialog: dialog.accept())  # hx-confirm
    panel.get_by_role("button", name="Exempt all issues").click()
    expect(panel).to_contain_text("Exempt all issues queued for")
    expect(panel.locator(".badge.status-queued")).to_be_visible()

    # The worker: a drainer, as the django-q2 cluster would run it.
    def drain():
        outbox.drain(max_runtime=5)
        connections.close_all()

    worker = threading.Thread(target=drain)
    worker.start()
    worker.join(timeout=20)
    expect(panel.locator(".badge.status-succeeded")).to_be_visible(timeout=10_000)
    page.reload()
    expect(page.locator("#device-actions")).to_contain_text("All issues exempt")
    simulated = next(d for d in requests.get(f"{sim.base_url}/_sim/devices", timeout=5).json()["devices"] if d["hwid"] == device.hwid)
    assert simulated["exempt"] == "all"


def test_a_remediation_link_appears_and_can_be_copied_and_scanned(page: Page, context, live_server, viewer, upstream):
    import threading

    import requests
    from django.db import connections

    from devices import outbox

    sim = upstream()
    with_issues = next(d for d in requests.get(f"{sim.base_url}/_sim/devices", timeout=5).json()["devices"] if d["issues"])
    device = Device.objects.create(name=with_issues["hostname"], hwid=with_issues["hwid"])
    context.grant_permissions(["clipboard-read", "clipboard-write"])

    page.goto(live_server.url + device.get_absolute_url())
    log_in(page, "vera", "pw-vera")
    panel = page.locator("#remediation")
    expect(panel).to_contain_text("Fetching the current link")

    worker = threading.Thread(target=lambda: (outbox.drain(max_runtime=5), connections.close_all()))
    worker.start()
    worker.join(timeout=20)
    link = panel.locator("#remediation-link")
    expect(link).to_be_visible(timeout=10_000)
    href = link.get_attribute("href")
    assert href.startswith(sim.base_url + "/gears/remediation/")
    expect(panel.locator(".qr svg")).to_be_visible()
    panel.get_by_role("button", name="Copy link").click()
    expect(panel.locator(".copy-status")).to_have_text("Copied.")
    assert page.evaluate("navigator.clipboard.readText()") == href


def test_an_expired_session_sends_a_polling_page_to_the_login(page: Page, live_server, operator, sample_device):
    action = outbox.enqueue(sample_device, "dhcprenew", user=operator).action
    page.goto(live_server.url + sample_device.get_absolute_url())
    log_in(page, "otto", "pw-otto")
    row = page.locator(f"#action-{action.pk}")
    expect(row).to_contain_text("Queued")  # and it polls every 2 s
    Session.objects.all().delete()  # the session expires while the page is open
    # The next poll takes the whole page to the login, which leads back here.
    expect(page).to_have_url(re.compile(r"/accounts/login/\?next=" + re.escape(quote(sample_device.get_absolute_url()))))
    expect(page.locator("#device-actions")).to_have_count(0)
    log_in(page, "otto", "pw-otto")
    expect(page.get_by_role("heading", name="ws-042")).to_be_visible()


def test_a_refused_click_says_so_instead_of_nothing(page: Page, live_server, operator, sample_device):
    page.goto(live_server.url + sample_device.get_absolute_url())
    log_in(page, "otto", "pw-otto")
    panel = page.locator("#device-actions")
    expect(panel.get_by_role("button", name="Renew DHCP")).to_be_visible()
    # An administrator makes otto a viewer while his page is open.
    operator.groups.set([Group.objects.get(name=VIEWER)])
    panel.get_by_role("button", name="Renew DHCP").click()
    expect(page.locator("#request-error")).to_contain_text("Refused (403)")
    assert not sample_device.actions.filter(kind="dhcprenew").exists()
    page.locator("#request-error").get_by_role("button", name="Dismiss").click()
    expect(page.locator("#request-error")).to_be_empty()


# ------------------------------------------------------------------ Content-Security-Policy

# Reports every violation to Python, on every page the test opens (an init script runs
# before the page's own scripts, and Playwright injects it past the policy).
CSP_PROBE = """
document.addEventListener("securitypolicyviolation", function (e) {
  window.reportCsp(e.violatedDirective + " blocked " + (e.blockedURI || "inline") + " " + (e.sample || ""));
});
"""


@pytest.fixture
def csp_violations(page: Page) -> list[str]:
    found: list[str] = []
    page.context.expose_function("reportCsp", lambda text: found.append(text))
    page.context.add_init_script(CSP_PROBE)

    def console(message) -> None:
        if "Content Security Policy" in message.text:
            found.append(message.text)

    page.context.on("console", console)
    return found


def test_the_csp_probe_sees_a_violation(page: Page, live_server, csp_violations, admin_user):
    response = page.goto(live_server.url + "/accounts/login/")
    assert "style-src 'self'" in response.headers["content-security-policy"]
    page.evaluate("document.body.setAttribute('style', 'color: red')")
    page.reload()  # a round trip: the violation event has been reported by then
    assert any("style-src" in violation for violation in csp_violations)


def test_the_pages_htmx_features_work_under_the_csp_with_no_violation(page: Page, live_server, operator, upstream, make_device, csp_violations):
    import threading

    import requests
    from django.db import connections

    sim = upstream()
    with_issues = next(d for d in requests.get(f"{sim.base_url}/_sim/devices", timeout=5).json()["devices"] if d["issues"])
    device = Device.objects.create(name=with_issues["hostname"], hwid=with_issues["hwid"], owner_email="ada@example.com")
    for n in range(3):
        make_device(f"lab-{n}", hwid=f"LAB{n}")

    # The login page, then live search on the list.
    response = page.goto(live_server.url + "/devices/")
    assert "script-src 'self'" in response.headers["content-security-policy"]
    log_in(page, "otto", "pw-otto")
    page.get_by_label("Search").press_sequentially("lab", delay=10)
    table = page.locator("#device-table")
    expect(table).to_contain_text("3 devices matching")
    expect(table).not_to_contain_text(device.name)

    # The bulk bar, and a bulk job with its <progress> bar, polling, and a confirmed cancel.
    page.get_by_label("Select every device on this page").check()
    expect(page.locator("[data-bulk-bar]")).to_be_visible()
    page.get_by_label("Action for the selected devices").select_option("dhcprenew")
    page.get_by_role("button", name="Queue for selected…").click()
    page.get_by_role("button", name="Queue 3 actions").click()
    expect(page.get_by_role("progressbar", name="Done")).to_be_visible()
    page.once("dialog", lambda dialog: dialog.accept())  # data-confirm, from app.js
    page.get_by_role("button", name="Cancel the waiting actions").click()
    expect(page.locator("#bulk-progress")).to_contain_text("Cancelled")

    # The device page: an action click with its polling row, and the remediation panel.
    page.goto(live_server.url + device.get_absolute_url())
    panel = page.locator("#device-actions")
    panel.get_by_role("button", name="Renew DHCP").click()
    expect(panel.locator(".badge.status-queued")).to_be_visible()
    expect(page.locator("#remediation")).to_contain_text("Fetching the current link")
    worker = threading.Thread(target=lambda: (outbox.drain(max_runtime=5), connections.close_all()))
    worker.start()
    worker.join(timeout=20)
    expect(panel.locator(".badge.status-succeeded")).to_be_visible(timeout=10_000)
    expect(page.locator("#remediation .qr svg")).to_be_visible(timeout=10_000)

    # The printable card, opened from the panel.
    with page.context.expect_page() as card_opened:
        page.get_by_role("link", name="Print card").click()
    card = card_opened.value
    expect(card.locator(".qr svg")).to_be_visible()

    assert csp_violations == []
