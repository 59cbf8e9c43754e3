"""What a browser gets for the favicon and for a page that is not there."""

from __future__ import annotations

import re
import urllib.request

import pytest


@pytest.mark.django_db
def test_the_favicon_is_linked_from_every_page_and_answers_without_a_login(client):
    login_page = client.get("/accounts/login/").content.decode()
    (href,) = re.findall(r'<link rel="icon" href="([^"]+)" type="image/svg\+xml">', login_page)
    answer = client.get("/favicon.ico")
    assert answer.status_code == 302 and answer["Location"] == href


def test_the_favicon_is_an_svg_a_browser_can_fetch(live_server):
    with urllib.request.urlopen(live_server.url + "/favicon.ico") as answer:  # follows the redirect
        assert answer.status == 200
        assert answer.headers["Content-Type"].startswith("image/svg+xml")
        assert answer.read().lstrip().startswith(b"<svg")
