"""The audit log: filtered, exported."""

from __future__ import annotations

import csv
import io

from django.urls import reverse

from devices import outbox
from devices.models import AuditEntry


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
    assert AuditEntry.objects.count() == 3


def test_the_audit_filters_are_labelled_and_a_bad_date_is_named(operator_client):
    body = operator_client.get(reverse("devices:audit-log"), {"since": "yesterday"}).content.decode()
    for label in ("User", "Verb", "Since", "Until", "Device"):
        assert f">{label}</label>" in body
    assert "Ignored since=&#x27;yesterday&#x27;: Enter a valid date." in body
