"""htmx: fragments for partial swaps only, the script served from here, the CSRF header on every request."""

from __future__ import annotations

import re

from django.urls import reverse

LIST = reverse("devices:device-list")
HTMX = {"HX-Request": "true"}


def test_htmx_gets_the_table_fragment_and_others_the_full_page(viewer_client, sample_device):
    full = viewer_client.get(LIST)
    fragment = viewer_client.get(LIST, headers=HTMX)
    boosted = viewer_client.get(LIST, headers={**HTMX, "HX-Boosted": "true"})
    restore = viewer_client.get(LIST, headers={**HTMX, "HX-History-Restore-Request": "true"})
    assert "<html" in full.content.decode()
    assert "<html" not in fragment.content.decode() and "ws-042" in fragment.content.decode()
    assert "<html" in boosted.content.decode()
    assert "<html" in restore.content.decode()
    for response in (full, fragment, boosted):
        assert "HX-Request" in response["Vary"]


def test_pages_load_htmx_2_from_this_site_and_send_the_csrf_header(viewer_client):
    body = viewer_client.get(LIST).content.decode()
    assert 'hx-headers=\'{"X-CSRFToken": "' in body
    scripts = re.findall(r'<script[^>]*\bsrc="([^"]+)"', body)
    assert "/static/django_htmx/htmx-2.min.js" in scripts
    assert all(src.startswith("/static/") for src in scripts)  # never a CDN
