"""The budget's guarantee, with a fake clock: never N+1 calls in any W, whatever
mix of clicks and bulk batches; bulk work never takes the last slot, so a
click goes out at once; and a bulk backlog still gets N - 1 per (W + latency + margin)."""

from __future__ import annotations

import heapq
import itertools

from hypothesis import given, settings
from hypothesis import strategies as st

from devices.cloudword import CloudWord, cloud_start
from devices.ratelimit import Budget, Span, next_start, window_usage


def simulate(budget: Budget, drainers: int, latencies: list[float], arrival_fractions: list[float], calls: int,
             cap=None):
    """Discrete-event run of `drainers` concurrent senders over a backlog of `calls`.

    Each call starts when next_start allows (and `cap(clock, starts)`, if
    given, a cap the caller applies), lasts latencies[i], and reaches the
    cloud at a point inside it (arrival_fractions[i]). Returns starts and
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
        if cap is not None:
            start = max(start, cap(clock, starts))
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
    # Bulk work gets N - 1 calls per (W + L + m), the price of the guarantee and
    # of the slot kept for clicks; with pacing the first go out W/(N-1) apart,
    # so allow one cycle of slack. K drainers making one call at a time cannot
    # exceed K per L. The slower of the two sets the pace.
    slots = budget.bulk_slots
    cycle = max(budget.seconds_per_bulk_call(latency) * slots, slots * latency / drainers)
    assert elapsed <= ((calls - 1) / slots + 1) * cycle + 1e-6
    # Paced: never two starts closer than 0.9 W/(N-1).
    assert all(b - a >= budget.pacing - 1e-9 for a, b in zip(starts, starts[1:], strict=False))


def test_a_call_in_flight_holds_its_slot_until_its_timeout():
    budget = Budget(2, 10, margin=0.1, call_timeout=5)
    spans = [Span(0.0, None), Span(5.0, 6.0)]
    # Unfinished: occupies until 0 + 5 + 10 + 0.1; finished: until 6 + 10 + 0.1.
    assert next_start(spans, 7.0, budget, click=True) == 15.1
    # Bulk work leaves the last slot free: it waits for both.
    assert next_start(spans, 7.0, budget) == 16.1
    assert window_usage(spans, 7.0, budget) == 2


def test_a_block_from_the_cloud_is_honoured():
    budget = Budget(10, 60, margin=0.1, call_timeout=5)
    assert next_start([], 100.0, budget, blocked_until=130.0) == 130.0
    assert next_start([], 100.0, budget) == 100.0


def simulate_mixed(budget: Budget, drainers: int, latencies: list[float], fractions: list[float],
                   clicks_at: list[float], bulk_calls: int, until: float = float("inf")):
    """Discrete-event run of `drainers` over a bulk backlog (each call a batch: one attempt) while
    clicks arrive at `clicks_at`. A drainer takes a waiting click first, or bulk work when the floor
    holds the click back (as claim_next does); one waiting for bulk work's turn wakes when a click
    arrives (as the real one does within MAX_NAP).

    Returns the calls as (started, arrived, click) and each click's wait from arrival to start.
    """
    clicks_at = sorted(clicks_at)
    log: list[list] = []  # [started, finished, click]
    ready = [(0.0, d, None) for d in range(drainers)]
    heapq.heapify(ready)
    calls, waits = [], []
    next_click, bulk_left = 0, bulk_calls
    while bulk_left or next_click < len(clicks_at):
        when, drainer, finished_call = heapq.heappop(ready)
        if when > until:
            break
        if finished_call is not None:
            log[finished_call][1] = when
        click_due = next_click < len(clicks_at) and clicks_at[next_click] <= when
        if not click_due and not bulk_left:
            heapq.heappush(ready, (clicks_at[next_click], drainer, None))
            continue
        spans = [Span(s, f, c) for s, f, c in log]
        start = next_start(spans, when, budget, click=click_due, bulk_waiting=bulk_left > 0)
        if click_due and start > when and bulk_left:
            bulk_start = next_start(spans, when, budget)
            click_due = bulk_start > when
            start = min(start, bulk_start)
        if start > when:
            if not click_due and next_click < len(clicks_at):
                start = min(start, max(clicks_at[next_click], when))
            heapq.heappush(ready, (start, drainer, None))
            continue
        i = len(log)
        latency = latencies[i % len(latencies)]
        log.append([when, None, click_due])
        calls.append((when, when + latency * fractions[i % len(fractions)], click_due))
        if click_due:
            waits.append(when - clicks_at[next_click])
            next_click += 1
        else:
            bulk_left -= 1
        heapq.heappush(ready, (when + latency, drainer, i))
    return calls, waits


@settings(max_examples=80, deadline=None)
@given(
    requests=st.integers(1, 12),
    window=st.floats(0.5, 60),
    drainers=st.integers(1, 5),
    latencies=st.lists(st.floats(0, 5), min_size=1, max_size=20),
    fractions=st.lists(st.floats(0, 1), min_size=1, max_size=20),
    clicks=st.lists(st.floats(0, 300), max_size=30),
    floor=st.sampled_from([0.0, 0.2, 1 / 3, 0.5, 0.9]),
)
def test_clicks_and_bulk_batches_together_never_put_n_plus_1_calls_in_any_window(
        requests, window, drainers, latencies, fractions, clicks, floor):
    budget = Budget(requests, window, margin=0.01, call_timeout=6, bulk_floor=floor)
    calls, _ = simulate_mixed(budget, drainers, latencies, fractions, clicks, bulk_calls=requests * 4 + 3)
    starts = [started for started, _, _ in calls]
    arrivals = [arrived for _, arrived, _ in calls]
    assert most_in_any_window(starts, window) <= requests
    assert most_in_any_window(arrivals, window) <= requests  # as the cloud counts
    bulk_arrivals = [arrived for _, arrived, click in calls if not click]
    assert most_in_any_window(bulk_arrivals, window) <= budget.bulk_slots


@settings(max_examples=60, deadline=None)
@given(
    requests=st.integers(2, 12),
    window=st.floats(0.5, 60),
    drainers=st.integers(2, 5),
    latency=st.floats(0, 2),
    gaps=st.lists(st.floats(0, 1), min_size=1, max_size=6),
)
def test_a_click_made_while_bulk_work_drains_waits_for_no_window_when_no_other_click_took_the_slot(
        requests, window, drainers, latency, gaps):
    budget = Budget(requests, window, margin=0.01, call_timeout=2)
    # Clicks far enough apart that an earlier one no longer holds the slot (its span freed).
    spacing = budget.call_timeout + window + budget.margin + latency
    clicks = list(itertools.accumulate(spacing + gap * window for gap in gaps))
    _, waits = simulate_mixed(budget, drainers, [latency], [1.0], clicks, bulk_calls=requests * 3 * len(clicks))
    # At worst a click waits for a drainer to come back from the call it is making; never for the window.
    assert all(wait <= latency + 1e-9 for wait in waits), waits
    assert budget.reserved_for_clicks == 1


def test_with_one_request_per_window_nothing_is_kept_back():
    budget = Budget(1, 60, margin=0.1, call_timeout=5)
    assert (budget.bulk_slots, budget.reserved_for_clicks) == (1, 0)
    assert next_start([], 100.0, budget) == 100.0


def test_a_click_is_paced_behind_clicks_only():
    budget = Budget(10, 60, margin=0.1, call_timeout=5)
    bulk_just_sent = [Span(99.0, 99.5)]
    assert next_start(bulk_just_sent, 100.0, budget, click=True) == 100.0
    assert next_start(bulk_just_sent, 100.0, budget) == 99.0 + budget.pacing
    click_just_sent = [Span(99.0, 99.5, click=True)]
    assert next_start(click_just_sent, 100.0, budget, click=True) == 99.0 + budget.click_pacing


@settings(max_examples=60, deadline=None)
@given(
    requests=st.integers(1, 12),
    window=st.floats(0.5, 60),
    drainers=st.integers(1, 5),
    latencies=st.lists(st.floats(0, 5), min_size=1, max_size=20),
    fractions=st.lists(st.floats(0, 1), min_size=1, max_size=20),
    words=st.lists(st.tuples(st.integers(0, 20), st.floats(-5, 120), st.integers(0, 5)), min_size=1, max_size=10),
)
def test_with_any_cloud_word_admitted_starts_never_exceed_the_local_limit(requests, window, drainers, latencies,
                                                                            fractions, words):
    # The cloud says anything: any Remaining (above the limit too), any reset, any count of ours since.
    budget = Budget(requests, window, margin=0.01, call_timeout=6)

    def cloud_cap(clock: float, starts: list[float]) -> float:
        # The word of the answer to the last start: its reset is counted from that start.
        remaining, reset_in, spent = words[len(starts) % len(words)]
        word = CloudWord(remaining, (starts[-1] if starts else 0.0) + reset_in)
        return cloud_start(word, spent, 1, clock, reserve=budget.reserved_for_clicks)

    starts, arrivals = simulate(budget, drainers, latencies, fractions, calls=requests * 3 + 2, cap=cloud_cap)
    assert most_in_any_window(starts, window) <= requests
    assert most_in_any_window(arrivals, window) <= requests
    assert all(later >= earlier for earlier, later in itertools.pairwise(starts))  # a cap only ever delays


def test_the_cloud_word_holds_a_call_until_its_reset_only_while_it_is_in_force():
    word = CloudWord(remaining=2, reset_at=10.0)
    assert cloud_start(word, spent=1, units=1, now=5.0) == 5.0
    assert cloud_start(word, spent=2, units=1, now=5.0) == 10.0
    assert cloud_start(word, spent=1, units=1, now=5.0, reserve=1) == 10.0  # the click's slot is kept
    assert cloud_start(word, spent=9, units=1, now=10.0) == 10.0  # past its reset it caps nothing
    assert cloud_start(None, spent=9, units=9, now=3.0) == 3.0


# ------------------------------------------------------------------ the bulk floor under a flood of clicks


def flood(budget: Budget, seconds: float = 600.0, every: float = 0.5, latency: float = 0.2):
    """Clicks every `every` seconds for `seconds` while a large bulk backlog waits, on three drainers."""
    clicks = [i * every for i in range(int(seconds / every))]
    calls, _ = simulate_mixed(budget, 3, [latency], [1.0], clicks, bulk_calls=10_000, until=seconds)
    return calls


@settings(max_examples=20, deadline=None)
@given(
    requests=st.integers(2, 12),
    window=st.floats(5, 60),
    floor=st.sampled_from([0.2, 1 / 3, 0.5]),
)
def test_under_a_flood_of_clicks_waiting_bulk_work_keeps_its_floor_and_the_limit_holds(requests, window, floor):
    budget = Budget(requests, window, margin=0.01, call_timeout=2, bulk_floor=floor)
    seconds = 10 * window
    calls = flood(budget, seconds=seconds, every=window / requests / 4)
    starts = [started for started, _, _ in calls]
    bulk = [started for started, _, click in calls if not click]
    assert most_in_any_window(starts, window) <= requests
    # F per (W + latency + margin) at least, give or take the first window; clicks keep the rest.
    floor_slots = budget.bulk_floor_slots
    assert floor_slots >= 1
    assert len(bulk) >= 0.9 * floor_slots * seconds / (window + 0.2 + 0.01) - floor_slots
    assert len(starts) - len(bulk) >= 0.9 * budget.click_cap * seconds / (window + 0.2 + 0.01) - requests


def test_without_a_floor_the_same_flood_starves_bulk_work():
    starved = flood(Budget(10, 60, margin=0.25, call_timeout=20))
    kept = flood(Budget(10, 60, margin=0.25, call_timeout=20, bulk_floor=1 / 3))
    assert sum(1 for *_, click in starved if not click) <= 2
    assert sum(1 for *_, click in kept if not click) >= 27  # 3 a minute for ten minutes, less the first


def test_the_floor_is_a_share_of_the_window_at_least_one_and_never_the_click_slot():
    assert Budget(10, 60, 0.1, 5, bulk_floor=1 / 3).bulk_floor_slots == 3
    assert Budget(2, 60, 0.1, 5, bulk_floor=1 / 3).bulk_floor_slots == 1
    assert Budget(10, 60, 0.1, 5, bulk_floor=1.0).bulk_floor_slots == 9  # a click always has one
    assert Budget(1, 60, 0.1, 5, bulk_floor=1 / 3).bulk_floor_slots == 0
    assert Budget(10, 60, 0.1, 5).bulk_floor_slots == 0


def test_a_click_takes_no_slot_of_the_floor_while_bulk_waits_and_any_slot_when_none_does():
    budget = Budget(10, 60, margin=0.1, call_timeout=5, bulk_floor=1 / 3)
    seven_clicks = [Span(60.0 + 6 * i, 60.5 + 6 * i, click=True) for i in range(7)]  # paced, all in the window
    assert next_start(seven_clicks, 102.0, budget, click=True) == 102.0  # nothing else waits
    assert next_start(seven_clicks, 102.0, budget, click=True, bulk_waiting=True) == 60.5 + 60 + 0.1
    # Bulk below its floor goes now: paced behind bulk starts only, not behind the last click.
    assert next_start(seven_clicks, 102.0, budget) == 102.0
    assert next_start(seven_clicks, 102.0, Budget(10, 60, margin=0.1, call_timeout=5)) == 96.0 + 0.9 * 60 / 9
