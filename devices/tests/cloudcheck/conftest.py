"""Fixtures of the connection check's tests: a simulator the console points at, a self-signed https one."""

from __future__ import annotations

import subprocess

import pytest


@pytest.fixture
def cloud(upstream):
    """The simulator, with the console pointed at it (a budget of 10 per second)."""
    return upstream()


@pytest.fixture(scope="session")
def self_signed(tmp_path_factory):
    """A certificate for 127.0.0.1 signed by nobody (its own CA), and its key, made with openssl."""
    where = tmp_path_factory.mktemp("tls")
    cert, key = where / "cert.pem", where / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert),
                    "-days", "2", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
                   check=True, capture_output=True)
    return str(cert), str(key)


def issued_tokens(sim) -> list[str]:
    return list(sim.state._access_tokens)
