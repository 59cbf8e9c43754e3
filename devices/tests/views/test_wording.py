"""An action that changes what the cloud enforces is warned about in one wording, wherever it is pressed."""

from __future__ import annotations

import html

from django.urls import reverse

WARNING = "The cloud will stop reporting all issues until the exemption is removed."


def test_exempt_all_warns_in_the_same_words_on_the_device_page_the_list_the_no_js_page_and_the_bulk_confirmation(
        operator_client, sample_device):
    surfaces = {
        "device page": operator_client.get(sample_device.get_absolute_url()),
        "list row": operator_client.get(reverse("devices:device-list")),
        "page without JavaScript": operator_client.post(
            reverse("devices:action-create", args=[sample_device.pk]), {"kind": "exempt_all"}),
        "bulk confirmation": operator_client.post(
            reverse("devices:bulk-action"), {"kind": "exempt_all", "device": [sample_device.pk]}),
    }
    for where, response in surfaces.items():
        assert WARNING in html.unescape(response.content.decode()), where


def test_actions_that_enforce_nothing_are_queued_without_a_warning(operator_client, sample_device):
    page = operator_client.get(sample_device.get_absolute_url()).content.decode()
    assert html.unescape(page).count(WARNING) == 1  # exempt_all's button only
    done = operator_client.post(reverse("devices:action-create", args=[sample_device.pk]), {"kind": "dhcprenew"})
    assert done.status_code == 302
