"""/api/v1/bulk-jobs/: one action over devices by ids or by the list's filter, its results per device, cancelling."""

from __future__ import annotations

import pytest

from devices.models import Action, BulkJob, Compliance, Device, Priority
from devices.tests.api.conftest import bearer

JOBS = "/api/v1/bulk-jobs/"


@pytest.fixture
def operator_api(client, operator, make_token, settings):
    settings.GEARS_KICK_DRAINER = False
    _, plain = make_token(operator, ["devices:read", "actions:write", "exemptions:write"])
    client.defaults.update(bearer(plain))
    return client


def post(client, body):
    return client.post(JOBS, body, content_type="application/json")


def test_a_job_by_filter_queues_what_the_list_would_show_at_bulk_priority(operator_api, lab_devices):
    made = lab_devices(6)
    Device.objects.filter(pk__in=[d.pk for d in made[:4]]).update(compliance=Compliance.NON_COMPLIANT)
    created = post(operator_api, {"kind": "dhcprenew", "filter": {"compliance": "non_compliant"}})
    assert created.status_code == 202
    job = created.json()
    assert (job["requested"], job["pending"], job["counts"]["queued"]) == (4, 4, 4)
    assert "Non-compliant" in job["description"]
    assert operator_api.get(created["Location"]).json()["id"] == job["id"]
    assert set(Action.objects.values_list("priority", flat=True)) == {Priority.BULK}


def test_a_job_by_ids_and_its_results_filtered_by_status(operator_api, lab_devices):
    made = lab_devices(3)
    job = post(operator_api, {"kind": "exempt_all", "device_ids": [d.pk for d in made]}).json()
    Action.objects.filter(device=made[0]).update(status=Action.Status.FAILED)
    results = operator_api.get(f"{JOBS}{job['id']}/results/", {"status": "failed"}).json()["results"]
    assert [(r["device"], r["status"]) for r in results] == [(made[0].pk, "failed")]
    assert operator_api.get(f"{JOBS}{job['id']}/results/", {"status": "lost"}).status_code == 400


def test_delete_cancels_only_what_still_waits(operator_api, lab_devices):
    made = lab_devices(3)
    job = post(operator_api, {"kind": "dhcprenew", "device_ids": [d.pk for d in made]}).json()
    Action.objects.filter(device=made[0]).update(status=Action.Status.SUCCEEDED)
    assert operator_api.delete(f"{JOBS}{job['id']}/").json() == {"cancelled": 2}
    after = operator_api.get(f"{JOBS}{job['id']}/").json()
    assert (after["counts"]["succeeded"], after["counts"]["cancelled"], after["pending"]) == (1, 2, 0)
    assert after["cancelled_at"] is not None and after["eta"] is None


@pytest.mark.parametrize("body, field", [
    ({"kind": "dhcprenew"}, "non_field_errors"),
    ({"kind": "dhcprenew", "device_ids": [1], "filter": {}}, "non_field_errors"),
    ({"kind": "dhcprenew", "device_ids": [999999]}, "device_ids"),
    ({"kind": "dhcprenew", "device_ids": []}, "device_ids"),
    ({"kind": "dhcprenew", "filter": {"compliance": "purple"}}, "filter"),
    ({"kind": "dhcprenew", "filter": {"q": "nothing-matches-this"}}, "filter"),
    ({"kind": "sync_page", "filter": {}}, "kind"),
])
def test_a_bad_job_is_a_400_and_queues_nothing(operator_api, lab_devices, body, field):
    lab_devices(2)
    refused = post(operator_api, body)
    assert refused.status_code == 400
    assert field in refused.json()["errors"]
    assert not BulkJob.objects.exists() and not Action.objects.exists()


def test_a_token_without_the_kinds_scope_queues_nothing(client, operator, make_token, lab_devices):
    made = lab_devices(2)
    _, plain = make_token(operator, ["devices:read", "actions:write"])
    refused = client.post(JOBS, {"kind": "unexempt", "device_ids": [d.pk for d in made]},
                          content_type="application/json", **bearer(plain))
    assert refused.status_code == 403
    assert not BulkJob.objects.exists()


def test_an_id_beyond_any_database_integer_is_a_400(operator_api):
    refused = post(operator_api, {"kind": "dhcprenew", "device_ids": [2**64]})
    assert refused.status_code == 400 and "device_ids" in refused.json()["errors"]
