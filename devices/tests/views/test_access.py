"""Who may open what: a login for every page, a role for every page, a CSRF token for every change."""

from __future__ import annotations

from urllib.parse import quote

from django.urls import reverse

from devices.models import Device

HTMX = {"HX-Request": "true"}

LIST = reverse("devices:device-list")


def test_every_page_needs_a_login(client, sample_device):
    for url in [LIST, reverse("devices:device-detail", args=[sample_device.pk]), reverse("devices:device-export"),
                reverse("devices:device-create"), reverse("devices:import-upload")]:
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))


def test_a_user_without_a_role_gets_403(client, nobody, sample_device):
    client.force_login(nobody)
    assert client.get(LIST).status_code == 403
    assert client.get(reverse("devices:device-detail", args=[sample_device.pk])).status_code == 403


def test_post_without_csrf_token_is_refused(client, admin_user, sample_device):
    client.handler.enforce_csrf_checks = True
    client.force_login(admin_user)
    assert client.post(reverse("devices:device-delete", args=[sample_device.pk])).status_code == 403
    assert Device.objects.exists()


def test_an_htmx_poll_without_a_session_sends_the_whole_page_to_the_login(client, sample_device):
    page = "http://testserver" + sample_device.get_absolute_url() + "?tab=1"
    response = client.get(LIST, headers={**HTMX, "HX-Current-URL": page})
    # Not a 302: htmx would follow it and swap the login page into the fragment.
    assert response.status_code == 200
    assert response["HX-Redirect"] == reverse("login") + "?next=" + quote(sample_device.get_absolute_url() + "?tab=1")


def test_an_htmx_post_without_a_session_changes_nothing_and_goes_to_the_login(client, sample_device):
    response = client.post(reverse("devices:device-delete", args=[sample_device.pk]),
                           headers={**HTMX, "HX-Current-URL": "http://testserver/devices/"})
    assert response["HX-Redirect"] == reverse("login") + "?next=/devices/"
    assert Device.objects.filter(pk=sample_device.pk).exists()


def test_the_login_redirect_never_points_at_another_site(client):
    response = client.get(LIST, headers={**HTMX, "HX-Current-URL": "https://evil.example/phish"})
    assert response["HX-Redirect"] == reverse("login") + "?next=" + quote(LIST)


def test_the_login_page_needs_no_login(client):
    assert client.get(reverse("login")).status_code == 200


def test_logging_out_after_the_session_expired_goes_straight_to_the_login(db, client):
    response = client.post(reverse("logout"))
    assert response.status_code == 302 and response["Location"] == reverse("login")
