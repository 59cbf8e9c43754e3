"""The sliding-window limiter on its own, with a fake clock (no HTTP, no sleeping)."""

from __future__ import annotations

import threading

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fakegears.ratelimit import SlidingWindowLimiter, max_in_any_window
from fakegears.tests.support import ManualClock


def make(limit: int = 3, window: float = 60.0) -> tuple[SlidingWindowLimiter, ManualClock]:
    clock = ManualClock(1000.0)
    return SlidingWindowLimiter(limit, window, clock=clock.now), clock


def test_accepts_limit_requests_then_rejects() -> None:
    limiter, _ = make(limit=3)
    decisions = [limiter.acquire("account") for _ in range(4)]
    assert [d.allowed for d in decisions] == [True, True, True, False]
    assert [d.remaining for d in decisions] == [2, 1, 0, 0]
    assert limiter.rejected == 1


def test_a_request_stops_counting_exactly_one_window_after_it_arrived() -> None:
    limiter, clock = make(limit=1, window=60)
    assert limiter.acquire("k").allowed
    clock.time += 59.999
    assert not limiter.acquire("k").allowed
    clock.time = 1000.0 + 60
    assert limiter.acquire("k").allowed


def test_window_slides_rather_than_resetting_in_fixed_buckets() -> None:
    limiter, clock = make(limit=2, window=60)
    limiter.acquire("k")  # t = 0
    clock.time += 50
    limiter.acquire("k")  # t = 50
    clock.time += 15  # t = 65: the first left, the second still counts
    assert limiter.acquire("k").allowed
    assert not limiter.acquire("k").allowed


def test_rejected_requests_use_no_quota() -> None:
    limiter, clock = make(limit=1, window=10)
    limiter.acquire("k")
    for _ in range(100):
        clock.time += 0.05
        assert not limiter.acquire("k").allowed
    clock.time = 1000.0 + 10
    assert limiter.acquire("k").allowed


def test_reset_time_is_whole_seconds_rounded_up_until_the_oldest_leaves() -> None:
    limiter, clock = make(limit=2, window=60)
    assert limiter.acquire("k").reset_seconds == 60
    clock.time += 0.5
    assert limiter.acquire("k").reset_seconds == 60  # ceil(59.5)
    clock.time += 58.7
    rejected = limiter.acquire("k")
    assert not rejected.allowed
    assert rejected.reset_seconds == 1  # ceil(0.8)


def test_fractional_window_reset_time_rounds_up_to_one() -> None:
    limiter, _ = make(limit=1, window=0.5)
    assert limiter.acquire("k").reset_seconds == 1


def test_peek_reports_without_counting() -> None:
    limiter, _ = make(limit=2)
    assert limiter.peek("k").remaining == 2
    assert limiter.peek("k").reset_seconds == 0
    limiter.acquire("k")
    assert limiter.peek("k").remaining == 1
    assert limiter.acquire("k").allowed


def test_keys_have_separate_windows() -> None:
    limiter, _ = make(limit=1)
    assert limiter.acquire("a").allowed
    assert limiter.acquire("b").allowed
    assert not limiter.acquire("a").allowed


def test_reset_clears_windows_history_and_rejections() -> None:
    limiter, _ = make(limit=1)
    limiter.acquire("k")
    limiter.acquire("k")
    limiter.reset()
    assert limiter.rejected == 0
    assert limiter.max_accepted_in_window() == {}
    assert limiter.acquire("k").allowed


def test_headers_are_the_three_x_ratelimit_headers() -> None:
    limiter, _ = make(limit=5, window=60)
    assert dict(limiter.acquire("k").headers()) == {
        "X-RateLimit-Limit": "5",
        "X-RateLimit-Remaining": "4",
        "X-RateLimit-Reset-Time": "60",
    }


def test_invalid_limit_or_window_is_rejected() -> None:
    with pytest.raises(ValueError):
        SlidingWindowLimiter(0, 60)
    with pytest.raises(ValueError):
        SlidingWindowLimiter(1, 0)


@pytest.mark.parametrize(
    ("arrivals", "window", "expected"),
    [
        ([], 1, 0),
        ([0.0], 1, 1),
        ([0.0, 0.5, 0.99], 1, 3),
        ([0.0, 1.0, 2.0], 1, 1),
        ([0.0, 0.6, 1.2, 1.3], 1, 3),
    ],
)
def test_max_in_any_window_counts_the_busiest_half_open_window(
    arrivals: list[float], window: float, expected: int
) -> None:
    assert max_in_any_window(arrivals, window) == expected


def test_concurrent_acquires_accept_exactly_limit() -> None:
    limiter = SlidingWindowLimiter(10, 60)
    barrier = threading.Barrier(40)
    outcomes: list[bool] = []
    lock = threading.Lock()

    def worker() -> None:
        barrier.wait()
        decision = limiter.acquire("account")
        with lock:
            outcomes.append(decision.allowed)

    threads = [threading.Thread(target=worker) for _ in range(40)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert outcomes.count(True) == 10


@settings(max_examples=200, deadline=None, database=None)
@given(
    limit=st.integers(min_value=1, max_value=6),
    window=st.sampled_from([0.5, 1.0, 2.5, 60.0]),
    steps=st.lists(
        st.tuples(st.floats(min_value=0, max_value=1.5, allow_nan=False), st.sampled_from(["a", "b"])),
        max_size=120,
    ),
)
def test_limiter_matches_a_naive_model_and_never_exceeds_the_limit(
    limit: int, window: float, steps: list[tuple[float, str]]
) -> None:
    """Strict and tight: accept exactly when fewer than `limit` accepted in (now - W, now]."""
    limiter, clock = make(limit=limit, window=window)
    accepted: dict[str, list[float]] = {"a": [], "b": []}
    for gap, key in steps:
        clock.time += gap
        in_window = [t for t in accepted[key] if clock.time - t < window]
        decision = limiter.acquire(key)
        assert decision.allowed == (len(in_window) < limit)
        if decision.allowed:
            accepted[key].append(clock.time)
            assert decision.remaining == limit - len(in_window) - 1
        else:
            # Waiting Reset-Time seconds is always enough for a slot to free up.
            assert min(in_window) + window <= clock.time + decision.reset_seconds
            assert decision.remaining == 0
    measured = limiter.max_accepted_in_window()
    for key, times in accepted.items():
        assert max_in_any_window(times, window) <= limit
        assert measured.get(key, 0) == max_in_any_window(times, window)
