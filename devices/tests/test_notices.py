"""The notices' writer: each event noted once, whoever notes it, with what people need to read."""

from __future__ import annotations

from datetime import timedelta

import time_machine
from django.utils import timezone

from devices import notices, outbox
from devices.models import Action, CloudSync, Notice


def test_two_workers_noting_the_end_of_the_same_bulk_job_make_one_notice(operator, make_device):
    devices = [make_device(f"lab-{n}", hwid=f"LAB{n}") for n in range(2)]
    job = outbox.enqueue_bulk([d.pk for d in devices], "exempt_all", user=operator)
    notices.bulk_job_ended_if_done(job.pk)
    assert not Notice.objects.exists()  # both still waiting
    Action.objects.filter(bulk_job=job).update(status=Action.Status.SUCCEEDED, finished_at=timezone.now())
    notices.bulk_job_ended_if_done(job.pk)  # the worker that ended the first action, after its commit
    notices.bulk_job_ended_if_done(job.pk)  # and the one that ended the second
    (notice,) = Notice.objects.all()
    assert (notice.tone, notice.text) == ("success", f"Bulk job #{job.pk} (Exempt all issues, 2 devices) finished: 2 succeeded.")


def sync(**fields) -> CloudSync:
    return CloudSync.objects.create(trigger="schedule", started_at=timezone.now(), finished_at=timezone.now(), **fields)


def test_a_sync_end_is_noted_once_with_what_it_did_or_why_it_failed(db):
    done = sync(status="succeeded", added=3, updated=497, marked_missing=2)
    notices.sync_ended(done)
    notices.sync_ended(done)
    failed = sync(status="failed", error="HTTP 500 from the cloud on page 4")
    notices.sync_ended(failed)
    assert list(Notice.objects.values_list("kind", "tone", "text", "link")) == [
        ("sync_ended", "success", "The cloud sync finished: 3 devices added, 497 updated, 2 marked not in the cloud.", "/"),
        ("sync_ended", "error", "The cloud sync failed: HTTP 500 from the cloud on page 4.", "/"),
    ]


def test_a_long_text_is_cut_to_fit_and_old_notices_go(db):
    with time_machine.travel(timezone.now() - notices.KEEP - timedelta(minutes=1)):
        notices.note(Notice.Kind.PAUSED, "paused:old", "long ago")
    notices.note(Notice.Kind.PAUSED, "paused:new", "x" * 1000)
    (notice,) = Notice.objects.all()
    assert notice.key == "paused:new" and len(notice.text) == notices.TEXT_MAX
