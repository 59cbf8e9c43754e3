"""GEARS_CA_BUNDLE: a private CA's PEM bundle, checked at start-up, used by the client for every call."""

from __future__ import annotations

import subprocess
import sys

import pytest
from django.core.exceptions import ImproperlyConfigured

from devices.tests.test_settings_env import ROOT, clean_env
from devices.tests.upstream.support import CLIENT_ID, CLIENT_SECRET
from devices.upstream import TLS_UNTRUSTED, GearsClient, GearsError
from gearsdash.env import env_ca_bundle


def test_unset_means_the_systems_cas(monkeypatch):
    monkeypatch.delenv("GEARS_CA_BUNDLE", raising=False)
    assert env_ca_bundle("GEARS_CA_BUNDLE") == ""


def test_a_pem_bundle_is_taken(monkeypatch, self_signed):
    monkeypatch.setenv("GEARS_CA_BUNDLE", self_signed[0])
    assert env_ca_bundle("GEARS_CA_BUNDLE") == self_signed[0]


@pytest.mark.parametrize("content, message", [(None, "is not a file"), (b"hello\n", "holds no PEM certificate"),
                                              (b"", "holds no PEM certificate")])
def test_a_missing_or_unreadable_bundle_stops_start_up_naming_the_variable(monkeypatch, tmp_path, content, message):
    path = tmp_path / "bundle.pem"
    if content is not None:
        path.write_bytes(content)
    monkeypatch.setenv("GEARS_CA_BUNDLE", str(path))
    with pytest.raises(ImproperlyConfigured, match=rf"^GEARS_CA_BUNDLE=.*{message}"):
        env_ca_bundle("GEARS_CA_BUNDLE")


def test_start_up_stops_on_a_bundle_that_is_not_there(tmp_path):
    env = clean_env(tmp_path, GEARS_CA_BUNDLE=str(tmp_path / "nowhere.pem"))
    result = subprocess.run([sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    assert result.returncode != 0 and "GEARS_CA_BUNDLE" in result.stderr.splitlines()[-1]


def test_the_client_verifies_against_its_bundle_whatever_requests_ca_bundle_says(start_upstream, self_signed,
                                                                                  monkeypatch):
    cert, key = self_signed
    sim = start_upstream(tls_cert=cert, tls_key=key)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/ssl/certs/ca-certificates.crt")  # would replace a session's verify
    with GearsClient(sim.base_url, ca_bundle=cert) as client:
        client.fetch_token(CLIENT_ID, CLIENT_SECRET)
        assert client.last_exchange.tls and client.last_exchange.tls_verified
    with GearsClient(sim.base_url) as client, pytest.raises(GearsError) as refused:
        client.fetch_token(CLIENT_ID, CLIENT_SECRET)
    assert refused.value.cause == TLS_UNTRUSTED and client.last_exchange is None


def test_the_simulator_refuses_a_certificate_without_its_key():
    from fakegears.server import SimulatorConfig

    with pytest.raises(ValueError, match="tls_cert and tls_key go together"):
        SimulatorConfig(tls_cert="cert.pem").validate()
