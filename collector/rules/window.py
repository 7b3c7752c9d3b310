"""Per-series rolling windows of ``(time_ns, value)`` and the aggregates over them.

A :class:`Window` keeps the samples of one series for one rule input, ordered by time, bounded
both by age (``span_ns``, evicted by :meth:`Window.evict`) and by count (``max_samples``: the
oldest sample goes first when full, so memory is bounded even for a series that floods).

Aggregates (:func:`aggregate`) work over one or several windows (the series of one alert
group), on the samples with ``start_ns < t <= now_ns``:

- ``avg``, ``min``, ``max``, ``sum``, ``count``, ``last`` (the most recent sample of the group),
  ``distinct_count`` (distinct values, strings included);
- ``rate``: per second, per series: the increase from the first to the last sample, a drop
  being a counter reset (the value after the drop counts as the increase), divided by the time
  between them; the rates of the group's series are summed. Needs two samples of a series.
- ``percentile`` (and ``p95`` = ``percentile(x, 0.95)``): linear interpolation between the two
  closest ranks of the sorted values, rank ``q * (n - 1)`` (0-based). This is what
  Prometheus's ``quantile_over_time`` and numpy's default ("linear", Hyndman & Fan type 7)
  compute: for 1..10, p95 = 9.55; p50 = 5.5; p0 = min; p100 = max.

Booleans count as 0 and 1 in numeric aggregates.
"""

from __future__ import annotations

import math
from bisect import bisect_right, insort
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from itertools import islice
from typing import Any, Final

__all__ = [
    "CROSS_SERIES",
    "NUMERIC",
    "NUMERIC_FAST",
    "WINDOW_FUNCTIONS",
    "Window",
    "aggregate",
    "percentile",
    "reduce_values",
    "window_values",
]

Value = float | str | bool

WINDOW_FUNCTIONS: Final = frozenset(
    {"avg", "min", "max", "sum", "count", "rate", "percentile", "p95", "distinct_count", "last"}
)
# functions whose inputs must be numbers (bools count as 0/1)
NUMERIC: Final = frozenset({"avg", "min", "max", "sum", "rate", "percentile", "p95"})
# functions that may aggregate across series: outer(inner(x)) per group
CROSS_SERIES: Final = frozenset(
    {"avg", "min", "max", "sum", "count", "percentile", "p95", "distinct_count"}
)

DEFAULT_MAX_SAMPLES: Final = 20_000


class Window:
    """Samples of one series in time order, bounded by age and count."""

    __slots__ = ("added", "max_samples", "times", "values")

    def __init__(self, max_samples: int = DEFAULT_MAX_SAMPLES) -> None:
        self.max_samples = max_samples
        self.times: deque[int] = deque()
        self.values: deque[Value] = deque()
        self.added = 0  # samples added so far (tells the engine which groups changed)

    def __len__(self) -> int:
        return len(self.times)

    def add(self, time_ns: int, value: Value) -> None:
        self.added += 1
        times = self.times
        if not times or time_ns > times[-1]:
            times.append(time_ns)
            self.values.append(value)
        elif time_ns == times[-1]:
            self.values[-1] = value  # same timestamp replaces (line-protocol semantics)
        else:
            self._insert(time_ns, value)
        if len(times) > self.max_samples:
            times.popleft()
            self.values.popleft()

    def _insert(self, time_ns: int, value: Value) -> None:
        # late sample: rare, so a rebuild of the deques is fine
        times, values = list(self.times), list(self.values)
        index = bisect_right(times, time_ns)
        if index and times[index - 1] == time_ns:
            values[index - 1] = value
        else:
            insort(times, time_ns)
            values.insert(index, value)
        self.times, self.values = deque(times), deque(values)

    def evict(self, oldest_ns: int) -> None:
        """Drop samples at or before ``oldest_ns``."""
        times, values = self.times, self.values
        while times and times[0] <= oldest_ns:
            times.popleft()
            values.popleft()

    def first_after(self, start_ns: int) -> int | None:
        """Time of the oldest sample after ``start_ns`` (None: there is none)."""
        times = self.times
        if not times or times[-1] <= start_ns:
            return None
        if times[0] > start_ns:
            return times[0]
        return times[bisect_right(times, start_ns)]

    def samples(self, start_ns: int, now_ns: int) -> Iterable[tuple[int, Value]]:
        """Samples with ``start_ns < t <= now_ns``."""
        for t, v in zip(self.times, self.values, strict=True):
            if t > now_ns:
                break
            if t > start_ns:
                yield t, v

    def newest(self, start_ns: int, now_ns: int) -> tuple[int, Value] | None:
        """The newest sample with ``start_ns < t <= now_ns``."""
        times = self.times
        if times and start_ns < times[-1] <= now_ns:
            return times[-1], self.values[-1]  # the usual case
        for t, v in zip(reversed(times), reversed(self.values), strict=True):
            if t <= start_ns:
                return None
            if t <= now_ns:
                return t, v
        return None

    def values_in(self, start_ns: int, now_ns: int) -> list[Value]:
        """Values of the samples with ``start_ns < t <= now_ns``."""
        times = self.times
        if not times or times[-1] <= start_ns:
            return []
        if times[-1] <= now_ns:
            if times[0] > start_ns:
                return list(self.values)  # the usual case: eviction already cut the window
            return list(islice(self.values, bisect_right(times, start_ns), None))
        return [v for t, v in zip(times, self.values, strict=True) if start_ns < t <= now_ns]

    def to_state(self) -> list[list[int | Value]]:
        return [[t, v] for t, v in zip(self.times, self.values, strict=True)]

    def load_state(self, pairs: Sequence[Sequence[object]]) -> None:
        for pair in pairs:
            if len(pair) == 2 and isinstance(pair[0], int):
                value = pair[1]
                if isinstance(value, (float, int, str, bool)):
                    self.add(pair[0], float(value) if type(value) is int else value)


