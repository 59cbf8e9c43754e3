"""The cloud sync page, its button and its polled progress fragment."""

from __future__ import annotations

from datetime import timedelta

from django.urls import reverse
from django.utils import timezone

from devices.models import Action, ActionKind, CloudSync, Priority

HTMX = {"HX-Request": "true"}


def test_an_operator_starts_one_sync_and_a_second_press_starts_nothing(operator_client):
    response = operator_client.post(reverse("devices:sync-start"), follow=True)
    sync = CloudSync.objects.get()
    assert sync.is_running and sync.trigger == CloudSync.Trigger.OPERATOR and sync.requested_by.username == "otto"
    assert f"Cloud sync #{sync.pk} started" in response.content.decode()
    (page,) = Action.objects.all()
    assert (page.kind, page.device, page.cloud_sync, page.priority) == (ActionKind.SYNC_PAGE, None, sync, Priority.SYNC)
    progress = operator_client.get(reverse("devices:sync"), headers=HTMX).content.decode()
    assert "waiting for the first page" in progress and "Estimated to finish" in progress
    again = operator_client.post(reverse("devices:sync-start"), follow=True)
    assert "already running; nothing new was started" in again.content.decode()
    assert CloudSync.objects.count() == 1 and Action.objects.count() == 1


def test_a_viewer_sees_the_sync_but_cannot_start_one(viewer_client):
    body = viewer_client.get(reverse("devices:sync")).content.decode()
    assert "never been synced" in body and "Sync from the cloud now" not in body
    assert viewer_client.post(reverse("devices:sync-start")).status_code == 403
    assert not CloudSync.objects.exists()


def test_the_button_takes_a_post_only_and_the_page_needs_a_role(operator_client, client, nobody):
    assert operator_client.get(reverse("devices:sync-start")).status_code == 405
    assert "Sync from the cloud now" in operator_client.get(reverse("devices:sync")).content.decode()
    client.force_login(nobody)
    assert client.get(reverse("devices:sync")).status_code == 403
    assert client.post(reverse("devices:sync-start")).status_code == 403


def test_the_fragment_polls_while_a_sync_runs_and_stops_when_it_ended(viewer_client):
    now = timezone.now()
    sync = CloudSync.objects.create(trigger=CloudSync.Trigger.SCHEDULE, started_at=now, next_page=4, pages_total=10,
                                    devices_total=500, added=20, updated=7)
    response = viewer_client.get(reverse("devices:sync"), headers=HTMX)
    body = response.content.decode()
    assert response.status_code == 200 and "<html" not in body
    assert '<progress class="progress" max="10" value="3"' in body
    assert "page 3 of 10 done (30 %)" in body and "20 added, 7 updated" in body
    assert 'hx-trigger="every 2s"' in body
    CloudSync.objects.filter(pk=sync.pk).update(status=CloudSync.Status.FAILED, finished_at=now + timedelta(minutes=1),
                                                error="Page 4: HTTP 406 from the cloud", notes=["<b>not bold</b>"])
    ended = viewer_client.get(reverse("devices:sync"), headers=HTMX)
    body = ended.content.decode()
    assert ended.status_code == 286  # htmx stops polling
    assert "failed" in body and "Page 4: HTTP 406 from the cloud" in body
    assert "&lt;b&gt;not bold&lt;/b&gt;" in body and "<b>not bold" not in body
    assert "hx-trigger" not in body
