"""Queueing: coalescing, superseding, priorities, bulk fan-out, cancel, retry, and the enqueue race."""

from __future__ import annotations

import pytest
from django.db import IntegrityError
from django.db.models.signals import pre_save
from django.urls import reverse

from devices import outbox, remediation
from devices.models import Action, AuditEntry, BulkJob, Device, Priority


def test_a_double_click_makes_one_action_and_dhcprenew_is_not_queued_twice(outbox_settings, devices, operator):
    (device,) = devices(1)
    assert outbox.enqueue(device, "exempt_all", user=operator).created
    assert not outbox.enqueue(device, "exempt_all", user=operator).created
    assert outbox.enqueue(device, "dhcprenew", user=operator).created
    assert not outbox.enqueue(device, "dhcprenew", user=operator).created
    assert Action.objects.count() == 2
    assert AuditEntry.objects.filter(verb="queued").count() == 2


def test_a_newer_exemption_change_supersedes_the_waiting_one(outbox_settings, devices, operator):
    (device,) = devices(1)
    first = outbox.enqueue(device, "exempt_all", user=operator).action
    second = outbox.enqueue(device, "unexempt", user=operator)
    first.refresh_from_db()
    assert first.status == "superseded" and first.superseded_by_id == second.action.pk
    assert second.superseded == first


def test_a_click_on_a_waiting_bulk_action_raises_its_priority(outbox_settings, devices, operator):
    (device,) = devices(1)
    job = outbox.enqueue_bulk([device.pk], "dhcprenew", user=operator)
    queued = outbox.enqueue(device, "dhcprenew", user=operator)
    assert not queued.created and queued.action.bulk_job == job
    assert Action.objects.get().priority == Priority.CLICK


def test_a_click_supersedes_a_waiting_bulk_exemption_and_a_second_bulk_skips_what_waits(
        outbox_settings, devices, operator):
    three = devices(3)
    job = outbox.enqueue_bulk([d.pk for d in three], "exempt_all", user=operator)
    outbox.enqueue(three[0], "unexempt", user=operator)
    assert job.actions.filter(status="superseded").count() == 1
    again = outbox.enqueue_bulk([d.pk for d in three], "exempt_all", user=operator)
    assert (again.requested, again.already_queued) == (3, 2)


def test_a_bulk_exemption_supersedes_a_different_waiting_change_and_links_its_replacement(
        outbox_settings, devices, operator):
    (device,) = devices(1)
    waiting = outbox.enqueue(device, "exempt_all", user=operator).action
    job = outbox.enqueue_bulk([device.pk], "unexempt", user=operator)
    waiting.refresh_from_db()
    assert waiting.status == "superseded" and waiting.superseded_by == job.actions.get()


def test_a_bulk_job_over_more_devices_than_one_statement_takes_keeps_every_rule(outbox_settings, operator):
    """2,000 devices (several statements' worth): some wait for the same action, some
    for a different exemption, one is named twice, one no longer exists."""
    Device.objects.bulk_create([Device(name=f"scale-{i:04d}", hwid=f"SCALE{i:011d}") for i in range(2000)])
    ids = list(Device.objects.order_by("pk").values_list("pk", flat=True))
    same = outbox.enqueue_bulk(ids[:700], "exempt_all", user=operator)
    other = outbox.enqueue_bulk(ids[700:1300], "unexempt", user=operator)
    gone = Device.objects.create(name="deleted-meanwhile").pk
    Device.objects.filter(pk=gone).delete()

    job = outbox.enqueue_bulk([*ids, ids[0], gone], "exempt_all", user=operator, description="all 2,000")

    assert job.requested == 2001  # distinct ids named
    assert job.actions.count() == 1300 and job.already_queued == 701
    assert same.actions.filter(status="queued").count() == 700  # the same action waited: left alone
    replaced = other.actions.all()
    assert {a.status for a in replaced} == {"superseded"}
    assert all(a.superseded_by.device_id == a.device_id and a.superseded_by.bulk_job_id == job.pk for a in replaced)
    fresh = job.actions.first()
    assert (fresh.kind, fresh.status, fresh.priority, fresh.requested_by, fresh.coalesce_key) == (
        "exempt_all", "queued", Priority.BULK, operator, f"exemption:{fresh.device_id}")
    assert Action.objects.filter(status__in=Action.PENDING).count() == 2000  # one per device
    assert AuditEntry.objects.get(bulk_job=job).detail == "1300 devices queued, 701 already waiting; all 2,000"


