"""The audit log: filtered, exported."""

from __future__ import annotations

import csv
import io
import re

import pytest
from django.urls import reverse

from devices import audit, outbox
from devices.models import ActionKind, AuditEntry


def test_the_audit_log_filters_and_exports(operator_client, make_device, operator, viewer):
    a = make_device("alpha", hwid="A1")
    b = make_device("beta", hwid="B1")
    outbox.enqueue(a, "dhcprenew", user=operator)
    outbox.cancel(outbox.enqueue(b, "exempt_all", user=viewer).action, user=operator)
    page = operator_client.get(reverse("devices:audit-log"), {"verb": "cancelled"}).content.decode()
    assert "beta" in page and "alpha" not in page
    export = operator_client.get(reverse("devices:audit-export"), {"user": "otto"})
    rows = list(csv.reader(io.StringIO(b"".join(export.streaming_content).decode())))
    assert rows[0][:3] == ["time", "user", "verb"]
    assert [(r[1], r[2], r[4]) for r in rows[1:]] == [("otto", "cancelled", "beta"), ("otto", "queued", "alpha")]
    assert AuditEntry.objects.exclude(verb="created").count() == 3  # the fixtures' devices are "created" entries


def test_the_audit_filters_are_labelled_and_a_bad_date_is_named(operator_client):
    body = operator_client.get(reverse("devices:audit-log"), {"since": "yesterday"}).content.decode()
    for label in ("User", "Verb", "Since", "Until", "Device"):
        assert f">{label}</label>" in body
    assert "Ignored since=&#x27;yesterday&#x27;: Enter a valid date." in body


def test_a_since_after_the_until_is_named_on_the_page_and_in_no_export_row(operator_client, make_device):
    make_device("alpha", hwid="A1")
    response = operator_client.get(reverse("devices:audit-log"), {"since": "2030-01-02", "until": "2030-01-01"})
    body = response.content.decode()
    assert response.status_code == 200
    assert "Ignored since=&#x27;2030-01-02&#x27;: it is after Until (2030-01-01)" in body
    assert "alpha" in body  # no day filters: every entry, not an empty range
    export = operator_client.get(reverse("devices:audit-export"), {"since": "2030-01-02", "until": "2030-01-01"})
    rows = list(csv.reader(io.StringIO(b"".join(export.streaming_content).decode())))
    assert [r[4] for r in rows[1:]] == ["alpha"]


def action_cells(body: str) -> list[str]:
    """The "What" and "Action" cells of each row of the log."""
    return re.findall(r"<tr><td>[^<]*</td><td>[^<]*</td><td>([^<]*)</td><td>([^<]*)</td>", body)


def test_an_emailed_link_is_not_shown_as_a_fetch(operator_client, sample_device, operator):
    audit.record(AuditEntry.Verb.EMAILED, operator, kind=ActionKind.REMEDIATION, device=sample_device,
                 detail="to grace@example.com")
    outbox.enqueue(sample_device, "dhcprenew", user=operator)
    body = operator_client.get(reverse("devices:audit-log"), {"user": "otto"}).content.decode()
    assert action_cells(body) == [("Queued", "Renew DHCP"), ("Emailed a remediation link", "Remediation link")]


@pytest.mark.parametrize("typed", ["00-0C-29-F2-7A-30", "000c.29f2.7a29", "0C:29:F2", "292CE801", "ws-04"])
def test_the_device_filter_finds_a_device_by_mac_in_any_notation_or_hwid(operator_client, sample_device, make_device,
                                                                         operator, typed):
    other = make_device("other", hwid="OTHER", macs=["00:50:56:00:00:01"])
    outbox.enqueue(sample_device, "dhcprenew", user=operator)
    outbox.enqueue(other, "dhcprenew", user=operator)
    body = operator_client.get(reverse("devices:audit-log"), {"device": typed}).content.decode()
    assert ">ws-042</a>" in body and ">other</a>" not in body


def test_the_device_filter_still_finds_a_deleted_device_by_its_recorded_name(operator_client, make_device, operator):
    gone = make_device("gone-01", hwid="GONE", macs=["00:50:56:00:00:02"])
    outbox.enqueue(gone, "dhcprenew", user=operator)
    gone.delete()
    body = operator_client.get(reverse("devices:audit-log"), {"device": "GONE-0"}).content.decode()
    assert "gone-01" in body and "Nothing recorded." not in body
