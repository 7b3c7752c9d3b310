"""Windows and aggregates against hand-computed values."""

from __future__ import annotations

import pytest

from collector.rules.window import Window, aggregate, percentile, reduce_values

S = 10**9


def window(*pairs: tuple[int, float | str | bool], max_samples: int = 1000) -> Window:
    w = Window(max_samples)
    for t, v in pairs:
        w.add(t * S, v)
    return w


def test_percentile_is_linear_between_closest_ranks() -> None:
    values = [float(v) for v in range(1, 11)]  # 1..10
    # rank = q * (n - 1): p95 -> 8.55 -> 9 + 0.55 * (10 - 9)
    assert percentile(values, 0.95) == pytest.approx(9.55)
    assert percentile(values, 0.5) == pytest.approx(5.5)
    assert percentile(values, 0.0) == 1.0
    assert percentile(values, 1.0) == 10.0
    assert percentile([7.0], 0.95) == 7.0
    assert percentile([], 0.5) is None
    # order does not matter
    assert percentile([10.0, 1.0, 5.0, 3.0], 0.25) == pytest.approx(2.5)


def test_basic_aggregates() -> None:
    w = window((1, 4.0), (2, 8.0), (3, 6.0), (4, 2.0))
    assert aggregate("avg", [w], 0, 10 * S) == 5.0
    assert aggregate("min", [w], 0, 10 * S) == 2.0
    assert aggregate("max", [w], 0, 10 * S) == 8.0
    assert aggregate("sum", [w], 0, 10 * S) == 20.0
    assert aggregate("count", [w], 0, 10 * S) == 4.0
    assert aggregate("last", [w], 0, 10 * S) == 2.0
    # the window is (start, now]: t=1 is out, t=3 is the newest in
    assert aggregate("avg", [w], 1 * S, 3 * S) == 7.0
    assert aggregate("last", [w], 1 * S, 3 * S) == 6.0
    assert aggregate("last", [w], 4 * S, 10 * S) is None
    assert aggregate("last", [w], 0, 0) is None
    assert aggregate("count", [w], 5 * S, 10 * S) == 0.0
    assert aggregate("avg", [w], 5 * S, 10 * S) is None


def test_distinct_count_and_booleans() -> None:
    macs = window((1, "aa"), (2, "bb"), (3, "aa"), (4, "cc"))
    assert aggregate("distinct_count", [macs], 0, 10 * S) == 3.0
    assert aggregate("last", [macs], 0, 10 * S) == "cc"
    smoke = window((1, False), (2, True), (3, True), (4, False))
    assert aggregate("sum", [smoke], 0, 10 * S) == 2.0
    assert aggregate("avg", [smoke], 0, 10 * S) == 0.5
    assert reduce_values("max", ["text"]) is None


def test_rate_handles_counter_resets_and_sums_series() -> None:
    # +10 in 10 s, then a reset to 5 (counts as +5), then +5: 20 over 30 s
    counter = window((0, 100.0), (10, 110.0), (20, 5.0), (30, 10.0))
    assert aggregate("rate", [counter], -1, 30 * S) == pytest.approx(20 / 30)
    other = window((0, 0.0), (30, 30.0))
    assert aggregate("rate", [counter, other], -1, 30 * S) == pytest.approx(20 / 30 + 1.0)
    assert aggregate("rate", [window((0, 1.0))], -1, 30 * S) is None


def test_group_aggregates_merge_series() -> None:
    a = window((1, 1.0), (3, 3.0))
    b = window((2, 2.0), (4, 10.0))
    assert aggregate("avg", [a, b], 0, 10 * S) == 4.0
    assert aggregate("last", [a, b], 0, 10 * S) == 10.0
    assert aggregate("p95", [a, b], 0, 10 * S) == pytest.approx(percentile([1, 2, 3, 10], 0.95))


def test_eviction_count_bound_and_late_samples() -> None:
    w = window(*((t, float(t)) for t in range(10)), max_samples=5)
    assert list(w.times) == [t * S for t in range(5, 10)]  # the oldest went first
    w.evict(7 * S)
    assert list(w.values) == [8.0, 9.0]
    w.add(int(8.5 * S), 8.5)  # late sample lands in order
    w.add(9 * S, 99.0)  # same time replaces
    assert list(w.values) == [8.0, 8.5, 99.0]
    assert list(w.times) == sorted(w.times)


def test_state_round_trip() -> None:
    w = window((1, 1.5), (2, "x"), (3, True))
    copy = Window()
    copy.load_state(w.to_state())
    assert list(copy.times) == list(w.times)
    assert list(copy.values) == [1.5, "x", True]
