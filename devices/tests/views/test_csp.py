"""Every page is served with a Content-Security-Policy that it satisfies: no inline script,
no inline style, no event-handler attributes."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from devices.models import Action, BulkJob

HTMX = {"HX-Request": "true"}


class InlineCode(HTMLParser):
    """Collects what a CSP without 'unsafe-inline' would block."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag, attrs):
        names = {name for name, _ in attrs}
        if tag == "script" and "src" not in names:
            self.found.append("<script> without src")
        if tag == "style":
            self.found.append("<style> element")
        for name, value in attrs:
            if name == "style":
                self.found.append(f"<{tag} style={value!r}>")
            if name.startswith("on") or name.startswith("hx-on"):
                self.found.append(f"<{tag} {name}=...>")
            if value and value.strip().lower().startswith("javascript:"):
                self.found.append(f"<{tag} {name}=javascript:...>")


def inline_code(html: str) -> list[str]:
    parser = InlineCode()
    parser.feed(html)
    return parser.found


@pytest.fixture
def pages(admin_client_, make_device):
    """One URL for each kind of page, with the data that makes its parts show."""
    device = make_device("ws-042", hwid="WS042", macs=["00:0c:29:f2:7a:29"], owner_name="Ada", owner_email="ada@example.com")
    device.remediation_state = "link"
    device.remediation_link = settings.GEARS_BASE_URL + "/gears/remediation/ws-042"
    device.remediation_fetched_at = timezone.now()
    device.save()
    admin_client_.post(reverse("devices:action-create", args=[device.pk]), {"kind": "dhcprenew"})
    Action.objects.exclude(kind="remediation").get()  # the click was queued
    admin_client_.post(
        reverse("devices:bulk-action"), {"kind": "exempt_all", "select_all_matching": "1", "q": "", "confirm": "yes"}
    )
    job = BulkJob.objects.get()
    upload = SimpleUploadedFile("devices.csv", b"name,hwid,macs\nnew-1,NEW1,\nbad,,not-a-mac\n", content_type="text/csv")
    preview = admin_client_.post(reverse("devices:import-upload"), {"file": upload})
    assert preview.status_code == 302, preview.content.decode()[:500]
    return {
        "device list": reverse("devices:device-list"),
        "device page": device.get_absolute_url(),
        "device form": reverse("devices:device-edit", args=[device.pk]),
        "bulk jobs": reverse("devices:bulk-list"),
        "bulk job": job.get_absolute_url(),
        "upstream": reverse("devices:upstream"),
        "audit log": reverse("devices:audit-log"),
        "import": reverse("devices:import-upload"),
        "import preview": preview["Location"],
        "remediation card": reverse("devices:remediation-card", args=[device.pk]),
        "remediation panel": reverse("devices:remediation-panel", args=[device.pk]),
        "device history": reverse("devices:device-history", args=[device.pk]),
        "api tokens": reverse("devices:tokens"),
    }


@pytest.mark.django_db
def test_every_page_carries_the_policy_and_has_no_inline_script_or_style(admin_client_, pages):
    for name, url in pages.items():
        response = admin_client_.get(url)
        assert response.status_code in (200, 286), name  # 286: a fragment that polls no more
        policy = response.headers.get("Content-Security-Policy", "")
        for directive in ("default-src 'self'", "script-src 'self'", "style-src 'self'", "object-src 'none'", "frame-ancestors 'none'"):
            assert directive in policy, (name, policy)
        assert "unsafe-inline" not in policy
        assert inline_code(response.content.decode()) == [], name


@pytest.mark.django_db
def test_htmx_fragments_have_no_inline_script_or_style(admin_client_, pages):
    for name in ("device list", "bulk job", "upstream", "remediation panel", "device history"):
        response = admin_client_.get(pages[name], headers=HTMX)
        assert response.status_code in (200, 286), name
        assert inline_code(response.content.decode()) == [], name


@pytest.mark.django_db
def test_the_login_and_error_pages_carry_the_policy_too(client):
    for url, status in (("/accounts/login/", 200), ("/devices/", 302)):
        response = client.get(url)
        assert response.status_code == status
        assert "script-src 'self'" in response.headers["Content-Security-Policy"]
        assert inline_code(response.content.decode()) == []


def test_the_finder_finds_inline_code():
    found = inline_code('<p style="x" onclick="y"><script>z</script><style></style><a href="javascript:q"></a><b hx-on:click="w">')
    assert len(found) == 6


@pytest.mark.django_db
def test_htmx_is_told_not_to_insert_its_indicator_style(client):
    """htmx 2 adds a <style> element for its indicators unless its config says not to."""
    import json
    import re

    page = client.get("/accounts/login/").content.decode()
    config = re.search(r"<meta name=\"htmx-config\" content='([^']*)'>", page)
    assert config and json.loads(config[1])["includeIndicatorStyles"] is False
