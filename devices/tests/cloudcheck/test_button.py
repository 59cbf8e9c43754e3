"""The Upstream page's "Test connection" button: admins only, a CSRF-protected POST, the report in place."""

from __future__ import annotations

from django.test import Client
from django.urls import reverse

from devices.models import AuditEntry, UpstreamAttempt
from devices.tests.cloudcheck.conftest import issued_tokens
from devices.tests.upstream.support import CLIENT_SECRET, control

CHECK = reverse("devices:upstream-check")
HTMX = {"HTTP_HX_REQUEST": "true"}


def test_an_admin_gets_the_report_in_place_and_an_audit_entry(cloud, admin_client_, admin_user):
    response = admin_client_.post(CHECK, **HTMX)
    assert response.status_code == 200 and "HX-Request" in response["Vary"]
    body = response.content.decode()
    assert "The connection to the cloud works." in body and "<html" not in body
    assert "a token for 43,199 s" in body and "X-RateLimit-Limit 10" in body
    assert CLIENT_SECRET not in body and "access_token" not in body
    assert not any(token in body for token in issued_tokens(cloud))
    entry = AuditEntry.objects.get()
    assert (entry.verb, entry.user, entry.detail) == (AuditEntry.Verb.CHECKED_CLOUD, admin_user,
                                                     "the cloud answered; the check passed")
    assert UpstreamAttempt.objects.filter(connection_check=True).count() == 1


def test_without_htmx_the_report_comes_on_the_whole_page(cloud, admin_client_):
    body = admin_client_.post(CHECK).content.decode()
    assert "<h1>Upstream</h1>" in body and "The connection to the cloud works." in body


def test_a_failed_check_shows_what_to_fix_without_the_secret(cloud, admin_client_, settings):
    settings.GEARS_CLIENT_SECRET = "not-the-secret-7d1e4c"
    body = admin_client_.post(CHECK, **HTMX).content.decode()
    assert "The connection check failed." in body and "Check GEARS_CLIENT_ID and GEARS_CLIENT_SECRET" in body
    assert "not-the-secret-7d1e4c" not in body
    assert AuditEntry.objects.get().detail.startswith("failed: The cloud refused the credentials")


def test_operators_and_viewers_get_403_and_nothing_is_sent(cloud, client, operator, viewer):
    for user in (operator, viewer):
        client.force_login(user)
        assert client.post(CHECK, **HTMX).status_code == 403
        assert 'id="test-connection"' not in client.get(reverse("devices:upstream")).content.decode()
    assert not UpstreamAttempt.objects.exists() and not AuditEntry.objects.exists()


def test_the_button_is_on_the_page_for_an_admin_only_and_get_is_refused(cloud, admin_client_):
    assert 'id="test-connection"' in admin_client_.get(reverse("devices:upstream")).content.decode()
    assert admin_client_.get(CHECK).status_code == 405


def test_a_post_without_a_csrf_token_is_refused(cloud, admin_user):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(admin_user)
    assert browser.post(CHECK, **HTMX).status_code == 403
    assert not UpstreamAttempt.objects.exists()


def test_a_failed_check_is_listed_among_the_recent_errors_as_a_connection_check(cloud, admin_client_):
    control(cloud, "POST", "faults", {"malformed_next": 1})
    admin_client_.post(CHECK, **HTMX)
    body = admin_client_.get(reverse("devices:upstream")).content.decode()
    assert "Connection check</td>" in body and "not JSON" in body
