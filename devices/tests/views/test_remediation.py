"""Remediation links: fetched through the budget, shown at once, shared safely."""

from __future__ import annotations

import csv
import html
import io
from datetime import timedelta

import pytest
import requests
import segno
from django.core import mail
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from devices import outbox
from devices.models import Action, AuditEntry, Device
from devices.remediation.links import QR_MAX_BYTES, email_body, is_trusted_link, mailto_url

HTMX = {"HX-Request": "true"}


def simulated(sim, *, issues: bool) -> dict:
    devices = requests.get(f"{sim.base_url}/_sim/devices", timeout=5).json()["devices"]
    return next(d for d in devices if bool(d["issues"]) == issues)


def add(sim_device: dict, **extra) -> Device:
    return Device.objects.create(name=sim_device["hostname"], hwid=sim_device["hwid"], **extra)


def open_page_and_drain(client, device) -> str:
    """A page view queues the fetch; a drainer sends it; the panel shows the answer."""
    first = client.get(device.get_absolute_url()).content.decode()
    assert "Fetching the current link" in first
    outbox.drain(max_runtime=5)
    return client.get(reverse("devices:remediation-panel", args=[device.pk]), headers=HTMX).content.decode()


def test_a_device_with_issues_shows_its_link_with_ways_to_share_it(operator_client, upstream):
    sim = upstream()
    device = add(simulated(sim, issues=True), owner_name="Ada", owner_email="ada@example.com")
    panel = open_page_and_drain(operator_client, device)
    device.refresh_from_db()
    assert device.remediation_state == "link" and device.remediation_link.startswith(sim.base_url + "/gears/remediation/")
    assert f'href="{device.remediation_link}"' in panel
    assert "Copy link" in panel and "<svg" in panel and "Print card" in panel and "Email the owner" in panel
    assert 'href="mailto:ada@example.com?subject=' in panel
    # The link works: the simulator serves the device's remediation page.
    page = requests.get(device.remediation_link, timeout=5)
    assert page.status_code == 200 and device.name in page.text


def test_no_issues_and_unknown_devices_say_so(operator_client, upstream, make_device):
    sim = upstream()
    clean = add(simulated(sim, issues=False))
    assert "No issues." in open_page_and_drain(operator_client, clean)
    ghost = make_device("ghost", hwid="NOTINTHECLOUD99")
    assert "Not known to the cloud." in open_page_and_drain(operator_client, ghost)
    ghost.refresh_from_db()
    assert (ghost.remediation_state, ghost.remediation_link) == ("not_found", "")


def test_an_upstream_error_is_shown_and_the_page_still_answers(operator_client, upstream, settings):
    sim = upstream()
    settings.GEARS_MAX_ATTEMPTS = 2
    device = add(simulated(sim, issues=True))
    requests.post(f"{sim.base_url}/_sim/faults", json={"fail_next": 5}, timeout=5)
    panel = open_page_and_drain(operator_client, device)
    device.refresh_from_db()
    assert device.remediation_state == "error"
    assert "could not be fetched" in panel and "HTTP 500" in panel


@pytest.mark.parametrize(
    "hostile",
    ["javascript:alert(document.cookie)", "https://evil.example/gears/remediation/x/remediation.html",
     "http://gears.opswat.com/plain-http", "https://gears.opswat.com.evil.example/x"],
)
def test_a_link_off_the_upstream_is_text_with_a_warning(operator_client, upstream, hostile):
    sim = upstream(remediation_link_override=hostile)
    device = add(simulated(sim, issues=True), owner_email="ada@example.com")
    panel = open_page_and_drain(operator_client, device)
    assert "not on the upstream" in panel
    assert f'href="{hostile}"' not in panel and "<svg" not in panel and "Copy link" not in panel
    assert operator_client.get(reverse("devices:remediation-card", args=[device.pk])).status_code == 404
    assert operator_client.post(reverse("devices:remediation-email", args=[device.pk])).status_code == 404
    assert not mail.outbox


def test_only_the_upstream_and_opswat_over_https_are_trusted(settings):
    settings.GEARS_BASE_URL = "http://127.0.0.1:8001"
    assert is_trusted_link("http://127.0.0.1:8001/gears/remediation/a/b/c/remediation.html")
    assert is_trusted_link("https://gears.opswat.com/gears/remediation/a/b/c/remediation.html")
    assert not is_trusted_link("http://127.0.0.1:8002/x")
    assert not is_trusted_link("https://user@gears.opswat.com/x")
    assert not is_trusted_link("JAVASCRIPT:alert(1)")
    assert not is_trusted_link("https://gears.opswat.com/x\n<script>")


def test_twenty_page_views_in_a_minute_cost_one_upstream_request(client, viewer, upstream):
    sim = upstream()
    device = add(simulated(sim, issues=True))
    client.force_login(viewer)  # viewers' page views fetch too, within the TTL
    for _ in range(10):
        client.get(device.get_absolute_url())
    outbox.drain(max_runtime=5)
    for _ in range(10):
        assert client.get(device.get_absolute_url()).status_code == 200
    outbox.drain(max_runtime=5)
    calls = [e for e in requests.get(f"{sim.base_url}/_sim/stats", timeout=5).json()["request_log"] if e["path"].endswith("/remediation")]
    assert len(calls) == 1
    assert Action.objects.filter(kind="remediation").count() == 1
    assert not AuditEntry.objects.exists()  # page views are not operator actions


