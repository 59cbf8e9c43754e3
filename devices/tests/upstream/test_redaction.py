"""The cloud's text is scrubbed of secrets and bounded before anyone sees it."""

from __future__ import annotations

from devices.tests.upstream.support import STATIC_TOKEN
from devices.upstream import clean_text


def test_a_cloud_message_echoing_the_token_is_scrubbed_and_truncated():
    # Spring-style servers answer 401 with "Invalid access token: <token>";
    # the simulator never echoes it, so the scrubber is checked directly.
    cleaned = clean_text(f"Invalid access token: {STATIC_TOKEN}\n\tretry?access_token=abc123", (STATIC_TOKEN,))
    assert cleaned == "Invalid access token: [redacted] retry?access_token=[redacted]"
    assert len(clean_text("x" * 500)) == 200
