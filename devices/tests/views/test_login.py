"""The login page resists password guessing: a (username, address) pair is locked out after a
few failures, says so and for how long, and opens again after the cool-off or an admin reset."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.core.management import call_command
from django.urls import reverse

from gearsdash.client_ip import client_ip

LOGIN = "/accounts/login/"
LIMIT = 5  # GEARSDASH_LOGIN_FAILURE_LIMIT's default; the cool-off is 15 minutes


def attempt(client, username, password, address="203.0.113.7"):
    return client.post(LOGIN, {"username": username, "password": password}, REMOTE_ADDR=address)


def guess_wrong(client, username, times, address="203.0.113.7"):
    for _ in range(times):
        response = attempt(client, username, "wrong", address)
        assert response.status_code in (200, 429)


def logged_in(response) -> bool:
    return response.status_code == 302 and response["Location"] == reverse("overview")


@pytest.mark.django_db
def test_five_wrong_passwords_lock_the_account_and_the_right_one_is_refused_with_a_message(client, admin_user, settings):
    guess_wrong(client, "ada", LIMIT)
    response = attempt(client, "ada", "pw-ada")
    assert not logged_in(response)
    assert response.status_code == 429
    page = response.content.decode()
    assert "Too many failed logins" in page
    assert "15 minutes" in page
    assert "Traceback" not in page
    # Still the login page, so the user knows where they are.
    assert 'name="password"' in page
    assert "_auth_user_id" not in client.session


@pytest.mark.django_db
def test_the_lockout_takes_effect_at_the_limit_not_before(client, admin_user, settings):
    guess_wrong(client, "ada", LIMIT - 1)
    assert logged_in(attempt(client, "ada", "pw-ada"))


@pytest.mark.django_db
def test_another_user_and_another_address_are_not_locked_out(client, admin_user, operator, settings):
    guess_wrong(client, "ada", LIMIT, address="203.0.113.7")
    assert logged_in(attempt(client, "otto", "pw-otto", address="203.0.113.7"))
    client.logout()
    # Ada from her own desk is not locked out by someone guessing from elsewhere.
    assert logged_in(attempt(client, "ada", "pw-ada", address="198.51.100.20"))


@pytest.mark.django_db
def test_after_the_cool_off_the_user_logs_in_again(client, admin_user, settings):
    start = dt.datetime(2026, 3, 1, 9, 0, tzinfo=dt.UTC)
    with time_machine.travel(start, tick=False) as clock:
        guess_wrong(client, "ada", LIMIT)
        clock.shift(dt.timedelta(minutes=14))
        assert not logged_in(attempt(client, "ada", "pw-ada"))
        # Every attempt during the lockout, this one too, starts the cool-off again.
        clock.shift(dt.timedelta(minutes=15, seconds=1))
        assert logged_in(attempt(client, "ada", "pw-ada"))


@pytest.mark.django_db
def test_axes_reset_unlocks_the_account(client, admin_user, settings):
    guess_wrong(client, "ada", LIMIT)
    assert not logged_in(attempt(client, "ada", "pw-ada"))
    call_command("axes_reset_username", "ada")
    assert logged_in(attempt(client, "ada", "pw-ada"))


@pytest.mark.django_db
def test_an_admin_unlocks_the_account_in_the_django_admin(client, admin_user, settings):
    from django.contrib.auth import get_user_model

    guess_wrong(client, "ada", LIMIT)
    superuser = get_user_model().objects.create_superuser("root", password="pw-root")
    client.force_login(superuser)
    changelist = client.get("/admin/axes/accessattempt/")
    assert changelist.status_code == 200
    assert "ada" in changelist.content.decode()
    from axes.models import AccessAttempt

    pk = AccessAttempt.objects.get(username="ada").pk
    response = client.post(
        "/admin/axes/accessattempt/", {"action": "delete_selected", "_selected_action": [pk], "post": "yes"}
    )
    assert response.status_code == 302
    client.logout()
    assert logged_in(attempt(client, "ada", "pw-ada"))


@pytest.mark.django_db
def test_a_successful_login_clears_earlier_failures(client, admin_user, settings):
    guess_wrong(client, "ada", LIMIT - 1)
    assert logged_in(attempt(client, "ada", "pw-ada"))
    client.logout()
    guess_wrong(client, "ada", LIMIT - 1)
    assert logged_in(attempt(client, "ada", "pw-ada"))


@pytest.mark.django_db
def test_an_htmx_login_attempt_while_locked_out_gets_the_page_not_json(client, admin_user, settings):
    guess_wrong(client, "ada", LIMIT)
    response = client.post(
        LOGIN, {"username": "ada", "password": "pw-ada"}, REMOTE_ADDR="203.0.113.7", HTTP_X_REQUESTED_WITH="XMLHttpRequest"
    )
    assert response.status_code == 429
    assert "Too many failed logins" in response.content.decode()


@pytest.mark.parametrize(
    ("proxies", "peer", "forwarded", "expected"),
    [
        # No proxy: the peer, whatever the client put in the header.
        (0, "192.0.2.1", "10.9.9.9", "192.0.2.1"),
        # One proxy: the client forged the first entry; the proxy appended the real peer.
        (1, "10.0.0.2", "10.9.9.9, 198.51.100.4", "198.51.100.4"),
        # Two: the outer proxy appended the client, the inner one the outer proxy.
        (2, "10.0.0.2", "10.9.9.9, 198.51.100.4, 10.0.0.1", "198.51.100.4"),
        # A header shorter than the proxies, or garbled: the peer.
        (2, "10.0.0.2", "198.51.100.4", "10.0.0.2"),
        (2, "10.0.0.2", "not-an-ip, 10.0.0.1", "10.0.0.2"),
        (2, "10.0.0.2", None, "10.0.0.2"),
    ],
)
def test_the_client_address_trusts_only_the_configured_proxies(rf, settings, proxies, peer, forwarded, expected):
    settings.GEARSDASH_TRUSTED_PROXIES = proxies
    headers = {"HTTP_X_FORWARDED_FOR": forwarded} if forwarded is not None else {}
    assert client_ip(rf.get("/", REMOTE_ADDR=peer, **headers)) == expected


@pytest.mark.django_db
def test_a_login_without_next_lands_on_the_overview_and_one_with_next_goes_there(client, admin_user):
    response = attempt(client, "ada", "pw-ada")
    assert (response.status_code, response["Location"]) == (302, "/")
    assert client.get(response["Location"]).status_code == 200
    client.logout()
    response = client.post(LOGIN + "?next=/devices/", {"username": "ada", "password": "pw-ada"}, REMOTE_ADDR="203.0.113.7")
    assert response["Location"] == "/devices/"


@pytest.mark.django_db
@pytest.mark.parametrize("length", [151, 256, 10_000])
def test_a_username_too_long_for_any_account_is_a_failed_login_that_is_counted(client, length):
    from axes.models import AccessAttempt

    name = "u" * length
    response = attempt(client, name, "wrong")
    assert response.status_code == 200 and not logged_in(response)
    assert AccessAttempt.objects.get().failures_since_start == 1
    guess_wrong(client, name, LIMIT - 1)
    assert attempt(client, name, "wrong").status_code == 429


PASSWORD_CHANGE = "/accounts/password_change/"


def change_password(client, old, address="203.0.113.7"):
    return client.post(PASSWORD_CHANGE, {"old_password": old, "new_password1": "a-Long-new-pass-42",
                                         "new_password2": "a-Long-new-pass-42"}, REMOTE_ADDR=address)


@pytest.mark.django_db
def test_wrong_current_passwords_on_the_password_change_form_lock_it_out_like_login(client, admin_user):
    client.force_login(admin_user)
    for _ in range(LIMIT - 1):
        assert change_password(client, "wrong").status_code == 200
    locked = change_password(client, "wrong")
    assert locked.status_code == 429 and "Too many failed" in locked.content.decode()
    right = change_password(client, "pw-ada")
    assert right.status_code == 429
    admin_user.refresh_from_db()
    assert admin_user.check_password("pw-ada")
    # The same (username, address) is locked on the login page too.
    client.logout()
    assert attempt(client, "ada", "pw-ada").status_code == 429


@pytest.mark.django_db
def test_the_right_current_password_still_changes_it(client, admin_user):
    client.force_login(admin_user)
    change_password(client, "wrong")
    assert change_password(client, "pw-ada").status_code == 302
    admin_user.refresh_from_db()
    assert admin_user.check_password("a-Long-new-pass-42")
