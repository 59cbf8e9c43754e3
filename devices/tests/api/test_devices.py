"""/api/v1/devices/: the list's filters and cursor pages, and writes validated and audited like the page's."""

from __future__ import annotations

import pytest

from devices.models import AuditEntry, Compliance, Device
from devices.tests.api.conftest import bearer

TOKEN_VERBS = (AuditEntry.Verb.TOKEN_NEW_ADDRESS,)


def device_entries():
    """The audit entries of device writes (a token's first use is audited too)."""
    return AuditEntry.objects.exclude(verb__in=TOKEN_VERBS).order_by("id")

DEVICES = "/api/v1/devices/"


@pytest.fixture
def admin_api(client, admin_user, make_token):
    _, plain = make_token(admin_user)
    client.defaults.update(bearer(plain))
    return client


def test_the_list_filters_as_the_page_does(admin_api, lab_devices):
    made = lab_devices(5)
    Device.objects.filter(pk__in=[made[1].pk, made[3].pk]).update(compliance=Compliance.NON_COMPLIANT)
    listed = admin_api.get(DEVICES, {"compliance": "non_compliant"}).json()["results"]
    assert [d["id"] for d in listed] == [made[1].pk, made[3].pk]
    assert [d["name"] for d in admin_api.get(DEVICES, {"q": made[4].name}).json()["results"]] == [made[4].name]


def test_a_filter_value_that_does_not_validate_is_a_400_naming_the_field(admin_api):
    refused = admin_api.get(DEVICES, {"compliance": "purple", "unseen_days": "1.5"})
    assert refused.status_code == 400
    assert refused["Content-Type"] == "application/problem+json"
    assert set(refused.json()["errors"]) == {"compliance", "unseen_days"}


def test_cursor_pages_walk_every_device_once_and_the_page_size_is_capped(admin_api, lab_devices):
    made = lab_devices(7)
    seen, url = [], DEVICES + "?page_size=3"
    while url:
        page = admin_api.get(url).json()
        assert len(page["results"]) <= 3
        seen += [d["id"] for d in page["results"]]
        url = page["next"]
    assert seen == [d.pk for d in made]
    capped = admin_api.get(DEVICES, {"page_size": 100_000}).json()
    assert len(capped["results"]) == 7  # fewer than the cap of 500: all of them, without an error


def test_a_device_is_created_with_the_forms_rules_and_audited(admin_api, admin_user):
    created = admin_api.post(DEVICES, {"name": "ws-9", "macs": ["00-0C-29-F2-7A-29"], "owner_email": "a@example.com"},
                             content_type="application/json")
    assert created.status_code == 201
    body = created.json()
    assert body["macs"] == ["00:0c:29:f2:7a:29"]
    assert created["Location"].endswith(f"/api/v1/devices/{body['id']}/")
    entry = device_entries().get()
    assert (entry.verb, entry.username, entry.device_id) == (AuditEntry.Verb.CREATED, "ada", body["id"])


@pytest.mark.parametrize("body, field", [
    ({"name": "no-identifier"}, "non_field_errors"),
    ({"name": "x", "macs": ["not a mac"]}, "macs"),
    ({"name": "x", "hwid": "not a hwid!"}, "hwid"),
    ({"name": "two\nlines", "hwid": "A" * 16}, "name"),
    ({"hwid": "A" * 16}, "name"),
    ({"name": "x", "hwid": "A" * 16, "owner_email": "nope"}, "owner_email"),
])
def test_a_device_the_form_would_refuse_is_a_400_with_the_field_and_nothing_is_written(admin_api, body, field):
    refused = admin_api.post(DEVICES, body, content_type="application/json")
    assert refused.status_code == 400
    assert field in refused.json()["errors"]
    assert not Device.objects.exists() and not device_entries().exists()


def test_an_identifier_another_device_has_is_refused_in_plain_text(admin_api, sample_device):
    refused = admin_api.post(DEVICES, {"name": "copy", "hwid": sample_device.hwid}, content_type="application/json")
    assert refused.status_code == 400
    assert refused.json()["errors"]["hwid"] == [f"{sample_device.hwid} already belongs to ws-042."]


def test_a_device_is_updated_and_deleted_with_audit_entries(admin_api, sample_device):
    url = f"{DEVICES}{sample_device.pk}/"
    changed = admin_api.put(url, {"name": "ws-042b", "hwid": sample_device.hwid, "owner_name": "Ada"},
                            content_type="application/json")
    assert changed.status_code == 200
    assert (changed.json()["name"], changed.json()["macs"]) == ("ws-042b", [])
    assert admin_api.delete(url).status_code == 204
    assert admin_api.get(url).status_code == 404
    verbs = list(device_entries().values_list("verb", flat=True))
    assert verbs[-2:] == [AuditEntry.Verb.EDITED, AuditEntry.Verb.DELETED]


def test_an_unknown_device_and_a_body_that_is_not_json_are_problems(admin_api):
    missing = admin_api.get(f"{DEVICES}999999/")
    assert (missing.status_code, missing["Content-Type"]) == (404, "application/problem+json")
    garbled = admin_api.post(DEVICES, "{not json", content_type="application/json")
    assert garbled.status_code == 400 and garbled["Content-Type"] == "application/problem+json"
    form = admin_api.post(DEVICES, {"name": "x"})  # multipart: only JSON is taken
    assert form.status_code == 415


def test_the_budget_reads_the_outboxs_view(admin_api, settings):
    budget = admin_api.get("/api/v1/budget/").json()
    assert (budget["limit"], budget["window_seconds"]) == (settings.GEARS_RATE_LIMIT.requests,
                                                           settings.GEARS_RATE_LIMIT.window)
    assert (budget["used"], budget["backlog_actions"], budget["drains_at"]) == (0, 0, None)