def test_a_stale_link_is_fetched_again_after_the_ttl(operator_client, upstream, settings):
    sim = upstream()
    device = add(simulated(sim, issues=True))
    open_page_and_drain(operator_client, device)
    Device.objects.filter(pk=device.pk).update(remediation_fetched_at=outbox.db_now() - timedelta(seconds=settings.GEARS_REMEDIATION_TTL + 1))
    page = operator_client.get(device.get_absolute_url()).content.decode()
    assert "Fetching the current link" in page and f'href="{Device.objects.get().remediation_link}"' in page  # old link shown meanwhile


def test_refresh_now_fetches_at_once_and_is_audited(operator_client, upstream):
    sim = upstream()
    device = add(simulated(sim, issues=True))
    open_page_and_drain(operator_client, device)
    response = operator_client.post(reverse("devices:remediation-refresh", args=[device.pk]), headers=HTMX)
    assert "Fetching the remediation link now." in response.content.decode()
    assert AuditEntry.objects.filter(verb="queued", kind="remediation").count() == 1


def test_email_the_owner_sends_the_link_and_is_audited(operator_client, upstream):
    sim = upstream()
    device = add(simulated(sim, issues=True), owner_name="Ada", owner_email="ada@example.com")
    open_page_and_drain(operator_client, device)
    device.refresh_from_db()
    response = operator_client.post(reverse("devices:remediation-email", args=[device.pk]), headers=HTMX)
    assert "Emailed the remediation link to ada@example.com." in response.content.decode()
    (message,) = mail.outbox
    assert message.to == ["ada@example.com"] and device.remediation_link in message.body and device.name in message.subject
    assert AuditEntry.objects.get(verb="emailed").detail == "to ada@example.com"


def test_viewers_see_the_link_but_cannot_email_or_refresh(client, viewer, upstream):
    sim = upstream()
    device = add(simulated(sim, issues=True), owner_email="ada@example.com")
    client.force_login(viewer)
    panel = open_page_and_drain(client, device)
    assert "Copy link" in panel and "Email the owner" not in panel and "Refresh now" not in panel
    assert client.post(reverse("devices:remediation-email", args=[device.pk])).status_code == 403
    assert client.post(reverse("devices:remediation-refresh", args=[device.pk])).status_code == 403


def test_the_print_card_and_the_mailto_link(operator_client, upstream):
    sim = upstream()
    device = add(simulated(sim, issues=True), owner_name="Ada Lovelace", owner_email="ada@example.com")
    open_page_and_drain(operator_client, device)
    device.refresh_from_db()
    card = operator_client.get(reverse("devices:remediation-card", args=[device.pk])).content.decode()
    assert device.remediation_link in card and "<svg" in card and "needs attention" in card
    link = mailto_url(device, device.remediation_link)
    assert link.startswith("mailto:ada@example.com?subject=Action%20needed%20on%20")
    assert "Hello%20Ada%20Lovelace" in link


def test_filter_by_remediation_state_and_export_the_links(operator_client, upstream, make_device):
    sim = upstream()
    with_issues = add(simulated(sim, issues=True), owner_name="Ada")
    clean = add(simulated(sim, issues=False))
    open_page_and_drain(operator_client, with_issues)
    open_page_and_drain(operator_client, clean)
    listing = operator_client.get(reverse("devices:device-list"), {"remediation": "link"}, headers=HTMX)
    assert [d.name for d in listing.context["page"].object_list] == [with_issues.name]
    export = operator_client.get(reverse("devices:remediation-export"), {"remediation": "link"})
    rows = list(csv.reader(io.StringIO(b"".join(export.streaming_content).decode())))
    assert rows[0] == ["name", "hwid", "owner_name", "owner_email", "remediation_state", "remediation_link", "fetched_at"]
    assert len(rows) == 2 and rows[1][0] == with_issues.name and rows[1][5].startswith(sim.base_url) and rows[1][6]


def test_bulk_refresh_goes_out_at_bulk_priority(operator_client, upstream):
    sim = upstream()
    devices = [Device.objects.create(name=d["hostname"], hwid=d["hwid"]) for d in requests.get(f"{sim.base_url}/_sim/devices", timeout=5).json()["devices"][:5]]
    operator_client.post(reverse("devices:bulk-action"), {"kind": "remediation", "device": [d.pk for d in devices], "confirm": "yes"})
    assert Action.objects.filter(kind="remediation", priority=9).count() == 5
    outbox.drain(max_runtime=5)
    assert not Device.objects.filter(remediation_state="unknown").exists()


