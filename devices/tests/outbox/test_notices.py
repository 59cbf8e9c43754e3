"""The outbox's notices: a bulk job's end, its cancellation, and sending pausing and resuming, each noted once."""

from __future__ import annotations

import pytest

from devices import outbox
from devices.models import Action, Notice
from devices.tests.outbox.fakes import transient
from devices.upstream import ActionResult, BulkActionResult, GearsAuthError, GearsRateLimited

OK = ActionResult(True, "OK", 200, None)
REFUSED = ActionResult(False, "Device not found", 200, None)


@pytest.fixture
def bulk_claims(fake_clock, outbox_settings, devices, operator):
    """`bulk_claims(n)`: a bulk job over n devices and its n actions claimed, not yet answered."""

    outbox_settings.GEARS_BATCH_SIZE = 1  # one claim per action: each answer is written on its own

    def make(count: int):
        job = outbox.enqueue_bulk([d.pk for d in devices(count)], "dhcprenew", user=operator, description="lab")
        claims = []
        for n in range(count):
            fake_clock.advance(0.2)
            claims.append(outbox.claim.claim_next(f"w{n}"))
        assert all(isinstance(c, outbox.claim.Claim) for c in claims)
        return job, claims

    return make


def test_a_bulk_job_is_noted_once_when_its_last_action_ends(bulk_claims, django_capture_on_commit_callbacks):
    job, (first, second, third) = bulk_claims(3)
    with django_capture_on_commit_callbacks(execute=True):
        outbox.outcome.finish(first, OK)
        outbox.outcome.finish(second, REFUSED)
    assert not Notice.objects.exists()  # one still under way
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        outbox.outcome.finish(third, OK)
        outbox.outcome.finish(third, OK)  # a late answer for an action already decided checks nothing
    assert len(callbacks) == 1
    (notice,) = Notice.objects.all()
    assert notice.kind == "bulk_ended" and notice.tone == "warning" and notice.link == f"/devices/bulk/{job.pk}/"
    assert notice.text == f"Bulk job #{job.pk} (Renew DHCP, 3 devices) finished: 2 succeeded, 1 failed."


def test_a_batch_that_ends_a_bulk_job_notes_it_once(fake_clock, outbox_settings, devices, operator,
                                                    django_capture_on_commit_callbacks):
    job = outbox.enqueue_bulk([d.pk for d in devices(3)], "dhcprenew", user=operator, description="lab")
    batch = outbox.claim.claim_next("w")
    assert isinstance(batch, outbox.claim.Batch) and len(batch.action_ids) == 3
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        outbox.outcome.finish_batch(batch, BulkActionResult((True, False, True), 200, None))
    assert len(callbacks) == 1
    (notice,) = Notice.objects.all()
    assert notice.text == f"Bulk job #{job.pk} (Renew DHCP, 3 devices) finished: 2 succeeded, 1 failed."


def test_an_action_that_will_be_retried_does_not_end_its_job(bulk_claims, django_capture_on_commit_callbacks):
    job, (only,) = bulk_claims(1)
    with django_capture_on_commit_callbacks(execute=True):
        outbox.outcome.finish(only, transient())
    assert Action.objects.get().status == "retrying" and not Notice.objects.exists()


def test_cancelling_a_bulk_job_is_noted_once_even_when_a_sent_action_ends_later(
        bulk_claims, operator, django_capture_on_commit_callbacks):
    job, (sent,) = bulk_claims(1)
    waiting = outbox.enqueue_bulk([sent_device(sent).pk], "unexempt", user=operator)
    assert outbox.cancel_bulk(waiting, user=operator) == 1
    outbox.cancel_bulk(waiting, user=operator)  # a second click
    assert outbox.cancel_bulk(job, user=operator) == 0  # its one action is being sent
    with django_capture_on_commit_callbacks(execute=True):
        outbox.outcome.finish(sent, OK)
    texts = sorted(Notice.objects.values_list("text", flat=True))
    assert texts == [
        f"Bulk job #{job.pk} (Renew DHCP) was cancelled: 0 waiting actions cancelled; those already sent keep their result.",
        f"Bulk job #{waiting.pk} (Remove exemption) was cancelled: 1 waiting action cancelled; "
        "those already sent keep their result.",
    ]


def sent_device(claim: outbox.claim.Claim):
    return Action.objects.get(pk=claim.action_id).device


