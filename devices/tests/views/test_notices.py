"""The notices feed every page polls: only what is newer than the page's cursor, to signed-in people."""

from __future__ import annotations

from datetime import timedelta

import time_machine
from django.urls import reverse
from django.utils import timezone

from devices import notices
from devices.models import Notice

FEED = reverse("devices:notices")


def noted(key: str) -> Notice:
    notices.note(Notice.Kind.SYNC_ENDED, key, f"<b>{key}</b>", link="/")
    return Notice.objects.get(key=key)


def test_the_feed_returns_only_notices_newer_than_the_cursor(viewer_client):
    first, second, third = noted("a"), noted("b"), noted("c")
    response = viewer_client.get(FEED, {"after": first.pk})
    assert response["Content-Type"] == "application/json" and "no-store" in response["Cache-Control"]
    data = response.json()
    assert [n["text"] for n in data["notices"]] == ["<b>b</b>", "<b>c</b>"]  # text: the page sets it as text
    assert data["notices"][0] == {"id": second.pk, "kind": "sync_ended", "tone": "info", "text": "<b>b</b>",
                                  "link": "/", "at": second.created_at.isoformat()}
    assert data["last"] == third.pk
    assert viewer_client.get(FEED, {"after": third.pk}).json() == {"notices": [], "last": third.pk}


def test_a_tabs_first_poll_gets_what_was_noted_since_its_page_and_the_cursor(viewer_client):
    page_rendered = timezone.now()
    with time_machine.travel(page_rendered - timedelta(seconds=5)):
        before = noted("before")
    data = viewer_client.get(FEED, {"since": f"{page_rendered.timestamp():.6f}"}).json()
    assert data == {"notices": [], "last": before.pk}
    with time_machine.travel(page_rendered + timedelta(seconds=1)):
        after = noted("after")
    data = viewer_client.get(FEED, {"since": f"{page_rendered.timestamp():.6f}"}).json()
    assert [n["id"] for n in data["notices"]] == [after.pk] and data["last"] == after.pk


def test_bad_cursors_are_refused_with_a_message(viewer_client):
    for query in ({}, {"after": "-1"}, {"after": "²"}, {"after": "9" * 30}, {"since": "nan"}, {"since": "inf"},
                  {"since": "-5"}, {"since": "yesterday"}):
        response = viewer_client.get(FEED, query)
        assert response.status_code == 400, query
        assert response.json() == {"error": "Give after=<notice id> or since=<seconds since 1970>."}


def test_the_feed_needs_a_login_and_a_role(client, nobody):
    response = client.get(FEED, {"after": 0})
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))
    client.force_login(nobody)
    assert client.get(FEED, {"after": 0}).status_code == 403


def test_pages_name_the_feed_and_when_they_were_rendered_for_people_who_may_read_it(viewer_client, client, nobody):
    body = viewer_client.get(reverse("devices:device-list")).content.decode()
    assert f'data-notices="{FEED}" data-notices-since="' in body
    assert '<div class="visually-hidden" aria-live="polite" aria-atomic="true" data-toast-announcer>' in body
    client.force_login(nobody)
    assert "data-notices" not in client.get(reverse("password_change")).content.decode()
