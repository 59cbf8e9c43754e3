"""Fixtures for the API tests: tokens for any user and scopes, and a client that sends them."""

from __future__ import annotations

import pytest

from devices import tokens
from devices.models import ApiScope

ALL_SCOPES = tuple(ApiScope.values)


@pytest.fixture
def make_token():
    """`make_token(user, scopes=ALL_SCOPES, **issue_options)` -> (ApiToken, plain text)."""

    def make(user, scopes=ALL_SCOPES, *, days=90, networks=(), name="script"):
        # Issued as a superuser would see it: a test may give a token more than its owner's role (to show the cap).
        token, plain = tokens.ApiToken.build(user, name, scopes, days=days, networks=networks)
        token.save()
        return token, plain

    return make


def bearer(plain: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {plain}"}