@pytest.fixture
def calls(fake_clock, outbox_settings, devices, operator):
    """`calls(n)`: n clicks claimed one after another, not yet answered."""

    def claim(count: int) -> list[outbox.claim.Claim]:
        for device in devices(count):
            outbox.enqueue(device, "dhcprenew", user=operator)
        claims = []
        for n in range(count):
            fake_clock.advance(0.2)
            claims.append(outbox.claim.claim_next(f"w{n}"))
        return claims

    return claim


def notices() -> list[tuple[str, str]]:
    return list(Notice.objects.values_list("kind", "tone"))


def test_a_pause_for_failures_is_noted_once_however_often_the_probe_fails_and_its_end_once(calls):
    claims = calls(6)
    for claim in claims[:5]:
        outbox.outcome.finish(claim, transient())
    assert outbox.upstream_state().pause_kind == "failures"
    assert notices() == [("paused", "warning")]
    assert Notice.objects.get().text == "Sending to the cloud is paused: 3 failures in a row, the last: HTTP 500 from the cloud"
    outbox.outcome.finish(claims[5], OK)
    assert notices() == [("paused", "warning"), ("resumed", "success")]
    assert Notice.objects.last().link == "/devices/upstream/"


def test_refused_credentials_and_a_429_pause_as_alarms_and_an_operator_resumes(calls, operator):
    first, second, third = calls(3)
    outbox.outcome.finish(first, GearsAuthError("HTTP 401 from the cloud"))
    outbox.outcome.finish(second, GearsAuthError("HTTP 401 from the cloud"))
    assert outbox.upstream_state().pause_kind == "auth"
    outbox.resume(user=operator)
    outbox.resume(user=operator)  # nothing paused any more: nothing noted
    outbox.outcome.finish(third, GearsRateLimited("HTTP 429 from the cloud", retry_after=30))
    assert notices() == [("paused", "error"), ("resumed", "success"), ("paused", "error")]


def test_a_click_that_supersedes_a_jobs_last_waiting_action_ends_the_job(
        fake_clock, outbox_settings, devices, operator, django_capture_on_commit_callbacks):
    (device,) = devices(1)
    job = outbox.enqueue_bulk([device.pk], "exempt_all", user=operator)
    with django_capture_on_commit_callbacks(execute=True):
        outbox.enqueue(device, "unexempt", user=operator)
    (notice,) = Notice.objects.all()
    assert notice.text == f"Bulk job #{job.pk} (Exempt all issues, 1 devices) finished: 1 superseded."


def test_a_bulk_job_that_supersedes_anothers_last_action_ends_that_job(
        fake_clock, outbox_settings, devices, operator, django_capture_on_commit_callbacks):
    lab = devices(2)
    first = outbox.enqueue_bulk([d.pk for d in lab], "exempt_all", user=operator)
    with django_capture_on_commit_callbacks(execute=True):
        second = outbox.enqueue_bulk([d.pk for d in lab], "unexempt", user=operator)
    (notice,) = Notice.objects.all()
    assert notice.link == f"/devices/bulk/{first.pk}/" and "2 superseded" in notice.text
    assert not Notice.objects.filter(link=f"/devices/bulk/{second.pk}/").exists()  # still waiting


def test_cancelling_a_jobs_actions_one_by_one_ends_the_job_at_the_last(
        fake_clock, outbox_settings, devices, operator, django_capture_on_commit_callbacks):
    job = outbox.enqueue_bulk([d.pk for d in devices(2)], "dhcprenew", user=operator)
    first, second = job.actions.order_by("id")
    with django_capture_on_commit_callbacks(execute=True):
        outbox.cancel(first, user=operator)
    assert not Notice.objects.exists()
    with django_capture_on_commit_callbacks(execute=True):
        outbox.cancel(second, user=operator)
    (notice,) = Notice.objects.all()
    assert notice.text == f"Bulk job #{job.pk} (Renew DHCP, 2 devices) finished: 2 cancelled."


def test_a_lost_action_out_of_attempts_ends_its_job(bulk_claims, fake_clock, outbox_settings,
                                                    django_capture_on_commit_callbacks):
    outbox_settings.GEARS_MAX_ATTEMPTS = 1
    job, (claim,) = bulk_claims(1)
    fake_clock.advance(60)  # the worker vanished: its lease passed
    with django_capture_on_commit_callbacks(execute=True):
        assert outbox.claim.reap_lost(outbox.db_now()) == 1
    assert Action.objects.get().status == "failed"
    (notice,) = Notice.objects.all()
    assert notice.link == f"/devices/bulk/{job.pk}/" and "1 failed" in notice.text
