"""The budget's guarantee, with a fake clock: never N+1 calls in any W, and a
backlog still gets N per (W + latency + margin)."""

from __future__ import annotations

import heapq

from hypothesis import given, settings
from hypothesis import strategies as st

from devices.ratelimit import Budget, Span, next_start, window_usage


def simulate(budget: Budget, drainers: int, latencies: list[float], arrival_fractions: list[float], calls: int):
    """Discrete-event run of `drainers` concurrent senders over a backlog of `calls`.

    Each call starts when next_start allows, lasts latencies[i], and reaches
    the cloud at a point inside it (arrival_fractions[i]). Returns starts and
    arrivals, both on the fake clock.
    """
    log: list[list[float | None]] = []  # [started, finished]
    ready = [(0.0, d, None) for d in range(drainers)]  # (time, drainer, call it just finished)
    heapq.heapify(ready)
    starts, arrivals = [], []
    clock = 0.0
    while len(starts) < calls:
        when, drainer, finished_call = heapq.heappop(ready)
        clock = max(clock, when)
        if finished_call is not None:
            log[finished_call][1] = clock
        spans = [Span(s, f) for s, f in log]
        start = next_start(spans, clock, budget)
        if start > clock:
            heapq.heappush(ready, (start, drainer, None))
            continue
        i = len(log)
        latency = latencies[i % len(latencies)]
        log.append([clock, None])
        starts.append(clock)
        arrivals.append(clock + latency * arrival_fractions[i % len(arrival_fractions)])
        heapq.heappush(ready, (clock + latency, drainer, i))
    return starts, sorted(arrivals)


def most_in_any_window(times: list[float], window: float) -> int:
    times = sorted(times)
    best, j = 0, 0
    for i, t in enumerate(times):
        while times[j] <= t - window:
            j += 1
        best = max(best, i - j + 1)
    return best


@settings(max_examples=60, deadline=None)
@given(
    requests=st.integers(1, 12),
    window=st.floats(0.5, 60),
    drainers=st.integers(1, 5),
    latencies=st.lists(st.floats(0, 5), min_size=1, max_size=20),
    fractions=st.lists(st.floats(0, 1), min_size=1, max_size=20),
)
def test_no_n_plus_1_calls_reach_the_cloud_in_any_window(requests, window, drainers, latencies, fractions):
    budget = Budget(requests, window, margin=0.01, call_timeout=6)
    starts, arrivals = simulate(budget, drainers, latencies, fractions, calls=requests * 4 + 3)
    assert most_in_any_window(starts, window) <= requests
    # What the cloud counts: arrivals anywhere inside each call.
    assert most_in_any_window(arrivals, window) <= requests


@settings(max_examples=30, deadline=None)
@given(requests=st.integers(1, 12), window=st.floats(1, 60), latency=st.floats(0, 0.5), drainers=st.integers(1, 4))
def test_a_backlog_gets_n_calls_per_window_plus_latency_and_margin(requests, window, latency, drainers):
    budget = Budget(requests, window, margin=0.05, call_timeout=6)
    calls = requests * 6
    starts, _ = simulate(budget, drainers, [latency], [1.0], calls=calls)
    elapsed = starts[-1] - starts[0]
    # N calls per (W + L + m), the price of the guarantee; with pacing the first
    # N go out W/N apart, so allow one cycle of slack.
    # The budget allows N per (W + L + m); K drainers making one call at a
    # time cannot exceed K per L. The slower of the two sets the pace.
    cycle = max(budget.seconds_per_call(latency) * requests, requests * latency / drainers)
    assert elapsed <= ((calls - 1) / requests + 1) * cycle + 1e-6
    # Paced: never two starts closer than W/N.
    assert all(b - a >= budget.pacing - 1e-9 for a, b in zip(starts, starts[1:]))


def test_a_call_in_flight_holds_its_slot_until_its_timeout():
    budget = Budget(2, 10, margin=0.1, call_timeout=5)
    spans = [Span(0.0, None), Span(5.0, 6.0)]
    # Unfinished: occupies until 0 + 5 + 10 + 0.1; finished: until 6 + 10 + 0.1.
    assert next_start(spans, 7.0, budget) == 15.1
    assert window_usage(spans, 7.0, budget) == 2


def test_a_block_from_the_cloud_is_honoured():
    budget = Budget(10, 60, margin=0.1, call_timeout=5)
    assert next_start([], 100.0, budget, blocked_until=130.0) == 130.0
    assert next_start([], 100.0, budget) == 100.0
