"""What the cloud answered, as the client reads it: tokens and rate-limit headers."""

from __future__ import annotations

from devices.tests.upstream.support import STATIC_TOKEN
from devices.upstream import RateLimitInfo, Token


def test_a_token_never_shows_in_its_repr_or_str():
    token = Token(access_token=STATIC_TOKEN, expires_in=60, refresh_token="refresh-0123456789abcdef")
    for text in (repr(token), str(token), f"{token}"):
        assert STATIC_TOKEN not in text
        assert "refresh-0123456789abcdef" not in text
    assert "expires_in=60" in str(token)


def test_rate_limit_headers_that_are_garbled_or_an_epoch_are_read_safely():
    assert RateLimitInfo.from_headers({}) is None
    garbled = RateLimitInfo.from_headers({"X-RateLimit-Limit": "ten", "X-RateLimit-Reset-Time": "-3"})
    assert garbled == RateLimitInfo(limit=None, remaining=None, reset_seconds=None)
    epoch = RateLimitInfo.from_headers({"X-RateLimit-Reset-Time": "1700000042"}, now=1_700_000_000.0)
    assert epoch.reset_seconds == 42.0


def test_reset_time_is_seconds_when_it_could_be_a_window_and_an_epoch_only_near_the_answers_time():
    now = 1_700_000_000.0
    def reset(value: str) -> float | None:
        return RateLimitInfo.from_headers({"X-RateLimit-Reset-Time": value}, now=now).reset_seconds
    assert reset("60") == 60.0  # a window's worth: seconds from now
    assert reset("3600") == 3600.0
    assert reset(str(int(now) - 5)) == 0.0  # an epoch just past: the window has freed
    assert reset("500000000") is None  # neither a plausible wait nor a time near the answer
    assert reset(str(int(now) + 10 * 86_400)) is None  # an epoch days away: garbled, not a ten-day pause
