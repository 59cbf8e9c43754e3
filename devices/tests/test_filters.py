"""The FilterSets on their own: query parameters and a queryset in, the rows they select out."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.http import QueryDict
from django.utils import timezone as dj_timezone

from devices import audit
from devices.filters import AuditFilterSet, DeviceFilterSet
from devices.models import AuditEntry, Device


def params(**values) -> QueryDict:
    query = QueryDict(mutable=True)
    query.update(values)
    return query


def names(**values) -> list[str]:
    return [device.name for device in DeviceFilterSet(params(**values)).qs]


@pytest.fixture
def inventory(make_device):
    make_device("beta", hwid="HB", macs=["00:0c:29:00:00:01"], owner_name="Ada")
    make_device("alpha", macs=["00:0c:29:00:00:02", "00:0c:29:00:00:03"], owner_email="x@example.com")
    make_device("gamma", hwid="HG")
    Device.objects.filter(name="gamma").update(remediation_state="no_issues")


def test_no_parameters_select_every_device_sorted_by_name(inventory):
    assert names() == ["alpha", "beta", "gamma"]


def test_search_uses_the_inventory_search_so_a_mac_matches_in_any_notation(inventory):
    assert names(q="000C.2900.0003") == ["alpha"]
    assert names(q="HG") == ["gamma"]
    assert names(q="   ") == ["alpha", "beta", "gamma"]


def test_search_finds_devices_by_owner_name_or_email_in_part_and_any_case(inventory, make_device):
    make_device("delta", hwid="HD", owner_name="Grace Hopper", owner_email="grace@navy.example")
    assert names(q="hopper") == ["delta"]
    assert names(q="GRACE@NAVY") == ["delta"]
    assert names(q="x@example.com") == ["alpha"]
    assert names(q="ada") == ["beta"]


def test_search_follows_an_edited_owner(make_device):
    device = make_device("delta", hwid="HD", owner_name="Grace Hopper")
    Device.objects.filter(pk=device.pk).update(owner_name="Katherine Johnson", owner_email="kj@nasa.example")
    assert names(q="hopper") == []
    assert names(q="johnson") == names(q="kj@nasa") == ["delta"]


def test_identifier_selects_by_hwid_mac_only_or_several_macs(inventory):
    assert names(identifier="hwid") == ["beta", "gamma"]
    assert names(identifier="mac_only") == ["alpha"]
    assert names(identifier="multi_mac") == ["alpha"]


def test_owner_set_means_a_name_or_an_email(inventory):
    assert names(owner="assigned") == ["alpha", "beta"]
    assert names(owner="unassigned") == ["gamma"]


def test_remediation_selects_by_state(inventory):
    assert names(remediation="no_issues") == ["gamma"]
    assert names(remediation="unknown") == ["alpha", "beta"]


def test_filters_combine(inventory):
    assert names(identifier="hwid", owner="unassigned", q="g") == ["gamma"]


def test_every_sort_key_and_its_reverse(make_device):
    make_device("b", hwid="H1", owner_name="Zed")
    make_device("a", hwid="H2", owner_name="Amy")
    assert names(sort="-name") == ["b", "a"]
    assert names(sort="hwid") == ["b", "a"]
    assert names(sort="-hwid") == ["a", "b"]
    assert names(sort="owner") == ["a", "b"]
    assert names(sort="-owner") == ["b", "a"]
    Device.objects.filter(name="a").update(updated_at=datetime(2020, 1, 1, tzinfo=UTC))
    assert names(sort="updated") == ["a", "b"]
    assert names(sort="-updated") == ["b", "a"]


def test_the_owner_sort_puts_devices_without_an_owner_last_in_both_directions(make_device):
    make_device("nobody-1", hwid="N1")
    make_device("zed", hwid="Z1", owner_name="Zed")
    make_device("mail-only", hwid="M1", owner_email="Bo@example.com")  # the column shows the email
    make_device("nobody-2", hwid="N2")
    make_device("amy", hwid="A1", owner_name="Amy")
    assert names(sort="owner") == ["amy", "mail-only", "zed", "nobody-1", "nobody-2"]
    assert names(sort="-owner") == ["zed", "mail-only", "amy", "nobody-2", "nobody-1"]


def test_equal_sort_values_keep_a_stable_order_by_id(make_device):
    first, second = make_device("same", hwid="S1"), make_device("same", hwid="S2")
    assert [d.pk for d in DeviceFilterSet(params(sort="name")).qs] == [first.pk, second.pk]
    assert [d.pk for d in DeviceFilterSet(params(sort="-name")).qs] == [second.pk, first.pk]


def test_invalid_parameters_are_ignored_with_a_message_and_the_rest_apply(inventory):
    filterset = DeviceFilterSet(params(sort="drop table", identifier="x", per_page="9999", owner="assigned"))
    assert [d.name for d in filterset.qs] == ["alpha", "beta"]
    problems = filterset.problems()
    assert len(problems) == 3
    assert any(p.startswith("Ignored sort='drop table':") for p in problems)
    assert any(p.startswith("Ignored identifier='x':") for p in problems)
    assert any(p.startswith("Ignored per_page='9999':") for p in problems)
    assert filterset.sort_key == "name" and filterset.page_size == 50


def test_page_size_is_one_of_the_offered_sizes_and_shown_even_when_absent(db):
    assert DeviceFilterSet(params(per_page="25")).page_size == 25
    unset = DeviceFilterSet(params())
    assert unset.page_size == 50
    assert unset.form["per_page"].value() == "50"  # the select shows the size in use


def test_the_selecting_parameters_are_the_valid_ones_that_choose_devices(db):
    filterset = DeviceFilterSet(params(q="lab", sort="-name", per_page="25", identifier="bogus", owner=""))
    assert filterset.selecting_pairs() == {"q": "lab", "sort": "-name"}


def test_a_given_queryset_is_narrowed_not_replaced(inventory):
    only_beta_and_gamma = Device.objects.exclude(name="alpha")
    filtered = DeviceFilterSet(params(identifier="hwid", sort="-name"), queryset=only_beta_and_gamma).qs
    assert [d.name for d in filtered] == ["gamma", "beta"]


@pytest.fixture
def entries(operator, viewer):
    # Made directly: the form's writer would add "created" entries of its own.
    alpha, beta = Device.objects.create(name="alpha", hwid="A1"), Device.objects.create(name="beta", hwid="B1")
    old = audit.record(AuditEntry.Verb.QUEUED, operator, device=alpha, kind="dhcprenew")
    audit.record(AuditEntry.Verb.CANCELLED, viewer, device=beta, kind="dhcprenew")
    AuditEntry.objects.filter(pk=old.pk).update(at=datetime(2024, 3, 1, 12, tzinfo=UTC))


def audited(**values) -> list[tuple[str, str]]:
    return [(e.username, e.device_name) for e in AuditFilterSet(params(**values)).qs]


def test_audit_filters_by_user_verb_and_device_in_part_and_any_case(entries):
    assert audited(user="OT") == [("otto", "alpha")]
    assert audited(verb="cancelled") == [("vera", "beta")]
    assert audited(device="ET") == [("vera", "beta")]
    assert audited() == [("vera", "beta"), ("otto", "alpha")]  # newest first


def test_audit_filters_by_days_inclusive(entries):
    assert audited(since="2024-03-01", until="2024-03-01") == [("otto", "alpha")]
    assert audited(since="2024-03-02") == [("vera", "beta")]
    assert audited(until="2024-02-29") == []


def test_a_since_after_the_until_filters_by_neither_day_and_says_so(entries):
    filterset = AuditFilterSet(params(since="2024-03-02", until="2024-03-01", user="o"))
    assert [e.username for e in filterset.qs] == ["otto"]  # the other filters still apply
    problems = filterset.problems()
    assert any(p.startswith("Ignored since='2024-03-02': it is after Until (2024-03-01)") for p in problems)
    assert any(p.startswith("Ignored until='2024-03-01': it is before Since (2024-03-02)") for p in problems)
    assert audited(since="2024-03-01", until="2024-03-01") == [("otto", "alpha")]  # one day is a range


def test_an_invalid_audit_parameter_is_ignored_with_a_message(entries):
    filterset = AuditFilterSet(params(since="yesterday", verb="exploded", user="vera"))
    assert [e.username for e in filterset.qs] == ["vera"]
    problems = filterset.problems()
    assert any(p.startswith("Ignored since='yesterday':") for p in problems)
    assert any(p.startswith("Ignored verb='exploded':") for p in problems)


def test_name_sort_ignores_case_on_every_database(make_device):
    for name in ("SALES-WS-027", "lab-spare-01", "Lab-Core-02", "alpha"):
        make_device(name)
    assert names() == ["alpha", "Lab-Core-02", "lab-spare-01", "SALES-WS-027"]
    assert names(sort="name") == ["alpha", "Lab-Core-02", "lab-spare-01", "SALES-WS-027"]
    assert names(sort="-name") == ["SALES-WS-027", "lab-spare-01", "Lab-Core-02", "alpha"]


def test_names_equal_but_for_case_keep_a_stable_order_by_id(make_device):
    upper, lower = make_device("LAB", hwid="S1"), make_device("lab", hwid="S2")
    assert [d.pk for d in DeviceFilterSet(params(sort="name")).qs] == [upper.pk, lower.pk]
    assert [d.pk for d in DeviceFilterSet(params(sort="-name")).qs] == [lower.pk, upper.pk]


@pytest.mark.parametrize("sort", ["name", "-name"])
def test_page_one_of_the_name_sort_walks_the_lower_name_index(db, sort):
    if connection.vendor != "sqlite":
        pytest.skip("SQLite's plan does not depend on table statistics")
    plan = DeviceFilterSet(params(sort=sort)).qs[:50].explain()
    assert "USING INDEX device_name_lower_idx" in plan
    assert "TEMP B-TREE" not in plan  # no sort of every row


# ------------------------------------------------------------------ the cloud's view (cloud sync)


@pytest.fixture
def cloud_inventory(make_device):
    """Four devices as a sync leaves them: seen recently, seen long ago, never seen, gone from the cloud."""
    now = dj_timezone.now()
    make_device("fresh", hwid="F1")
    make_device("stale", hwid="S1")
    make_device("never", hwid="N1")
    make_device("gone", hwid="G1")
    Device.objects.filter(name="fresh").update(
        compliance="compliant", exempt_mode="none", last_seen_at=now - timedelta(hours=2), cloud_synced_at=now)
    Device.objects.filter(name="stale").update(
        compliance="non_compliant", exempt_mode="critical", last_seen_at=now - timedelta(days=40), cloud_synced_at=now)
    Device.objects.filter(name="gone").update(
        compliance="non_compliant", exempt_mode="all", last_seen_at=now - timedelta(days=3),
        cloud_synced_at=now - timedelta(days=1), cloud_missing_since=now)


def test_compliance_selects_by_the_clouds_status(cloud_inventory):
    assert names(compliance="non_compliant") == ["gone", "stale"]
    assert names(compliance="compliant") == ["fresh"]
    assert names(compliance="unknown") == ["never"]


def test_exempt_selects_by_mode_and_unknown_means_never_confirmed(cloud_inventory):
    assert names(exempt="none") == ["fresh"]
    assert names(exempt="critical") == ["stale"]
    assert names(exempt="all") == ["gone"]
    assert names(exempt="unknown") == ["never"]


def test_cloud_missing_and_present(cloud_inventory):
    assert names(cloud="missing") == ["gone"]
    assert names(cloud="present") == ["fresh", "stale"]


def test_unseen_days_means_last_seen_longer_ago_and_leaves_never_seen_devices_to_their_own_filter(cloud_inventory):
    assert names(unseen_days="30") == ["stale"]
    assert names(unseen_days="1") == ["gone", "stale"]
    assert names(unseen_days="365") == []
    assert names(seen="never") == ["never"]
    assert names(seen="seen") == ["fresh", "gone", "stale"]
    assert "last seen is “Never seen”" in DeviceFilterSet(params(seen="never")).describe()


@pytest.mark.parametrize("bad", ["abc", "-3", "0", "1.5", "99999999999999999999"])
def test_an_invalid_unseen_days_is_ignored_with_a_message(cloud_inventory, bad):
    filterset = DeviceFilterSet(params(unseen_days=bad))
    assert [d.name for d in filterset.qs] == ["fresh", "gone", "never", "stale"]
    assert [p for p in filterset.problems() if p.startswith("Ignored unseen_days=")]


def test_the_cloud_filters_combine_and_are_selecting_parameters(cloud_inventory):
    assert names(compliance="non_compliant", cloud="present", unseen_days="30") == ["stale"]
    filterset = DeviceFilterSet(params(compliance="non_compliant", exempt="bogus", cloud="missing", unseen_days="7"))
    assert filterset.selecting_pairs() == {"compliance": "non_compliant", "cloud": "missing", "unseen_days": "7"}
    assert "compliance is “Non-compliant”" in filterset.describe()
    assert "not seen for 7 days" in filterset.describe()
