"""API tokens: a keyed hash at rest, refused when expired, revoked, unknown or off its networks, capped by the role."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
import time_machine
from django.contrib.auth.models import Group
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from devices import tokens
from devices.models import ApiToken, AuditEntry
from devices.roles import VIEWER
from devices.tests.api.conftest import bearer

DEVICES = "/api/v1/devices/"


def test_a_token_is_stored_only_as_a_keyed_hash_of_its_secret(operator, settings):
    token, plain = tokens.issue(operator, "nightly", ["devices:read"], days=30)
    secret = ApiToken.split(plain)[1]
    stored = ApiToken.objects.filter(pk=token.pk).values().get()
    assert all(secret not in str(value) for value in stored.values())
    assert token.matches(secret)
    settings.SECRET_KEY = "another-secret-key-" * 3
    assert not token.matches(secret), "the hash is keyed: another SECRET_KEY does not reproduce it"


def test_a_token_reads_devices_with_its_bearer_header(client, operator, make_token, sample_device):
    _, plain = make_token(operator, ["devices:read"])
    response = client.get(DEVICES, **bearer(plain))
    assert response.status_code == 200
    assert [d["name"] for d in response.json()["results"]] == ["ws-042"]


@pytest.mark.parametrize("spoil", ["unknown", "wrong_secret", "expired", "revoked", "not_ours", "inactive_owner"])
def test_a_token_that_is_not_valid_gets_401_as_a_problem(client, operator, make_token, spoil):
    token, plain = make_token(operator, ["devices:read"])
    if spoil == "unknown":
        plain = "gd_" + "0" * 12 + "_" + ApiToken.split(plain)[1]
    elif spoil == "wrong_secret":
        plain = plain[:-4] + "AAAA"
    elif spoil == "expired":
        ApiToken.objects.filter(pk=token.pk).update(created_at=timezone.now() - timedelta(days=91),
                                                    expires_at=timezone.now() - timedelta(seconds=1))
    elif spoil == "revoked":
        tokens.revoke(token, by=operator)
    elif spoil == "not_ours":
        plain = "abc"
    else:
        operator.is_active = False
        operator.save()
    response = client.get(DEVICES, **bearer(plain))
    assert response.status_code == 401
    assert response["Content-Type"] == "application/problem+json"
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert response.json()["status"] == 401


def test_no_credentials_at_all_get_401_not_a_login_redirect(client):
    response = client.get(DEVICES)
    assert response.status_code == 401
    assert response.json()["title"] == "Authentication is needed"


def test_a_demoted_users_token_loses_its_write_scope_at_once(client, admin_user, make_token, make_device):
    _, plain = make_token(admin_user, ["devices:read", "devices:write"])
    first, second = make_device("ws-1", hwid="A" * 16), make_device("ws-2", hwid="B" * 16)
    assert client.delete(f"{DEVICES}{first.pk}/", **bearer(plain)).status_code == 204
    admin_user.groups.set([Group.objects.get(name=VIEWER)])
    refused = client.delete(f"{DEVICES}{second.pk}/", **bearer(plain))
    assert refused.status_code == 403
    assert "devices:write" in refused.json()["detail"]
    assert client.get(DEVICES, **bearer(plain)).status_code == 200, "what the new role allows still works"


def test_a_token_outside_its_allowed_networks_is_refused(client, operator, make_token):
    _, plain = make_token(operator, ["devices:read"], networks=["10.0.0.0/8"])
    assert client.get(DEVICES, REMOTE_ADDR="10.1.2.3", **bearer(plain)).status_code == 200
    refused = client.get(DEVICES, REMOTE_ADDR="192.0.2.7", **bearer(plain))
    assert refused.status_code == 401
    assert "address" in refused.json()["detail"]


def test_last_used_is_written_at_most_once_a_minute(client, operator, make_token):
    token, plain = make_token(operator, ["devices:read"])
    start = timezone.now()
    with time_machine.travel(start, tick=False) as clock:
        client.get(DEVICES, **bearer(plain))
        first = ApiToken.objects.get(pk=token.pk).last_used_at
        clock.shift(30)
        client.get(DEVICES, **bearer(plain))
        assert ApiToken.objects.get(pk=token.pk).last_used_at == first
        clock.shift(31)
        client.get(DEVICES, **bearer(plain))
        assert ApiToken.objects.get(pk=token.pk).last_used_at > first


def test_a_use_from_a_new_address_is_audited_once(client, operator, make_token):
    _, plain = make_token(operator, ["devices:read"])
    for _ in range(3):
        client.get(DEVICES, REMOTE_ADDR="198.51.100.4", **bearer(plain))
    client.get(DEVICES, REMOTE_ADDR="198.51.100.5", **bearer(plain))
    used = AuditEntry.objects.filter(verb=AuditEntry.Verb.TOKEN_NEW_ADDRESS).order_by("id")
    assert [e.detail.rsplit(" ", 1)[1] for e in used] == ["198.51.100.4", "198.51.100.5"]


def test_creating_and_revoking_a_token_are_audited_without_its_secret(operator, admin_user):
    token, plain = tokens.issue(operator, "ci", ["devices:read"], days=7)
    assert tokens.revoke(token, by=admin_user)
    assert not tokens.revoke(token, by=admin_user), "revoking twice changes nothing"
    entries = list(AuditEntry.objects.order_by("id"))
    assert [(e.verb, e.username) for e in entries] == [(AuditEntry.Verb.TOKEN_CREATED, "otto"),
                                                       (AuditEntry.Verb.TOKEN_REVOKED, "ada")]
    assert all(ApiToken.split(plain)[1] not in e.detail for e in entries)


def test_a_token_cannot_be_issued_beyond_its_owners_role(viewer):
    with pytest.raises(Exception, match="does not allow: actions:write"):
        tokens.issue(viewer, "too much", ["devices:read", "actions:write"], days=7)
    assert not ApiToken.objects.exists()


def test_a_browser_session_needs_its_csrf_token_to_write(viewer, admin_user, sample_device):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(admin_user)
    assert browser.get(DEVICES).status_code == 200, "a session reads without a token"
    refused = browser.delete(f"{DEVICES}{sample_device.pk}/")
    assert refused.status_code == 403
    assert "CSRF" in refused.json()["detail"]
    csrf = browser.get(reverse("devices:tokens")).cookies["csrftoken"].value
    assert browser.delete(f"{DEVICES}{sample_device.pk}/", HTTP_X_CSRFTOKEN=csrf).status_code == 204


def test_no_token_reaches_a_log_line(client, operator, make_token, caplog):
    _, plain = make_token(operator, ["devices:read"])
    secret = ApiToken.split(plain)[1]
    with caplog.at_level(logging.DEBUG):
        client.get(DEVICES, **bearer(plain))
        client.get(DEVICES, **bearer(plain[:-2] + "xx"))
        client.get(DEVICES + "?q=" + plain, **bearer(plain))
    assert caplog.records, "the access log wrote its lines"
    assert all(secret not in record.getMessage() and secret not in str(record.__dict__) for record in caplog.records)


class TestTokenPage:
    def test_a_new_token_is_shown_once(self, client, operator):
        client.force_login(operator)
        created = client.post(reverse("devices:tokens"), {"name": "ticket bot", "scopes": ["devices:read", "actions:write"],
                                                         "expires_days": 30, "allowed_networks": "10.0.0.0/8"})
        assert created.status_code == 200
        plain = created.context["created"]["plain"]
        assert plain.encode() in created.content
        again = client.get(reverse("devices:tokens"))
        assert ApiToken.split(plain)[1].encode() not in again.content
        assert b"ticket bot" in again.content and b"10.0.0.0/8" in again.content
        token = ApiToken.objects.get()
        assert (token.owner, token.scopes) == (operator, ["actions:write", "devices:read"])

    def test_the_form_offers_only_what_the_role_allows_and_refuses_the_rest(self, client, viewer):
        client.force_login(viewer)
        page = client.get(reverse("devices:tokens"))
        assert b'value="devices:read"' in page.content and b'value="actions:write"' not in page.content
        refused = client.post(reverse("devices:tokens"), {"name": "x", "scopes": ["actions:write"], "expires_days": 30})
        assert refused.status_code == 400
        assert not ApiToken.objects.exists()

    @pytest.mark.parametrize("networks", ["10.0.0.300/8", "not-an-address"])
    def test_a_bad_network_is_a_message_on_the_form(self, client, operator, networks):
        client.force_login(operator)
        refused = client.post(reverse("devices:tokens"), {"name": "x", "scopes": ["devices:read"], "expires_days": 30,
                                                          "allowed_networks": networks})
        assert refused.status_code == 400
        assert b"is not an IP address or network" in refused.content
        assert not ApiToken.objects.exists()

    def test_users_see_their_own_tokens_and_admins_see_all(self, client, operator, viewer, admin_user, make_token):
        make_token(operator, ["devices:read"], name="otto-token")
        make_token(viewer, ["devices:read"], name="vera-token")
        client.force_login(viewer)
        mine = client.get(reverse("devices:tokens")).content
        assert b"vera-token" in mine and b"otto-token" not in mine
        client.force_login(admin_user)
        every = client.get(reverse("devices:tokens")).content
        assert b"vera-token" in every and b"otto-token" in every

    def test_a_user_cannot_revoke_anothers_token_but_an_admin_can(self, client, operator, viewer, admin_user, make_token):
        token, _ = make_token(operator, ["devices:read"])
        client.force_login(viewer)
        assert client.post(reverse("devices:token-revoke", args=[token.pk])).status_code == 404
        assert ApiToken.objects.get().revoked_at is None
        client.force_login(admin_user)
        assert client.post(reverse("devices:token-revoke", args=[token.pk])).status_code == 302
        assert ApiToken.objects.get().state == "revoked"

    def test_revoking_needs_the_csrf_token(self, operator, make_token):
        token, _ = make_token(operator, ["devices:read"])
        browser = Client(enforce_csrf_checks=True)
        browser.force_login(operator)
        assert browser.post(reverse("devices:token-revoke", args=[token.pk])).status_code == 403
        assert ApiToken.objects.get().revoked_at is None


class TestCommand:
    def test_it_prints_a_working_token_once(self, client, operator, capsys):
        call_command("create_api_token", "otto", "--name", "cron", "--scopes", "devices:read,actions:write",
                     "--expires-days", "10")
        plain = capsys.readouterr().out.strip()
        assert client.get(DEVICES, **bearer(plain)).status_code == 200
        token = ApiToken.objects.get()
        assert token.expires_at - token.created_at == pytest.approx(timedelta(days=10), abs=timedelta(seconds=5))

    @pytest.mark.parametrize("args, message", [
        (["nobody-here", "--name", "x", "--scopes", "devices:read"], "no user"),
        (["otto", "--name", "x", "--scopes", "devices:reed"], "Unknown scope"),
        (["otto", "--name", "x", "--scopes", "devices:write"], "does not allow"),
        (["otto", "--name", "x", "--scopes", "devices:read", "--expires-days", "0"], "expires in 1 to"),
        (["otto", "--name", "x", "--scopes", "devices:read", "--allowed-networks", "999.1.1.1"], "not an IP"),
    ])
    def test_bad_arguments_are_refused_with_a_message(self, operator, args, message):
        with pytest.raises(CommandError, match=message):
            call_command("create_api_token", *args)
        assert not ApiToken.objects.exists()
