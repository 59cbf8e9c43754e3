"""The indexes a bulk job no longer writes for every row still serve every query that read them.

Migration 0019 dropped the device link's own index and made the timeline's
and the empty links' indexes partial. At 100,000 actions each query that
used them must still be an index plan, not a scan of the table.
"""

from __future__ import annotations

import pytest
from django.db import connection

from devices.models import Action, ActionKind, Device, UpstreamAttempt

DEVICES, ACTIONS_EACH = 1_000, 100
SENT = "2026-03-02 09:00:00+00:00"


@pytest.fixture
def hundred_thousand_actions(db):
    """1,000 devices with 100 finished actions each; some superseded, some sent by a recorded attempt."""
    Device.objects.bulk_create([Device(name=f"idx-{i:04d}", hwid=f"IDX{i:013d}") for i in range(DEVICES)])
    table = connection.ops.quote_name(Action._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {ACTIONS_EACH})"
            f" INSERT INTO {table} (device_id, kind, status, priority, coalesce_key, created_at, not_before,"
            " claimed_by, attempts, transient_failures, upstream_msg, last_error, ambiguous, may_have_acted,"
            " identifier, first_sent_at, finished_at)"
            " SELECT d.id, %s, %s, %s, 'exemption:' || CAST(d.id AS TEXT), %s, %s, '', 1, 0, '', '', %s, %s, '', %s, %s"
            " FROM devices_device d CROSS JOIN n",
            [ActionKind.EXEMPT_ALL.value, Action.Status.SUCCEEDED.value, 9, SENT, SENT, False, False, SENT, SENT],
        )
        cursor.execute(f"UPDATE {table} SET superseded_by_id = id + 1, status = %s WHERE id %% 50 = 0"
                       f" AND id < (SELECT MAX(id) FROM {table})", [Action.Status.SUPERSEDED.value])
    attempt = UpstreamAttempt.objects.create(action=Action.objects.first(), started_at=SENT)
    Action.objects.filter(pk__in=Action.objects.order_by("-pk").values("pk")[:50]).update(current_attempt=attempt)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    assert Action.objects.count() == DEVICES * ACTIONS_EACH
    return Device.objects.order_by("pk")[DEVICES // 2], attempt


def queries(device: Device, attempt: UpstreamAttempt) -> list[tuple[str, object, str]]:
    """(what, queryset, the index it must use)."""
    one_superseded = Action.objects.filter(superseded_by__isnull=False).values_list("superseded_by_id", flat=True)[0]
    exemptions = [ActionKind.EXEMPT_ALL, ActionKind.EXEMPT_CRITICAL, ActionKind.UNEXEMPT]
    return [
        ("a device's timeline, steps sent",
         Action.objects.filter(device=device, first_sent_at__isnull=False).order_by("-first_sent_at", "-pk")[:21],
         "action_device_sent_idx"),
        ("a device's timeline, steps finished",
         Action.objects.filter(device=device, finished_at__isnull=False).order_by("-finished_at", "-pk")[:21],
         "action_device_finished_idx"),
        ("a device's exemption history",
         device.actions.filter(kind__in=exemptions).order_by("-created_at", "-id")[:10], "action_device_recent_idx"),
        ("the actions a device's deletion removes", Action.objects.filter(device_id__in=[device.pk]),
         "action_device_recent_idx"),
        ("the actions naming a deleted action as their replacement",
         Action.objects.filter(superseded_by_id__in=[one_superseded]), "action_superseded_by_idx"),
        ("a cloud sync's page calls", Action.objects.filter(cloud_sync_id=1), "action_cloud_sync_idx"),
        ("the actions a deleted attempt carried", Action.objects.filter(current_attempt_id__in=[attempt.pk]),
         "action_current_attempt_idx"),
    ]


def test_every_query_that_read_a_dropped_or_narrowed_index_is_still_an_index_plan(hundred_thousand_actions):
    device, attempt = hundred_thousand_actions
    for what, queryset, index in queries(device, attempt):
        plan = queryset.explain()
        assert index in plan, f"{what}: {plan}"
        assert "Seq Scan" not in plan and f"SCAN {Action._meta.db_table}\n" not in f"{plan}\n", f"{what}: {plan}"
