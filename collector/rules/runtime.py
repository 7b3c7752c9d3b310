"""The engine's live data: shared inputs (windows per series) and each rule's series, groups
and alerts.

An **input** is one slot expression of one measurement (``interface`` / ``in_bps``, or
``interface`` / ``(in_bps / speed_bps)``), with the busy-hours filter when a rule asks for it.
Rules that read the same input share its windows: a metric is computed and stored once however
many rules read it, and the input keeps samples for the longest window among its rules (each
rule aggregates only its own window). A rule keeps, per series, its tags and when it was last
seen, and groups its series by its ``group_by`` labels.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from collector.rules.alerts import AlertState
from collector.rules.compiled import CompiledRule
from collector.rules.window import Window

__all__ = [
    "GroupKey",
    "Input",
    "InputKey",
    "Mark",
    "Route",
    "RuleRuntime",
    "SeriesKey",
    "SeriesState",
]

SeriesKey = tuple[tuple[str, str], ...]
GroupKey = tuple[str, ...]
InputKey = tuple[str, str, bool]  # measurement, slot expression, busy hours only


@dataclass(slots=True)
class Input:
    key: InputKey
    sample: Callable[[Mapping[str, Any]], float | str | bool | None]
    span_ns: int
    windows: dict[SeriesKey, Window] = field(default_factory=dict)
    epoch: int = 0  # counts windows created and removed (group plans hold window objects)

    def window(self, key: SeriesKey, max_samples: int) -> Window:
        """The window of series ``key``, created if needed."""
        found = self.windows.get(key)
        if found is None:
            found = self.windows[key] = Window(max_samples)
            self.epoch += 1
        return found

    def put(self, key: SeriesKey, window: Window) -> None:
        self.windows[key] = window
        self.epoch += 1

    def evict(self, now_ns: int) -> list[SeriesKey]:
        """Evict old samples; returns the series whose window became empty (and went)."""
        oldest = now_ns - self.span_ns
        empty = []
        for key, window in self.windows.items():
            times = window.times
            if times and times[0] <= oldest:
                window.evict(oldest)
                if not times:
                    empty.append(key)
        for key in empty:
            del self.windows[key]
        if empty:
            self.epoch += 1
        return empty


@dataclass(slots=True)
class SeriesState:
    tags: dict[str, str]
    last_seen_ns: int


@dataclass(slots=True)
class Mark:
    """A rule's group to mark dirty when the series' windows of that rule got samples
    (``windows`` empty: the rule reads no field, any sample counts)."""

    dirty: set[GroupKey]
    group: GroupKey
    windows: list[Window]
    added: int = -1


@dataclass(slots=True, eq=False)
class Route:
    """Where the samples of one series go: the series state the rules share (one for rules
    reading every sample, one for busy-hours rules), the windows of the inputs they read, and
    which group of which rule to mark dirty (``marks``: the rule's dirty set and the group)
    when samples came (``touched``) since the last evaluation."""

    series: SeriesState | None = None
    busy_series: SeriesState | None = None
    always: list[tuple[Input, Window]] = field(default_factory=list)
    busy: list[tuple[Input, Window]] = field(default_factory=list)
    marks: list[Mark] = field(default_factory=list)
    touched: bool = False


Result = tuple[bool, float | None, dict[str, str]]


@dataclass(slots=True)
class GroupPlan:
    """What evaluating one group needs, kept between evaluations: its labels, inventory
    entries and windows (per input, and all in one list)."""

    labels: dict[str, str]
    windows: list[list[Window]]
    flat: list[Window]
    site: Any = None
    link: Any = None


@dataclass(slots=True)
class RuleRuntime:
    """A compiled rule with its inputs, series, groups and alerts."""

    compiled: CompiledRule
    inputs: list[Input] = field(default_factory=list)
    series: dict[SeriesKey, SeriesState] = field(default_factory=dict)
    groups: dict[GroupKey, dict[SeriesKey, SeriesState]] = field(default_factory=dict)
    alerts: dict[GroupKey, AlertState] = field(default_factory=dict)
    plans: dict[GroupKey, GroupPlan] = field(default_factory=dict)
    plan_epoch: tuple[int, ...] = ()
    expected: dict[GroupKey, dict[str, str]] | None = None  # absence: groups from the inventory
    # incremental evaluation (collector.rules.evaluation)
    results: dict[GroupKey, Result] = field(default_factory=dict)
    dirty: set[GroupKey] = field(default_factory=set)
    expiry: list[tuple[int, int, GroupKey]] = field(default_factory=list)  # heap: time, seq
    scheduled: dict[GroupKey, int] = field(default_factory=dict)  # the live expiry entries
    sequence: int = 0
    full: bool = True
    next_drop_ns: int = -(2**63)
    seen: dict[GroupKey, int] = field(default_factory=dict)  # absence: newest sample per group

    def group_of(self, tags: Mapping[str, str], key: SeriesKey) -> GroupKey:
        group_by = self.compiled.group_by
        if group_by is None:
            return tuple(f"{k}={v}" for k, v in key)
        return tuple(tags.get(name, "") for name in group_by)

    def labels_of(self, group: GroupKey, tags: Mapping[str, str]) -> dict[str, str]:
        group_by = self.compiled.group_by
        if group_by is None:
            return dict(tags)
        return {name: value for name, value in zip(group_by, group, strict=True) if value}

    def add_series(self, key: SeriesKey, series: SeriesState) -> None:
        self.series[key] = series
        group = self.group_of(series.tags, key)
        self.groups.setdefault(group, {})[key] = series
        self.plans.pop(group, None)
        self.dirty.add(group)

    def drop_series_before(self, oldest_ns: int) -> list[SeriesKey]:
        """Forget series not seen after ``oldest_ns`` (nothing of theirs is in the window)."""
        gone = [k for k, s in self.series.items() if s.last_seen_ns <= oldest_ns]
        for key in gone:
            series = self.series.pop(key)
            group = self.group_of(series.tags, key)
            self.plans.pop(group, None)
            self.dirty.add(group)
            members = self.groups.get(group)
            if members is not None:
                members.pop(key, None)
                if not members:
                    del self.groups[group]
        return gone
