"""The Django admin has every model, and never shows the access token."""

from __future__ import annotations

from django.apps import apps
from django.urls import reverse

import pytest
from django.contrib.auth import get_user_model

from devices.models import UpstreamToken


@pytest.fixture
def superuser_client(client, db):
    client.force_login(get_user_model().objects.create_superuser("root", "root@example.com", "pw"))
    return client


def test_every_model_of_the_app_has_a_working_admin(superuser_client, sample_device):
    for model in apps.get_app_config("devices").get_models():
        url = reverse(f"admin:devices_{model._meta.model_name}_changelist")
        assert superuser_client.get(url).status_code == 200, model.__name__


def test_the_token_admin_shows_its_version_not_the_token(superuser_client):
    token = UpstreamToken.objects.create(access_token="ab3aec71-fa6a-4752-8804-00c37f934059", version=3)
    for url in (reverse("admin:devices_upstreamtoken_changelist"), reverse("admin:devices_upstreamtoken_change", args=[token.pk])):
        body = superuser_client.get(url).content.decode()
        assert "ab3aec71" not in body
    assert "3" in body
