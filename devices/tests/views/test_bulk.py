"""Bulk jobs: asked with a count and an ETA, followed live, cancelled."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from devices import outbox
from devices.models import Action, BulkJob, Device
from gearsdash.env import RateLimit

HTMX = {"HX-Request": "true"}


def test_bulk_asks_with_the_count_and_an_eta_then_shows_the_job(operator_client, make_device, settings):
    settings.GEARS_RATE_LIMIT = RateLimit(10, 60)
    for n in range(25):
        make_device(f"lab-{n}", hwid=f"LAB{n}")
    url = reverse("devices:bulk-action")
    confirm = operator_client.post(url, {"kind": "exempt_all", "select_all_matching": "1", "q": "lab"})
    body = confirm.content.decode()
    assert "Exempt all issues on 25 devices?" in body
    assert "10 requests per 60 s" in body and '<strong id="bulk-requests">1 request</strong>' in body
    assert not Action.objects.exists()
    done = operator_client.post(url, {"kind": "exempt_all", "select_all_matching": "1", "q": "lab", "confirm": "yes"})
    job = BulkJob.objects.get()
    assert done["Location"] == job.get_absolute_url()
    assert job.actions.count() == 25 and job.actions.filter(priority=9).count() == 25
    page = operator_client.get(job.get_absolute_url()).content.decode()
    assert "0</strong> of 25 done" in page and "Estimated to finish" in page
    operator_client.post(reverse("devices:bulk-cancel", args=[job.pk]))
    assert job.actions.filter(status="cancelled").count() == 25
    final = operator_client.get(job.get_absolute_url(), headers=HTMX)
    assert final.status_code == 286 and "Cancelled" in final.content.decode()


def test_bulk_with_nothing_selected_queues_nothing(operator_client):
    response = operator_client.post(reverse("devices:bulk-action"), {"kind": "dhcprenew"}, follow=True)
    assert "No devices were selected" in response.content.decode()
    assert not BulkJob.objects.exists()


def test_a_bulk_selection_by_filter_goes_back_to_the_same_encoded_filter(operator_client, make_device):
    make_device("R&D lab", hwid="RND1")
    confirm = operator_client.post(reverse("devices:bulk-action"), {"kind": "dhcprenew", "select_all_matching": "1", "q": "R&D", "remediation": "unknown"})
    body = confirm.content.decode()
    assert "on 1 device?" in body
    assert 'href="/devices/?q=R%26D&amp;remediation=unknown"' in body


def _job_with_outcomes(make_device, user, outcomes: dict[str, str]) -> BulkJob:
    """A bulk job over one device per entry of `outcomes` (name -> final status)."""
    devices = [make_device(name, hwid=f"H{n:03d}") for n, name in enumerate(outcomes)]
    job = outbox.enqueue_bulk([d.pk for d in devices], "exempt_all", user=user, description="3 selected devices")
    for device in devices:
        status = outcomes[device.name]
        answer = {"failed": {"http_status": 404, "upstream_msg": "Device not found"},
                  "succeeded": {"http_status": 200, "upstream_msg": "OK"}}.get(status, {})
        Action.objects.filter(bulk_job=job, device=device).update(status=status, finished_at=timezone.now(), **answer)
    return job


def test_a_failed_job_lists_which_devices_failed_and_the_clouds_answer(operator_client, operator, make_device):
    job = _job_with_outcomes(make_device, operator, {"lab-a": "failed", "lab-b": "failed", "lab-c": "failed"})
    response = operator_client.get(job.get_absolute_url())
    body = response.content.decode()
    assert "Finished</strong>: 0 succeeded, 3 failed." in body
    assert "of 3 done" not in body
    rows = body[body.index('<table class="bulk-actions"'):]
    for name in ("lab-a", "lab-b", "lab-c"):
        assert name in rows
    assert rows.count("HTTP 404 Device not found") == 3
    # The bar shows the outcome: all of it failed, none of it the "done" blue.
    assert '<rect class="segment failed" x="0.0" width="100.0"' in body
    assert 'class="segment succeeded"' not in body
    assert "Retry the 3 failed" in body


def test_the_jobs_actions_are_filtered_by_status_and_paged(operator_client, operator, make_device):
    outcomes = {f"ok-{n:02d}": "succeeded" for n in range(55)} | {"bad-1": "failed"}
    job = _job_with_outcomes(make_device, operator, outcomes)
    body = operator_client.get(job.get_absolute_url()).content.decode()
    assert "Finished</strong>: 55 succeeded, 1 failed." in body
    assert "Page 1 of 2" in body
    assert '<rect class="segment succeeded" x="0.0" width="98.2"' in body
    assert '<rect class="segment failed" x="98.2" width="1.8"' in body
    failed = operator_client.get(job.get_absolute_url(), {"status": "failed"}).content.decode()
    rows = failed[failed.index('<table class="bulk-actions"'):]
    assert "bad-1" in rows and "ok-00" not in rows and "Page 1 of" not in rows
    assert 'aria-current="true"' in failed  # the filter in use is marked
    ignored = operator_client.get(job.get_absolute_url(), {"status": "bogus"}).content.decode()
    assert "ok-00" in ignored and "bad-1" in ignored


def test_a_viewer_sees_the_failures_but_no_retry(viewer_client, operator, make_device):
    job = _job_with_outcomes(make_device, operator, {"lab-a": "failed"})
    body = viewer_client.get(job.get_absolute_url()).content.decode()
    assert "HTTP 404 Device not found" in body
    assert "Retry the" not in body


def test_retry_failed_queues_a_new_job_for_the_failed_devices_only(operator_client, operator, make_device):
    job = _job_with_outcomes(make_device, operator, {"lab-a": "failed", "lab-b": "succeeded", "lab-c": "failed"})
    url = reverse("devices:bulk-action")
    confirm = operator_client.post(url, {"kind": "exempt_all", "retry_failed_of": str(job.pk)})
    body = confirm.content.decode()
    assert "Exempt all issues on 2 devices?" in body
    assert f"the 2 devices whose action failed in bulk job #{job.pk}" in body.lower()
    assert f'href="{job.get_absolute_url()}"' in body  # Cancel goes back to the job
    done = operator_client.post(url, {"kind": "exempt_all", "retry_failed_of": str(job.pk), "confirm": "yes"})
    retry = BulkJob.objects.exclude(pk=job.pk).get()
    assert done["Location"] == retry.get_absolute_url()
    assert sorted(retry.actions.values_list("device__name", flat=True)) == ["lab-a", "lab-c"]
    assert retry.actions.filter(status="queued").count() == 2


def test_a_cancelled_job_says_cancelled_not_all_done(operator_client, operator, make_device):
    job = _job_with_outcomes(make_device, operator, {"lab-a": "succeeded", "lab-b": "queued", "lab-c": "queued"})
    operator_client.post(reverse("devices:bulk-cancel", args=[job.pk]))
    final = operator_client.get(job.get_absolute_url(), headers=HTMX)
    body = final.content.decode()
    assert final.status_code == 286
    assert "Cancelled" in body and "1 succeeded, 2 cancelled before they were sent." in body
    assert "of 3 done" not in body and "100 %" not in body
    assert '<rect class="segment cancelled" x="33.3" width="66.7"' in body


def test_the_confirmation_describes_a_filter_in_words(operator_client, make_device):
    make_device("a-lab", hwid="ALAB", macs=["00:0c:29:00:00:01", "00:0c:29:00:00:02"])
    confirm = operator_client.post(reverse("devices:bulk-action"), {
        "kind": "dhcprenew", "select_all_matching": "1", "q": "a", "identifier": "multi_mac",
        "owner": "unassigned", "sort": "-owner",
    })
    body = confirm.content.decode()
    assert "on 1 device?" in body
    assert "All devices where the search is “a”, identifier is “Several MACs”, owner is “No owner”." in body
    text = body.split('<form method="post" action="/devices/bulk/actions/"')[0]  # the words, not the Cancel link
    assert "All devices where" in text and "q=a&amp;identifier" not in text and "sort=" not in text
    everything = operator_client.post(reverse("devices:bulk-action"), {"kind": "dhcprenew", "select_all_matching": "1"})
    assert "All devices (no filter)." in everything.content.decode()


def test_the_confirmation_gives_one_duration_not_two_that_disagree(operator_client, make_device, settings):
    settings.GEARS_RATE_LIMIT = RateLimit(10, 60)
    for n in range(28):
        make_device(f"lab-{n}", hwid=f"LAB{n}")
    body = operator_client.post(reverse("devices:bulk-action"), {"kind": "exempt_all", "select_all_matching": "1", "q": "lab"}).content.decode()
    assert "takes about" in body and "estimated done at" in body
    assert "from now" not in body  # a floored "2 minutes from now" beside a rounded "about 3 min"


def eta_in(body: str, element_id: str) -> datetime:
    return datetime.fromisoformat(re.search(rf'id="{element_id}" datetime="([^"]+)"', body)[1])


def test_3000_exempt_all_are_60_requests_and_minutes_not_hours(operator_client, lab_devices, settings, frozen_clock):
    settings.GEARS_RATE_LIMIT = RateLimit(10, 60)
    lab_devices(3000)
    url, form = reverse("devices:bulk-action"), {"kind": "exempt_all", "select_all_matching": "1", "q": "lab"}
    body = operator_client.post(url, form).content.decode()
    assert "Exempt all issues on 3,000 devices?" in body and "Up to 50 devices go in one request" in body
    assert '<strong id="bulk-requests">60 requests</strong>' in body
    # 59 spacings at 9 requests per minute (the tenth is kept for clicks): about 6.7 min.
    assert re.search(r'<strong id="bulk-duration">[67] min</strong>', body)

    settings.GEARS_BATCH_SIZE = 1
    one_by_one = operator_client.post(url, form).content.decode()
    assert "One device per request" in one_by_one and '<strong id="bulk-requests">3,000 requests</strong>' in one_by_one
    assert re.search(r'<strong id="bulk-duration">5 h \d+ min</strong>', one_by_one)

    settings.GEARS_BATCH_SIZE = 50
    operator_client.post(url, {**form, "confirm": "yes"})
    page = operator_client.get(BulkJob.objects.get().get_absolute_url()).content.decode()
    assert '<span id="bulk-requests-left">60 requests to go</span> (up to 50 devices each)' in page
    assert timedelta(minutes=6) < eta_in(page, "bulk-eta") - frozen_clock < timedelta(minutes=7)


def test_a_job_on_devices_of_both_identifier_types_makes_a_batch_of_each(
        operator_client, lab_devices, operator, frozen_clock):
    by_hwid, by_mac = lab_devices(20), lab_devices(20, hwid=False)
    job = outbox.enqueue_bulk([d.pk for pair in zip(by_hwid, by_mac, strict=True) for d in pair], "unexempt",
                              user=operator)
    page = operator_client.get(job.get_absolute_url()).content.decode()
    assert '<span id="bulk-requests-left">2 requests to go</span>' in page
    view = outbox.budget_view()
    assert eta_in(page, "bulk-eta") == view.bulk_slot + timedelta(seconds=view.bulk_seconds_per_call)


def test_exempt_critical_goes_one_device_per_request(operator_client, lab_devices):
    lab_devices(3)
    body = operator_client.post(reverse("devices:bulk-action"),
                                {"kind": "exempt_critical", "select_all_matching": "1", "q": "lab"}).content.decode()
    assert "One device per request" in body and '<strong id="bulk-requests">3 requests</strong>' in body


def test_the_job_list_pages_so_jobs_past_the_newest_25_can_be_reached(viewer_client):
    BulkJob.objects.bulk_create(BulkJob(kind="dhcprenew", description=f"job-{n:02}") for n in range(30))
    url = reverse("devices:bulk-list")
    first = viewer_client.get(url).content.decode()
    assert "job-29" in first and "job-05" in first and "job-04" not in first
    assert "Page 1 of 2" in first and 'href="?page=2" rel="next"' in first
    second = viewer_client.get(url, {"page": 2}).content.decode()
    assert all(f"job-{n:02}" in second for n in range(5)) and "job-05" not in second
    assert 'href="?page=1" rel="prev"' in second and "Next" not in second


def test_a_page_past_the_end_of_the_job_list_shows_the_last_page(viewer_client):
    BulkJob.objects.bulk_create(BulkJob(kind="unexempt", description=f"job-{n:02}") for n in range(26))
    body = viewer_client.get(reverse("devices:bulk-list"), {"page": "99"}).content.decode()
    assert "job-00" in body and "Page 2 of 2" in body


NOT_IDS = ["²", "٣", "１２", "9223372036854775808", "99999999999999999999999", "-1", "0", "1.0", " 1"]


@pytest.mark.parametrize("value", NOT_IDS)
@pytest.mark.parametrize("field", ["device", "retry_failed_of"])
@pytest.mark.parametrize("view", ["devices:bulk-action", "devices:device-bulk-delete"])
def test_a_bulk_post_with_an_id_that_is_not_ascii_digits_in_range_is_refused_saying_which(
    admin_client_, make_device, value, field, view
):
    device = make_device("lab-1", hwid="LAB1")
    post = {"kind": "exempt_all", "confirm": "yes", field: value}
    if field == "device":
        post["device"] = [str(device.pk), value]
    response = admin_client_.post(reverse(view), post)
    assert response.status_code == 400
    assert f"{field}=" in response.content.decode() and "is not a record number" in response.content.decode()
    assert not Action.objects.exists() and not BulkJob.objects.exists() and Device.objects.count() == 1