def test_a_bulk_dhcprenew_leaves_a_waiting_exemption_change_alone(outbox_settings, devices, operator):
    (device,) = devices(1)
    waiting = outbox.enqueue(device, "unexempt", user=operator).action
    job = outbox.enqueue_bulk([device.pk], "dhcprenew", user=operator)
    waiting.refresh_from_db()
    assert waiting.status == "queued" and waiting.superseded_by is None
    assert job.actions.get().status == "queued" and job.already_queued == 0


def test_a_bulk_job_does_not_supersede_an_action_a_drainer_claimed_meanwhile(outbox_settings, devices, operator):
    (device,) = devices(1)
    waiting = outbox.enqueue(device, "exempt_all", user=operator).action
    Action.objects.filter(pk=waiting.pk).update(status="sending")
    job = outbox.enqueue_bulk([device.pk], "unexempt", user=operator)
    waiting.refresh_from_db()
    assert waiting.status == "sending" and waiting.superseded_by is None
    assert job.actions.get().status == "queued"


def test_a_bulk_description_longer_than_its_field_is_cut_to_fit(outbox_settings, devices, operator):
    (device,) = devices(1)
    job = outbox.enqueue_bulk([device.pk], "dhcprenew", user=operator, description="x" * 1000)
    assert len(job.description) == BulkJob._meta.get_field("description").max_length


def test_an_unknown_action_kind_is_refused(outbox_settings, devices, operator):
    (device,) = devices(1)
    with pytest.raises(ValueError):
        outbox.enqueue(device, "reboot", user=operator)
    with pytest.raises(ValueError):
        outbox.enqueue_bulk([device.pk], "reboot", user=operator)


def test_cancel_and_retry_are_recorded_in_the_audit_log(outbox_settings, devices, operator):
    waiting = outbox.enqueue(devices(1)[0], "dhcprenew", user=operator).action
    assert outbox.cancel(waiting, user=operator)
    assert not outbox.cancel(waiting, user=operator)  # already final
    again = outbox.retry(Action.objects.get(pk=waiting.pk), user=operator)
    assert again.created and again.action.status == "queued"
    assert list(AuditEntry.objects.order_by("id").values_list("verb", "username")) == [
        ("queued", "otto"), ("cancelled", "otto"), ("queued", "otto"), ("retried", "otto")]


def test_only_failed_or_cancelled_actions_can_be_retried(outbox_settings, devices, operator):
    waiting = outbox.enqueue(devices(1)[0], "dhcprenew", user=operator).action
    with pytest.raises(ValueError):
        outbox.retry(waiting, user=operator)


def test_cancelling_a_bulk_job_cancels_only_what_still_waits(outbox_settings, devices, operator):
    four = devices(4)
    job = outbox.enqueue_bulk([d.pk for d in four], "dhcprenew", user=operator)
    job.actions.filter(device=four[0]).update(status="succeeded")
    assert outbox.cancel_bulk(job, user=operator) == 3
    job.refresh_from_db()
    assert job.cancelled_at and job.cancelled_by == operator
    assert job.actions.filter(status="succeeded").count() == 1
    assert AuditEntry.objects.get(verb="bulk_cancelled").detail == "3 waiting actions cancelled"


# ------------------------------------------------------------------ the enqueue race


@pytest.fixture
def rival_request():
    """Another request inserts the same pending action between enqueue's read and its insert.

    The rival row goes in through bulk_create (no signal), just before our
    INSERT; `rival_request(times)` makes it happen on the first `times` tries.
    """
    seen = []

    def install(times: int):
        def insert_rival(sender, instance, **kwargs):
            if instance.pk is None and len(seen) < times:
                seen.append(instance.coalesce_key)
                Action.objects.bulk_create([Action(device_id=instance.device_id, kind=instance.kind,
                                                   coalesce_key=instance.coalesce_key, not_before=instance.not_before)])

        pre_save.connect(insert_rival, sender=Action, weak=False, dispatch_uid="rival")
        return seen

    yield install
    pre_save.disconnect(sender=Action, dispatch_uid="rival")


