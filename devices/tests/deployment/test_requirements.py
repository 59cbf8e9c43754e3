"""Without PostgreSQL, Redis or the tools, an integration test skips and says why, except in CI.

These run in the main suite (not marked integration): they start nothing.
"""

from __future__ import annotations

import pytest

from devices.tests.deployment.services import postgres_answers, redis_answers, require


def test_a_missing_service_skips_the_test_and_names_it_outside_ci(monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="Redis does not answer at redis://127.0.0.1:1"):
        require(redis_answers("redis://127.0.0.1:1"), "Redis does not answer at redis://127.0.0.1:1")


def test_a_missing_service_fails_the_test_in_ci(monkeypatch):
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="PostgreSQL does not answer .* may not skip"):
        require(postgres_answers("postgres://postgres@127.0.0.1:1"), "PostgreSQL does not answer at port 1")

