"""The inventory pages, as each role sees them: list, search, sort, create, edit, delete, bulk delete, export."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime, timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone as dj_timezone

from devices.models import Action, Device, MacAddress
from devices.wording import CONFIRM_WARNINGS

LIST = reverse("devices:device-list")
HTMX = {"HX-Request": "true"}
EXEMPT_ALL_WARNING = CONFIRM_WARNINGS["exempt_all"]


def test_a_viewer_reads_but_may_not_change_anything(viewer_client, sample_device):
    page = viewer_client.get(reverse("devices:device-detail", args=[sample_device.pk])).content.decode()
    assert "ws-042" in page
    assert "Edit" not in page and "Delete" not in page
    listing = viewer_client.get(LIST).content.decode()
    assert "Add device" not in listing and "Import CSV" not in listing
    assert 'name="device"' not in listing  # no bulk checkboxes without a bulk action
    for url in [reverse("devices:device-create"), reverse("devices:device-edit", args=[sample_device.pk]),
                reverse("devices:device-delete", args=[sample_device.pk]), reverse("devices:import-upload")]:
        assert viewer_client.get(url).status_code == 403
    assert viewer_client.post(reverse("devices:device-delete", args=[sample_device.pk])).status_code == 403
    assert viewer_client.post(reverse("devices:device-bulk-delete"), {"device": [sample_device.pk]}).status_code == 403
    assert Device.objects.filter(pk=sample_device.pk).exists()


def test_an_admin_sees_the_controls(admin_client_, sample_device):
    listing = admin_client_.get(LIST).content.decode()
    assert "Add device" in listing and "Import CSV" in listing and 'name="device"' in listing


@pytest.mark.parametrize("typed", ["00-0C-29-F2-7A-29", "000c.29f2.7a30", "0C:29:F2", "0c29f27a", "WS-04", "292ce801"])
def test_search_finds_a_device_by_name_hwid_or_any_mac_in_any_notation(viewer_client, sample_device, make_device, typed):
    make_device("other", hwid="OTHER", macs=["02:22:33:44:55:66"])
    page = viewer_client.get(LIST, {"q": typed}, headers=HTMX).content.decode()
    assert "ws-042" in page and "other" not in page


def test_filters_select_by_identifier_and_owner(viewer_client, make_device):
    make_device("hw-and-mac", hwid="H1", macs=["00:00:00:00:00:01"], owner_name="Ada")
    make_device("mac-only", macs=["00:00:00:00:00:02", "00:00:00:00:00:03"])
    def names(**params):
        response = viewer_client.get(LIST, params, headers=HTMX)
        return {d.name for d in response.context["page"].object_list}
    assert names(identifier="hwid") == {"hw-and-mac"}
    assert names(identifier="mac_only") == {"mac-only"}
    assert names(identifier="multi_mac") == {"mac-only"}
    assert names(owner="assigned") == {"hw-and-mac"}
    assert names(owner="unassigned") == {"mac-only"}


def test_sort_and_pagination_with_a_total_count(viewer_client, make_device):
    for n in range(30):
        make_device(f"dev-{n:02d}", hwid=f"H{n:02d}")
    response = viewer_client.get(LIST, {"sort": "-name", "per_page": "25", "page": "2"}, headers=HTMX)
    page = response.context["page"]
    assert page.paginator.count == 30
    assert [d.name for d in page.object_list] == [f"dev-{n:02d}" for n in range(4, -1, -1)]
    body = response.content.decode()
    assert "Page 2 of 2" in body and "sort=-name" in body


def test_bad_query_parameters_get_a_message_not_an_error(viewer_client, sample_device):
    response = viewer_client.get(LIST, {"sort": "drop table", "identifier": "x", "per_page": "9999", "page": "abc"})
    assert response.status_code == 200
    body = response.content.decode()
    assert "Ignored sort=" in body and "Ignored identifier=" in body and "Ignored per_page=" in body
    assert "ws-042" in body


def test_the_list_shows_the_url_state_in_its_links(viewer_client, make_device):
    for n in range(60):
        make_device(f"dev-{n:02d}", hwid=f"H{n:02d}")
    body = viewer_client.get(LIST, {"q": "dev", "sort": "-updated"}).content.decode()
    assert "?q=dev&amp;sort=-updated&amp;page=2" in body
    assert 'value="dev"' in body


def test_adding_a_device_with_a_bad_mac_shows_the_error_and_writes_nothing(admin_client_):
    response = admin_client_.post(reverse("devices:device-create"), {"name": "new", "macs": "00:0c:29:zz:7a:29"})
    assert response.status_code == 200
    assert "&#x27;00:0c:29:zz:7a:29&#x27; is not a MAC address" in response.content.decode()
    assert not Device.objects.exists()


def test_adding_a_device_normalises_its_identifiers(admin_client_):
    response = admin_client_.post(
        reverse("devices:device-create"),
        {"name": " laptop-7 ", "hwid": " 6WXJURV8QAM0I7KC ", "macs": "00-0C-29-F2-7A-29\n000c.29f2.7a30", "owner_email": "x@example.com"},
    )
    device = Device.objects.get()
    assert response.status_code == 302 and response["Location"] == device.get_absolute_url()
    assert (device.name, device.hwid, device.primary_mac) == ("laptop-7", "6WXJURV8QAM0I7KC", "00:0c:29:f2:7a:29")
    assert [m.address for m in device.ordered_macs] == ["00:0c:29:f2:7a:29", "00:0c:29:f2:7a:30"]


def test_a_device_needs_an_identifier(admin_client_):
    response = admin_client_.post(reverse("devices:device-create"), {"name": "ghost"})
    assert "needs a HWID or at least one MAC" in response.content.decode()
    assert not Device.objects.exists()


def test_a_taken_identifier_names_the_device_that_has_it(admin_client_, sample_device):
    response = admin_client_.post(reverse("devices:device-create"), {"name": "dup", "macs": "00-0C-29-F2-7A-30", "hwid": sample_device.hwid})
    body = response.content.decode()
    assert body.count("already belongs to") == 2
    assert f'<a href="{sample_device.get_absolute_url()}">ws-042</a>' in body
    assert Device.objects.count() == 1


def test_editing_keeps_own_identifiers_and_replaces_macs(admin_client_, sample_device):
    response = admin_client_.post(
        reverse("devices:device-edit", args=[sample_device.pk]),
        {"name": "ws-042", "hwid": sample_device.hwid, "macs": "00:0c:29:f2:7a:30 00:0c:29:f2:7a:31", "owner_name": "G", "owner_email": "", "notes": ""},
    )
    assert response.status_code == 302
    sample_device.refresh_from_db()
    assert [m.address for m in sample_device.ordered_macs] == ["00:0c:29:f2:7a:30", "00:0c:29:f2:7a:31"]


def test_delete_asks_first_then_deletes(admin_client_, sample_device):
    url = reverse("devices:device-delete", args=[sample_device.pk])
    confirm = admin_client_.get(url)
    assert "Delete ws-042?" in confirm.content.decode()
    assert Device.objects.exists()
    assert admin_client_.post(url).status_code == 302
    assert not Device.objects.exists()


def test_output_is_escaped(admin_client_, make_device):
    hostile = make_device("<script>alert(1)</script>", hwid="X1", notes="<img src=x onerror=alert(1)>")
    body = admin_client_.get(reverse("devices:device-detail", args=[hostile.pk])).content.decode()
    assert "<script>alert(1)</script>" not in body and "&lt;script&gt;" in body
    assert "<img src=x" not in body


def test_bulk_delete_of_ticked_devices_asks_with_the_count(admin_client_, make_device):
    keep = make_device("keep", hwid="K")
    gone = [make_device(f"gone-{n}", hwid=f"G{n}") for n in range(3)]
    url = reverse("devices:device-bulk-delete")
    confirm = admin_client_.post(url, {"device": [d.pk for d in gone]})
    assert "Delete 3 devices?" in confirm.content.decode()
    assert Device.objects.count() == 4
    admin_client_.post(url, {"device": [d.pk for d in gone], "confirm": "yes"})
    assert list(Device.objects.all()) == [keep]


def test_bulk_delete_of_all_matching_uses_the_filter(admin_client_, make_device):
    for n in range(5):
        make_device(f"lab-{n}", hwid=f"L{n}")
    make_device("office", hwid="O")
    url = reverse("devices:device-bulk-delete")
    confirm = admin_client_.post(url, {"select_all_matching": "1", "q": "lab"})
    assert "Delete 5 devices?" in confirm.content.decode()
    admin_client_.post(url, {"select_all_matching": "1", "q": "lab", "confirm": "yes"})
    assert list(Device.objects.values_list("name", flat=True)) == ["office"]


def test_export_is_exactly_what_the_filter_shows(viewer_client, make_device):
    make_device("lab-1", hwid="L1", macs=["00:00:00:00:00:01", "00:00:00:00:00:02"], owner_name="Ada", notes="a, \"quoted\"\nline")
    make_device("office", hwid="O")
    response = viewer_client.get(reverse("devices:device-export"), {"q": "lab"})
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows == [
        ["name", "hwid", "macs", "owner_name", "owner_email", "notes", "compliance", "exempt_mode", "last_seen", "in_cloud"],
        ["lab-1", "L1", "00:00:00:00:00:01 00:00:00:00:00:02", "Ada", "", 'a, "quoted"\nline', "unknown", "", "", ""],
    ]


def test_the_export_carries_what_the_cloud_says_and_imports_back_unchanged(admin_client_, make_device):
    seen = datetime(2026, 3, 1, 8, 30, tzinfo=UTC)
    make_device("synced", hwid="S1")
    make_device("gone", hwid="G1")
    Device.objects.filter(name="synced").update(compliance="non_compliant", exempt_mode="critical", last_seen_at=seen,
                                                cloud_synced_at=seen)
    Device.objects.filter(name="gone").update(cloud_synced_at=seen, cloud_missing_since=seen)
    export = b"".join(admin_client_.get(reverse("devices:device-export")).streaming_content)
    rows = {row["name"]: row for row in csv.DictReader(io.StringIO(export.decode()))}
    assert [rows["synced"][c] for c in ("compliance", "exempt_mode", "last_seen", "in_cloud")] == [
        "non_compliant", "critical", "2026-03-01T08:30:00+00:00", "yes"]
    assert rows["gone"]["in_cloud"] == "no"
    upload = admin_client_.post(reverse("devices:import-upload"),
                                {"file": SimpleUploadedFile("export.csv", export, "text/csv")})
    assert upload.status_code == 302
    done = admin_client_.post(upload["Location"], {"mode": "all"}, follow=True).content.decode()
    assert "0 created, 0 updated, 2 unchanged, 0 skipped" in done


def test_the_list_costs_the_same_queries_for_10_or_50_rows(viewer_client, make_device, django_assert_max_num_queries):
    for n in range(50):
        make_device(f"dev-{n:02d}", hwid=f"Q{n:02d}", macs=[f"00:00:00:00:01:{n:02x}", f"00:00:00:00:02:{n:02x}"])
    with django_assert_max_num_queries(8):  # session, user, perms, count, rows, MACs
        viewer_client.get(LIST, {"per_page": "25"}, headers=HTMX)
    with django_assert_max_num_queries(8):
        viewer_client.get(LIST, {"per_page": "100"}, headers=HTMX)


@pytest.mark.parametrize("asked", ["7", "abc", ""])
def test_an_ignored_page_size_shows_the_size_in_use_in_the_dropdown(viewer_client, make_device, asked):
    for n in range(60):
        make_device(f"dev-{n:02d}", hwid=f"H{n:02d}")
    response = viewer_client.get(LIST, {"per_page": asked})
    body = response.content.decode()
    assert len(response.context["page"].object_list) == 50
    select = body[body.index('<select name="per_page"'):]
    select = select[: select.index("</select>")]
    assert '<option value="50" selected>' in select
    assert select.count("selected") == 1
    assert ("Ignored per_page=" in body) == bool(asked)


def test_the_list_shows_and_filters_by_what_the_cloud_says(viewer_client, make_device):
    seen = dj_timezone.now() - timedelta(days=40)
    make_device("seen-bad", hwid="SB")
    make_device("never-synced", hwid="NS")
    Device.objects.filter(name="seen-bad").update(compliance="non_compliant", exempt_mode="critical", last_seen_at=seen,
                                                  cloud_synced_at=seen, cloud_missing_since=dj_timezone.now())
    page = viewer_client.get(LIST).content.decode()
    for heading in ("Compliance</th>", "Exemption</th>", "Last seen</th>"):
        assert heading in page
    assert "Non-compliant" in page and "Critical issues exempt" in page and "not in the cloud" in page
    assert f'<time datetime="{seen.isoformat(timespec="microseconds")}' in page
    assert "Never" in page and "Not confirmed" in page and "Not synced yet" in page
    # The overview's links use these parameter names.
    for query in ({"compliance": "non_compliant"}, {"exempt": "critical"}, {"cloud": "missing"}):
        body = viewer_client.get(LIST, query, headers=HTMX).content.decode()
        assert ">seen-bad</a>" in body and ">never-synced</a>" not in body, query
    quiet = viewer_client.get(LIST, {"unseen_days": "30"}, headers=HTMX).content.decode()
    assert ">seen-bad</a>" in quiet and ">never-synced</a>" not in quiet  # never seen is a filter of its own
    never = viewer_client.get(LIST, {"seen": "never"}, headers=HTMX).content.decode()
    assert ">seen-bad</a>" not in never and ">never-synced</a>" in never
    unconfirmed = viewer_client.get(LIST, {"exempt": "unknown"}, headers=HTMX).content.decode()
    assert ">seen-bad</a>" not in unconfirmed and ">never-synced</a>" in unconfirmed


@pytest.mark.parametrize("bad", ["abc", "0", "-1", "1e9"])
def test_an_invalid_unseen_days_is_named_and_ignored_never_an_error(viewer_client, make_device, bad):
    make_device("kept", hwid="K")
    response = viewer_client.get(LIST, {"unseen_days": bad, "compliance": "unknown"})
    assert response.status_code == 200
    body = response.content.decode()
    assert f"Ignored unseen_days=&#x27;{bad}&#x27;" in body and ">kept</a>" in body


def table_rows_html(body: str) -> dict[str, str]:
    """Each row of the device table, by the device name its link shows."""
    tbody = body[body.index("<tbody>"): body.index("</tbody>")]
    rows = re.findall(r"<tr>(.*?)</tr>", tbody, flags=re.S)
    return {re.search(r'<td class="name"><a href="[^"]+">(.*?)</a>', row).group(1): row for row in rows}


def test_each_rows_menu_queues_the_action_for_its_own_device(operator_client, make_device):
    devices = [make_device(f"lab-{n}", hwid=f"LAB{n}") for n in range(3)]
    rows = table_rows_html(operator_client.get(LIST, headers=HTMX).content.decode())
    for device in devices:
        row = rows[device.name]
        url = reverse("devices:action-create", args=[device.pk])
        assert f'<a href="{device.get_absolute_url()}">' in row
        assert f'<form method="post" action="{url}">' in row and row.count(f'hx-post="{url}"') == 4
        assert f"Actions<span class=\"visually-hidden\"> for {device.name}</span>" in row
        assert f'hx-confirm="Exempt all issues on {device.name}? {EXEMPT_ALL_WARNING}"' in row
        action = re.search(r'<form method="post" action="([^"]+)">', row).group(1)
        assert operator_client.post(action, {"kind": "dhcprenew"}).status_code == 302
    assert [action.device for action in Action.objects.order_by("pk")] == devices


def test_a_name_written_as_html_is_escaped_in_every_part_of_its_row(operator_client, make_device):
    make_device('<b>"x"</b>', hwid="H1")
    body = operator_client.get(LIST, headers=HTMX).content.decode()
    assert "<b>" not in body
    escaped = "&lt;b&gt;&quot;x&quot;&lt;/b&gt;"
    row = table_rows_html(body)[escaped]
    assert f'aria-label="Select {escaped}"' in row and f"> for {escaped}</span>" in row
    assert f'hx-confirm="Exempt all issues on {escaped}? {EXEMPT_ALL_WARNING}"' in row


def test_a_row_shows_the_primary_mac_first_the_owner_or_their_email_and_dashes_for_none(viewer_client, make_device):
    make_device("two-macs", macs=["00:00:00:00:00:09", "00:00:00:00:00:01"], owner_email="ops@example.com")
    make_device("bare", hwid="B1")
    MacAddress.objects.filter(address="00:00:00:00:00:01").update(is_primary=False)
    MacAddress.objects.filter(address="00:00:00:00:00:09").update(is_primary=True)
    rows = table_rows_html(viewer_client.get(LIST, headers=HTMX).content.decode())
    assert '<td class="mono" data-label="MAC">00:00:00:00:00:09 <span class="muted">+1</span></td>' in rows["two-macs"]
    assert '<td data-label="Owner">ops@example.com</td>' in rows["two-macs"]
    assert '<td class="mono" data-label="HWID">—</td>' in rows["two-macs"]
    assert '<td class="mono" data-label="MAC">—</td>' in rows["bare"] and '<td data-label="Owner">—</td>' in rows["bare"]


def test_a_viewer_gets_no_row_menus(viewer_client, make_device):
    make_device("lab-1", hwid="LAB1")
    body = viewer_client.get(LIST, headers=HTMX).content.decode()
    assert "lab-1" in body and "row-actions" not in body and "/actions/" not in body