def _num(value: Value) -> float | None:
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if isinstance(value, float):
        return value
    return None


def percentile(values: Sequence[float], q: float) -> float | None:
    """Linear interpolation between closest ranks (type 7); ``None`` for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = q * (len(ordered) - 1)
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    fraction = rank - low
    return ordered[low] + (ordered[high] - ordered[low]) * fraction


def reduce_values(func: str, values: Sequence[Value], q: float = 0.95) -> Value | None:
    """One aggregate over plain values (no time): every function but ``rate``."""
    if func == "count":
        return float(len(values))
    if not values:
        return None
    if func == "distinct_count":
        return float(len(set(values)))
    if func == "last":
        return values[-1]
    numbers = [float(v) for v in values if not isinstance(v, str)]  # bools count as 0/1
    if not numbers:
        return None
    if func == "avg":
        return math.fsum(numbers) / len(numbers)
    if func == "sum":
        return math.fsum(numbers)
    if func == "min":
        return min(numbers)
    if func == "max":
        return max(numbers)
    if func == "p95":
        return percentile(numbers, 0.95)
    if func == "percentile":
        return percentile(numbers, q)
    raise ValueError(f"unknown aggregate {func!r}")


def _series_rate(samples: Sequence[tuple[int, Value]]) -> float | None:
    if len(samples) < 2:
        return None
    increase = 0.0
    previous = _num(samples[0][1])
    for _, value in samples[1:]:
        current = _num(value)
        if current is None or previous is None:
            return None
        increase += current - previous if current >= previous else current
        previous = current
    seconds = (samples[-1][0] - samples[0][0]) / 1e9
    return increase / seconds


def window_values(windows: Sequence[Window], start_ns: int, now_ns: int) -> Sequence[Value]:
    """The values of ``windows`` in ``(start_ns, now_ns]`` (a window's own deque when it lies
    wholly inside: do not modify the result)."""
    if len(windows) == 1:
        window = windows[0]
        times = window.times
        if not times:
            return ()
        if times[0] > start_ns and times[-1] <= now_ns:
            return window.values
        return window.values_in(start_ns, now_ns)
    values: list[Value] = []
    for window in windows:
        values.extend(window.values_in(start_ns, now_ns))
    return values


def _avg(values: Sequence[float]) -> float | None:
    return math.fsum(values) / len(values) if values else None


def _sum(values: Sequence[float]) -> float | None:
    return math.fsum(values) if values else None


def _min(values: Sequence[float]) -> float | None:
    return min(values) if values else None


def _max(values: Sequence[float]) -> float | None:
    return max(values) if values else None


def _count(values: Sequence[object]) -> float:
    return float(len(values))


# aggregates over windows that hold numbers only (a numeric slot's are all floats): the same
# results as reduce_values without its type filtering
NUMERIC_FAST: Final[dict[str, Callable[[Sequence[Any]], float | None]]] = {
    "avg": _avg,
    "sum": _sum,
    "min": _min,
    "max": _max,
    "count": _count,
}


def aggregate(
    func: str, windows: Sequence[Window], start_ns: int, now_ns: int, q: float = 0.95
) -> Value | None:
    """``func`` over the samples of ``windows`` in ``(start_ns, now_ns]``; ``None``: no data."""
    if func == "rate":
        rates = [
            r
            for r in (_series_rate(list(w.samples(start_ns, now_ns))) for w in windows)
            if r is not None
        ]
        return math.fsum(rates) if rates else None
    if func == "last":
        best: tuple[int, Value] | None = None
        for window in windows:
            newest = window.newest(start_ns, now_ns)
            if newest is not None and (best is None or newest[0] >= best[0]):
                best = newest
        return None if best is None else best[1]
    if len(windows) == 1:
        return reduce_values(func, windows[0].values_in(start_ns, now_ns), q)
    values: list[Value] = []
    for window in windows:
        values.extend(window.values_in(start_ns, now_ns))
    return reduce_values(func, values, q)
