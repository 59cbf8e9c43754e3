"""Password reset is offered only when email really leaves the machine; then it is
rate-limited and tells nobody whether an account has the address."""

from __future__ import annotations

import datetime as dt
import re

import pytest
import time_machine
from django.core import mail
from django.core.mail.backends.locmem import EmailBackend as LocmemBackend
from django.urls import reverse

RESET = "/accounts/password_reset/"
DELIVERING = "devices.tests.views.test_password_reset.DeliveringBackend"
# The defaults of GEARSDASH_PASSWORD_RESET_RATE and GEARSDASH_PASSWORD_RESET_EMAIL_RATE.
PER_ADDRESS, PER_EMAIL, WINDOW = 5, 3, dt.timedelta(hours=1)
NOON = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)


class DeliveringBackend(LocmemBackend):
    """Stands in for SMTP: the console only counts as configured email under another name."""


@pytest.fixture
def email_configured(settings):
    settings.EMAIL_BACKEND = DELIVERING
    with time_machine.travel(NOON, tick=False):  # one rate-limit window for the whole test
        yield


@pytest.fixture
def ada_with_email(admin_user):
    admin_user.email = "ada@example.com"
    admin_user.save()
    return admin_user


def request_reset(client, email, address="203.0.113.7"):
    return client.post(RESET, {"email": email}, REMOTE_ADDR=address)


@pytest.mark.django_db
@pytest.mark.parametrize(
    "backend",
    [
        "django.core.mail.backends.console.EmailBackend",
        "django.core.mail.backends.locmem.EmailBackend",
        "django.core.mail.backends.dummy.EmailBackend",
        "django.core.mail.backends.filebased.EmailBackend",
    ],
)
def test_without_real_email_the_reset_urls_answer_404_and_the_login_page_offers_no_reset(client, settings, ada_with_email, backend):
    settings.EMAIL_BACKEND = backend
    assert client.get(RESET).status_code == 404
    assert request_reset(client, "ada@example.com").status_code == 404
    assert client.get("/accounts/password_reset/done/").status_code == 404
    assert client.get("/accounts/reset/MQ/set-password/").status_code == 404
    assert client.get("/accounts/reset/done/").status_code == 404
    assert mail.outbox == []
    login = client.get("/accounts/login/").content.decode()
    assert "Forgot your password" not in login and RESET not in login


@pytest.mark.django_db
def test_with_smtp_configured_the_login_page_offers_the_reset(client, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    assert RESET in client.get("/accounts/login/").content.decode()
    assert client.get(RESET).status_code == 200


@pytest.mark.django_db
def test_the_answer_is_the_same_whether_or_not_an_account_has_the_address(client, email_configured, ada_with_email):
    known = request_reset(client, "ada@example.com")
    unknown = request_reset(client, "nobody@example.com")
    assert known.status_code == unknown.status_code == 302
    assert known["Location"] == unknown["Location"] == reverse("password_reset_done")
    assert [m.to for m in mail.outbox] == [["ada@example.com"]]


@pytest.mark.django_db
def test_the_link_in_the_email_sets_a_new_password(client, email_configured, ada_with_email):
    request_reset(client, "ada@example.com")
    link = re.search(r"http://testserver(/accounts/reset/\S+/)", mail.outbox[0].body)[1]
    form = client.get(link, follow=True)
    assert form.status_code == 200
    done = client.post(
        form.redirect_chain[-1][0], {"new_password1": "a-new-Long-pass-9", "new_password2": "a-new-Long-pass-9"}
    )
    assert done["Location"] == reverse("password_reset_complete")
    response = client.post("/accounts/login/", {"username": "ada", "password": "a-new-Long-pass-9"})
    assert response["Location"] == reverse("overview")


@pytest.mark.django_db
def test_too_many_requests_from_one_address_are_refused_and_others_are_not(client, settings, email_configured, ada_with_email):
    limit = PER_ADDRESS
    for n in range(limit):
        assert request_reset(client, f"someone{n}@example.com").status_code == 302
    refused = request_reset(client, "ada@example.com")
    assert refused.status_code == 429
    assert "Too many reset requests" in refused.content.decode()
    assert mail.outbox == []
    assert request_reset(client, "ada@example.com", address="198.51.100.20").status_code == 302
    assert len(mail.outbox) == 1


@pytest.mark.django_db
def test_one_address_gets_a_bounded_number_of_emails_whoever_asks(client, settings, email_configured, ada_with_email):
    limit = PER_EMAIL
    for n in range(limit + 3):
        response = request_reset(client, "ADA@example.com ", address=f"198.51.100.{n + 1}")
        assert response.status_code == 302  # the same answer: the limit tells nothing either
    assert len(mail.outbox) == limit


@pytest.mark.django_db
def test_the_limit_opens_again_in_the_next_window(client, settings, ada_with_email):
    settings.EMAIL_BACKEND = DELIVERING
    limit = PER_ADDRESS
    with time_machine.travel(NOON, tick=False) as clock:
        for n in range(limit):
            request_reset(client, f"someone{n}@example.com")
        assert request_reset(client, "ada@example.com").status_code == 429
        clock.shift(WINDOW)
        assert request_reset(client, "ada@example.com").status_code == 302


@pytest.mark.django_db
def test_without_the_throttle_table_requests_are_refused_not_a_500(client, settings, email_configured, ada_with_email):
    settings.CACHES = {**settings.CACHES, "throttle": {**settings.CACHES["throttle"], "LOCATION": "no_such_table"}}
    response = request_reset(client, "ada@example.com")
    assert response.status_code == 429
    assert mail.outbox == []
