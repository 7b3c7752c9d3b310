"""The streaming rule engine.

>>> engine = Engine(load_packs(["rules/bandwidth"], Catalog.load()), inventory)  # doctest: +SKIP
>>> engine.observe(metrics)              # every metric the collector stores
>>> changes = engine.evaluate(now_ns)    # every evaluation interval: the alert state changes

``observe`` routes each metric to the rules reading its measurement whose tag filter matches,
computes each rule input ("slot": a field or a per-sample expression) and appends it to the
series' window (and marks the group dirty). ``evaluate`` evaluates the condition per group
(``group_by`` labels; by default each series is its own group) and moves alerts through
pending -> firing -> resolved; only groups whose samples changed, or whose window lost or
gains a sample with time, are evaluated again (:mod:`collector.rules.evaluation`); old
samples are evicted about once a minute. Absence rules fire for groups silent for
``silent_for``. All times are ns since the Unix epoch. The engine is not thread-safe: callers
serialise ``observe``/``evaluate`` (see :mod:`collector.rules.runner`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Mapping
from typing import Final

from campusguard.inventory.model import Inventory
from campusguard.metric import FieldValue, Metric
from campusguard.selfmetrics import SelfMetrics, StageCounters
from collector.rules.alerts import AlertChange, AlertState
from collector.rules.compiled import CompiledRule
from collector.rules.context import InventoryContext
from collector.rules.evaluation import evaluate_absence, evaluate_threshold
from collector.rules.loader import RuleSet
from collector.rules.runtime import (
    Input,
    InputKey,
    Mark,
    Route,
    RuleRuntime,
    SeriesKey,
    SeriesState,
)
from collector.rules.timetable import Timetable
from collector.rules.window import DEFAULT_MAX_SAMPLES

__all__ = ["Engine"]

log = logging.getLogger(__name__)

Record = tuple[str, Mapping[str, str], Mapping[str, FieldValue], int | None]
DEFAULT_MAX_SERIES: Final = 50_000
DROP_EVERY_NS: Final = 60 * 10**9


class Engine:
    """Rules, their windows and alert states; see the module docstring."""

    def __init__(
        self,
        rules: RuleSet,
        inventory: Inventory | None = None,
        *,
        metrics: SelfMetrics | None = None,
        default_timezone: str = "Asia/Shanghai",
        max_series_per_rule: int = DEFAULT_MAX_SERIES,
        max_samples: int = DEFAULT_MAX_SAMPLES,
        started_ns: int | None = None,
        timetable: Timetable | None = None,
        timetables: Mapping[str, Timetable] | None = None,
    ) -> None:
        self.context = InventoryContext(inventory, default_timezone, timetable, timetables)
        self.max_series_per_rule = max_series_per_rule
        self.max_samples = max_samples
        self.started_ns = time.time_ns() if started_ns is None else started_ns
        self._counters: StageCounters = (metrics or SelfMetrics("collector")).stage("rules", "rule")
        self.runtimes: dict[str, RuleRuntime] = {}
        self.inputs: dict[InputKey, Input] = {}
        self._routes: dict[tuple[str, SeriesKey], Route] = {}
        self._touched: list[Route] = []  # routes that received samples since the last evaluate
        self._next_evict_ns = -(2**63)
        self._by_measurement: dict[str, list[RuleRuntime]] = {}
        self._pending_resolved: list[tuple[CompiledRule, AlertState]] = []
        self.rules = RuleSet((), ())
        self.replace_rules(rules)

    # ------------------------------------------------------------------------ rules

    def replace_rules(self, rules: RuleSet) -> None:
        """Swap the rule set; unchanged rules (same fingerprint) keep their series, rules
        that remain keep their alerts, inputs still read keep their windows, and alerts of
        removed rules resolve at the next :meth:`evaluate`."""
        old = self.runtimes
        old_inputs = self.inputs
        inputs: dict[InputKey, Input] = {}
        runtimes: dict[str, RuleRuntime] = {}
        for compiled in rules.rules:
            previous = old.get(compiled.id)
            runtime = RuleRuntime(compiled)
            if previous is not None:
                if previous.compiled.fingerprint == compiled.fingerprint:
                    runtime.series, runtime.groups = previous.series, previous.groups
                runtime.alerts = previous.alerts
            reads = compiled.rule.reads
            for slot in compiled.slots:
                key = (reads.measurements[0], slot.key, reads.during == "busy_hours")
                found = inputs.get(key)
                if found is None:
                    found = old_inputs.get(key) or Input(key, slot.sample, 0)
                    found.span_ns = 0
                    inputs[key] = found
                found.span_ns = max(found.span_ns, compiled.rule.window_ns)
                runtime.inputs.append(found)
            runtimes[compiled.id] = runtime
        for rule_id, runtime in old.items():
            if rule_id not in runtimes:
                self._pending_resolved.extend(
                    (runtime.compiled, a) for a in runtime.alerts.values()
                )
        self.rules = rules
        self.runtimes = runtimes
        self.inputs = inputs
        self._routes.clear()
        index: dict[str, list[RuleRuntime]] = {}
        for runtime in runtimes.values():
            for name in runtime.compiled.rule.reads.measurements:
                index.setdefault(name, []).append(runtime)
        self._by_measurement = index

    # ---------------------------------------------------------------------- observe

    def observe(self, metrics: Iterable[Metric], now_ns: int | None = None) -> int:
        """Feed metrics; returns how many samples went into windows. Metrics without a time
        are taken at ``now_ns`` (default: the clock)."""
        return self.observe_records(
            ((m.measurement, m.tags, m.fields, m.time_ns) for m in metrics), now_ns
        )

    def observe_records(self, records: Iterable[Record], now_ns: int | None = None) -> int:
        """:meth:`observe` for ``(measurement, tags, fields, time_ns)`` tuples (what the
        write path's parsed points hold), so no Metric needs to be built."""
        stored = received = 0
        default_ns = time.time_ns() if now_ns is None else now_ns
        by_measurement = self._by_measurement
        routes = self._routes
        touched = self._touched
        for measurement, tags, fields, time_ns in records:
            received += 1
            if measurement not in by_measurement:
                continue
            t = time_ns if time_ns is not None else default_ns
            key = tuple(sorted(tags.items()))
            route = routes.get((measurement, key))
            if route is None:
                route = routes[(measurement, key)] = self._route(measurement, key, tags)
            if route.series is not None and t > route.series.last_seen_ns:
                route.series.last_seen_ns = t
            if not route.touched:
                route.touched = True
                touched.append(route)
            for found, window in route.always:
                value = found.sample(fields)
                if value is not None:
                    window.add(t, value)
                    stored += 1
            if route.busy_series is not None and self.context.in_busy_hours(tags, t):
                route.busy_series.last_seen_ns = max(route.busy_series.last_seen_ns, t)
                for found, window in route.busy:
                    value = found.sample(fields)
                    if value is not None:
                        window.add(t, value)
                        stored += 1
        self._counters.received(received)
        return stored

    def _route(self, measurement: str, key: SeriesKey, tags: Mapping[str, str]) -> Route:
        """Which rules a new series feeds, with its shared series states and windows."""
        route = Route()
        for runtime in self._by_measurement[measurement]:
            compiled = runtime.compiled
            if compiled.tag_filter and not compiled.matches(tags):
                continue
            if compiled.room_kinds and self.context.room_kind(tags) not in compiled.room_kinds:
                continue
            busy = compiled.rule.reads.during == "busy_hours"
            shared = route.busy_series if busy else route.series
            existing = runtime.series.get(key)
            if shared is None:
                shared = existing or SeriesState(dict(tags), -(2**63))
                if busy:
                    route.busy_series = shared
                else:
                    route.series = shared
            if existing is not shared:
                if existing is None and len(runtime.series) >= self.max_series_per_rule:
                    self._counters.dropped("series_limit")
                    continue
                if existing is not None:
                    shared.last_seen_ns = max(shared.last_seen_ns, existing.last_seen_ns)
                runtime.add_series(key, shared)
            feeds = route.busy if busy else route.always
            windows = []
            for found in runtime.inputs:
                window = found.window(key, self.max_samples)
                windows.append(window)
                if all(found is not f for f, _ in feeds):
                    feeds.append((found, window))
            route.marks.append(Mark(runtime.dirty, runtime.group_of(tags, key), windows))
        return route

    # --------------------------------------------------------------------- evaluate

    def evaluate(self, now_ns: int) -> list[AlertChange]:
        """Evaluate every rule at ``now_ns``; returns the alert state changes."""
        started = time.perf_counter()
        changes: list[AlertChange] = []
        for compiled, alert in self._pending_resolved:
            changes.append(AlertChange.of(compiled.rule, alert, "resolved", alert.state, now_ns))
        self._pending_resolved = []
        for route in self._touched:
            route.touched = False
            for mark in route.marks:
                if mark.windows:
                    added = sum(w.added for w in mark.windows)
                    if added == mark.added:
                        continue  # none of this rule's fields came
                    mark.added = added
                mark.dirty.add(mark.group)
        self._touched.clear()
        stale: set[tuple[str, SeriesKey]] = set()
        if now_ns >= self._next_evict_ns:  # old samples are skipped anyway: evict now and then
            self._next_evict_ns = now_ns + DROP_EVERY_NS
            for found in self.inputs.values():
                stale.update((found.key[0], key) for key in found.evict(now_ns))
        for runtime in self.runtimes.values():
            if runtime.compiled.rule.kind == "absence":
                evaluate_absence(runtime, self.context, self.started_ns, now_ns, changes)
                continue
                continue
            window_ns = runtime.compiled.rule.window_ns
            if now_ns >= runtime.next_drop_ns:  # forgetting series a little late is harmless
                runtime.next_drop_ns = now_ns + min(window_ns, DROP_EVERY_NS)
                dropped = runtime.drop_series_before(now_ns - window_ns)
                measurement = runtime.compiled.rule.reads.measurements[0]
                stale.update((measurement, key) for key in dropped)
            evaluate_threshold(runtime, self.context, now_ns, changes, self._evaluate_error)
        for route_key in stale:
            self._routes.pop(route_key, None)
        self._counters.sent(len(changes))
        self._counters.observe_duration(time.perf_counter() - started)
        return changes

    # ---------------------------------------------------------------------- queries

    def active_alerts(self) -> list[AlertState]:
        """Pending and firing alerts, sorted by rule and labels."""
        found = [a for r in self.runtimes.values() for a in r.alerts.values()]
        return sorted(found, key=lambda a: (a.rule, sorted(a.labels.items())))

    def forget_routes(self) -> None:
        """Drop the per-series routing cache (after state was restored from outside); every
        group is evaluated again at the next :meth:`evaluate`."""
        self._routes.clear()
        self._touched.clear()
        for runtime in self.runtimes.values():
            runtime.full = True
            runtime.plans.clear()

    def _evaluate_error(self) -> None:
        self._counters.error("evaluate")

    def series_count(self) -> int:
        return sum(len(r.series) for r in self.runtimes.values())