@pytest.mark.skipif(connection.vendor != "sqlite", reason="PostgreSQL refuses a link this long (2,000 characters)")
@pytest.mark.parametrize("size", [QR_MAX_BYTES + 1, 1_000_000])
def test_a_link_too_long_for_a_qr_code_leaves_page_panel_and_card_working_with_a_note(operator_client, size):
    link = "https://gears.opswat.com/gears/remediation/x/remediation.html?pad="
    link += "a" * (size - len(link))
    device = Device.objects.create(name="ws-long", hwid="LONGLINK01", owner_email="ada@example.com",
                                   remediation_state="link", remediation_link=link,
                                   remediation_fetched_at=outbox.db_now())
    note = f"No QR code: the link is {size:,} bytes long, more than a QR code holds ({QR_MAX_BYTES:,})."
    for url, headers in ((device.get_absolute_url(), {}),
                         (reverse("devices:remediation-panel", args=[device.pk]), HTMX),
                         (reverse("devices:remediation-card", args=[device.pk]), {})):
        response = operator_client.get(url, headers=headers)
        page = response.content.decode()
        assert response.status_code in (200, 286), url  # 286: htmx stops polling
        assert note in page and "<svg" not in page, url


def test_the_longest_link_a_qr_code_holds_still_gets_one(operator_client):
    link = "https://gears.opswat.com/gears/remediation/x/remediation.html?pad="
    link += "a" * (2000 - len(link))  # the longest the console stores
    device = Device.objects.create(name="ws-2000", hwid="LONGLINK02", remediation_state="link",
                                   remediation_link=link, remediation_fetched_at=outbox.db_now())
    card = operator_client.get(reverse("devices:remediation-card", args=[device.pk])).content.decode()
    assert "<svg" in card and "No QR code" not in card


def shareable(**fields) -> Device:
    return Device.objects.create(name="ws-mail", hwid="MAIL01", remediation_state="link",
                                 remediation_link="https://gears.opswat.com/gears/remediation/x/remediation.html",
                                 remediation_fetched_at=outbox.db_now(), **fields)


def test_email_to_an_address_with_a_line_break_is_refused_with_a_notice_not_a_500(operator_client):
    device = shareable(owner_email="ada@example.com")
    Device.objects.filter(pk=device.pk).update(owner_email="ada@example.com\nBcc: victim@example.com")  # no check in the database
    response = operator_client.post(reverse("devices:remediation-email", args=[device.pk]), headers=HTMX)
    assert response.status_code == 286  # the panel, redrawn; htmx stops polling
    assert "The email was not sent: the owner's email address or the device's name holds a line break." in (
        html.unescape(response.content.decode()))
    assert not mail.outbox and not AuditEntry.objects.filter(verb="emailed").exists()


def test_the_email_subject_is_one_line_whatever_the_name_holds():
    device = Device(name="ws-01\r\nBcc: victim@example.com\u2028x", owner_email="ada@example.com")
    subject, _ = email_body(device, "https://gears.opswat.com/x")
    assert subject == "Action needed on ws-01  Bcc: victim@example.com x: fix its compliance issues"
    mail.send_mail(subject, "body", None, [device.owner_email])  # no BadHeaderError
    assert mail.outbox[0].subject == subject


def test_the_qr_svg_has_a_viewbox_of_its_modules_and_border_and_no_fixed_size():
    from devices.remediation import qr_svg

    link = "https://gears.opswat.com/remediation/" + "f" * 64
    svg = qr_svg(link)
    size = segno.make(link, error="m").symbol_size(scale=4, border=2)[0]
    assert f'viewBox="0 0 {size} {size}"' in svg
    assert "width=" not in svg.split(">", 1)[0]  # CSS sizes it; a fixed size would crop it


def test_a_second_email_of_the_link_within_ten_minutes_is_refused_saying_when_the_last_went(operator_client, settings):
    link = settings.GEARS_BASE_URL.rstrip("/") + "/gears/remediation/abc123"
    device = Device.objects.create(name="ws-042", hwid="HWIDMAIL01", owner_email="ada@example.com",
                                   remediation_state="link", remediation_link=link)
    url = reverse("devices:remediation-email", args=[device.pk])
    first = operator_client.post(url, headers=HTMX).content.decode()
    second = operator_client.post(url, headers=HTMX).content.decode()
    assert "Emailed the remediation link to ada@example.com." in first
    assert len(mail.outbox) == 1
    sent = AuditEntry.objects.get(verb="emailed")
    clock = timezone.localtime(sent.at).strftime("%H:%M:%S")
    assert f"Not sent again: the link went to ada@example.com at {clock}" in html.unescape(second)
    # Another owner address is another recipient; ten minutes later the same one may get it again.
    AuditEntry.objects.filter(pk=sent.pk).update(at=sent.at - timedelta(minutes=10, seconds=1))
    assert "Emailed the remediation link" in operator_client.post(url, headers=HTMX).content.decode()
    assert len(mail.outbox) == 2


def test_the_email_button_asks_first(operator_client, settings):
    link = settings.GEARS_BASE_URL.rstrip("/") + "/gears/remediation/abc123"
    device = Device.objects.create(name="ws-042", hwid="HWIDMAIL01", owner_email="ada@example.com",
                                   remediation_state="link", remediation_link=link)
    page = operator_client.get(device.get_absolute_url()).content.decode()
    assert 'hx-confirm="Email the remediation link of ws-042 to ada@example.com?"' in page