def test_an_enqueue_that_loses_the_race_tries_again_and_queues_one_action(outbox_settings, devices, operator,
                                                                          rival_request):
    (device,) = devices(1)
    tries = rival_request(times=1)
    queued = outbox.enqueue(device, "dhcprenew", user=operator)
    assert len(tries) == 1  # the first insert hit the one-pending-action constraint
    assert queued.created and Action.objects.get() == queued.action
    assert AuditEntry.objects.filter(verb="queued").count() == 1


def test_an_enqueue_that_keeps_losing_the_race_gives_up_after_three_tries(outbox_settings, devices, operator,
                                                                         rival_request):
    (device,) = devices(1)
    tries = rival_request(times=10)
    with pytest.raises(IntegrityError):
        outbox.enqueue(device, "dhcprenew", user=operator)
    assert len(tries) == 3


# ------------------------------------------------------------------ page views go below clicks


def _open_pages(client, user, devices) -> None:
    client.force_login(user)
    for device in devices:
        assert client.get(reverse("devices:device-detail", args=[device.pk])).status_code == 200


def test_a_click_goes_out_before_the_fetches_of_a_hundred_pages_a_viewer_opened(
        client, fake_upstream, run_drain, devices, viewer, operator):
    pages = devices(101)
    _open_pages(client, viewer, pages[:100])
    in_flight = outbox.claim.claim_next("other-worker")  # one page-view fetch already on its way
    assert isinstance(in_flight, outbox.claim.Claim) and in_flight.kind == "remediation"
    client.force_login(operator)
    client.post(reverse("devices:action-create", args=[pages[100].pk]), {"kind": "dhcprenew"})
    click = Action.objects.get(kind="dhcprenew")
    views = Action.objects.filter(kind="remediation", status="queued")
    assert outbox.queue_rank(click) == 0
    assert all(outbox.queue_rank(fetch) > 0 for fetch in views)
    assert all(outbox.estimated_send_time(click) <= outbox.estimated_send_time(fetch) for fetch in views)
    run_drain(max_runtime=0.5)
    assert fake_upstream.sent()[0].kind == "dhcprenew"
    assert fake_upstream.sent()[0].identifier == pages[100].hwid


def test_a_user_has_at_most_three_page_view_fetches_waiting_and_the_page_says_so(
        client, fake_upstream, run_drain, devices, viewer, operator):
    pages = devices(10)
    _open_pages(client, viewer, pages[:9])
    mine = Action.objects.filter(kind="remediation", requested_by=viewer, status__in=Action.PENDING)
    assert mine.count() == remediation.PAGE_VIEW_FETCHES == 3
    page = client.get(reverse("devices:device-detail", args=[pages[8].pk]))
    assert "Not refreshed now: 3 fetches for other device pages you opened are still waiting" in page.content.decode()
    _open_pages(client, operator, [pages[9]])  # another user's page view is not held back by the viewer's cap
    assert Action.objects.filter(kind="remediation", requested_by=operator).count() == 1
    run_drain()
    _open_pages(client, viewer, [pages[8]])  # once its fetches are done, a page view fetches again
    assert mine.count() == 1 and mine.get().device == pages[8]


def test_an_operators_page_view_goes_below_clicks_and_refresh_now_stays_a_click(
        client, fake_upstream, devices, operator):
    first, second, third = devices(3)
    _open_pages(client, operator, [first, second])
    assert set(Action.objects.values_list("priority", flat=True)) == {Priority.PAGE_VIEW}
    client.post(reverse("devices:remediation-refresh", args=[third.pk]))
    refresh = Action.objects.get(device=third)
    assert refresh.priority == Priority.CLICK and outbox.queue_rank(refresh) == 0
    client.post(reverse("devices:remediation-refresh", args=[second.pk]))  # raises the waiting page-view fetch
    assert Action.objects.get(device=second).priority == Priority.CLICK
