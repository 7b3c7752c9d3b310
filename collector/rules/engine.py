"""The streaming rule engine.

>>> engine = Engine(load_packs(["rules/bandwidth"], Catalog.load()), inventory)  # doctest: +SKIP
>>> engine.observe(metrics)              # every metric the collector stores
>>> changes = engine.evaluate(now_ns)    # every evaluation interval: the alert state changes

``observe`` routes each metric to the rules reading its measurement whose tag filter matches,
computes each rule input ("slot": a field or a per-sample expression) and appends it to the
series' window. ``evaluate`` evicts what fell out of each rule's window, evaluates the
condition per group (``group_by`` labels; by default each series is its own group) and moves
alerts through pending -> firing -> resolved. Absence rules fire for groups silent for
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
from collector.rules.expr_compile import GroupView
from collector.rules.loader import RuleSet
from collector.rules.runtime import (
    GroupKey,
    Input,
    InputKey,
    Route,
    RuleRuntime,
    SeriesKey,
    SeriesState,
)
from collector.rules.window import DEFAULT_MAX_SAMPLES, Window

__all__ = ["Engine"]

log = logging.getLogger(__name__)

Record = tuple[str, Mapping[str, str], Mapping[str, FieldValue], int | None]
DEFAULT_MAX_SERIES: Final = 50_000


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
    ) -> None:
        self.context = InventoryContext(inventory, default_timezone)
        self.max_series_per_rule = max_series_per_rule
        self.max_samples = max_samples
        self.started_ns = time.time_ns() if started_ns is None else started_ns
        self._counters: StageCounters = (metrics or SelfMetrics("collector")).stage("rules", "rule")
        self.runtimes: dict[str, RuleRuntime] = {}
        self.inputs: dict[InputKey, Input] = {}
        self._routes: dict[tuple[str, SeriesKey], Route] = {}
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
                key = (reads.measurement, slot.key, reads.during == "busy_hours")
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
            index.setdefault(runtime.compiled.rule.reads.measurement, []).append(runtime)
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
            for found in runtime.inputs:
                if all(found is not f for f, _ in feeds):
                    window = found.windows.get(key)
                    if window is None:
                        window = found.windows[key] = Window(self.max_samples)
                    feeds.append((found, window))
        return route

    # --------------------------------------------------------------------- evaluate

    def evaluate(self, now_ns: int) -> list[AlertChange]:
        """Evaluate every rule at ``now_ns``; returns the alert state changes."""
        started = time.perf_counter()
        changes: list[AlertChange] = []
        for compiled, alert in self._pending_resolved:
            changes.append(AlertChange.of(compiled.rule, alert, "resolved", alert.state, now_ns))
        self._pending_resolved = []
        stale: set[tuple[str, SeriesKey]] = set()
        for found in self.inputs.values():
            stale.update((found.key[0], key) for key in found.evict(now_ns))
        for runtime in self.runtimes.values():
            if runtime.compiled.rule.kind == "absence":
                self._evaluate_absence(runtime, now_ns, changes)
            else:
                measurement = runtime.compiled.rule.reads.measurement
                dropped = runtime.drop_series_before(now_ns - runtime.compiled.rule.window_ns)
                stale.update((measurement, key) for key in dropped)
                self._evaluate_threshold(runtime, now_ns, changes)
        for route_key in stale:
            self._routes.pop(route_key, None)
        self._counters.sent(len(changes))
        self._counters.observe_duration(time.perf_counter() - started)
        return changes

    def _evaluate_threshold(
        self, runtime: RuleRuntime, now_ns: int, changes: list[AlertChange]
    ) -> None:
        compiled = runtime.compiled
        start_ns = now_ns - compiled.rule.window_ns
        results: dict[GroupKey, tuple[bool, float | None, dict[str, str]]] = {}
        inputs = [found.windows for found in runtime.inputs]
        for group, members in runtime.groups.items():
            first = next(iter(members.values()))
            labels = runtime.labels_of(group, first.tags)
            windows: list[list[Window]] = []
            for by_series in inputs:
                present = [w for k in members if (w := by_series.get(k)) is not None]
                windows.append(present)
            view = GroupView(
                windows=windows,
                start_ns=start_ns,
                now_ns=now_ns,
                labels=labels,
                site=self.context.site(labels.get("site")) if compiled.uses_site else None,
                link=self.context.link(labels) if compiled.uses_link else None,
            )
            try:
                holds = compiled.condition(view) is True if compiled.condition else False
                value = _number(compiled.value(view)) if compiled.value else None
            except (ArithmeticError, TypeError, ValueError) as exc:
                self._counters.error("evaluate")
                log.warning("rule %s: cannot evaluate %s: %s", compiled.id, labels, exc)
                holds, value = False, None
            results[group] = (holds, value, labels)
        self._transition(runtime, results, now_ns, changes)

    def _evaluate_absence(
        self, runtime: RuleRuntime, now_ns: int, changes: list[AlertChange]
    ) -> None:
        compiled = runtime.compiled
        rule = compiled.rule
        silent_ns = round((rule.silent_for or 0.0) * 1e9)
        last_seen: dict[GroupKey, tuple[int, dict[str, str]]] = {}
        if rule.expect is not None and compiled.group_by is not None:
            for item in self.context.expected(rule.expect):
                if all(
                    item.get(tag) in allowed for tag, allowed in compiled.tag_filter if tag in item
                ):
                    group = tuple(item.get(name, "") for name in compiled.group_by)
                    labels = {n: item[n] for n in compiled.group_by if item.get(n)}
                    last_seen[group] = (self.started_ns, labels)
        for group, members in runtime.groups.items():
            newest = max(s.last_seen_ns for s in members.values())
            first = next(iter(members.values()))
            previous = last_seen.get(group)
            if previous is None or newest > previous[0]:
                last_seen[group] = (newest, runtime.labels_of(group, first.tags))
        results = {
            group: (now_ns - seen >= silent_ns, (now_ns - seen) / 1e9, labels)
            for group, (seen, labels) in last_seen.items()
        }
        self._transition(runtime, results, now_ns, changes)

    def _transition(
        self,
        runtime: RuleRuntime,
        results: Mapping[GroupKey, tuple[bool, float | None, dict[str, str]]],
        now_ns: int,
        changes: list[AlertChange],
    ) -> None:
        rule = runtime.compiled.rule
        for_ns = rule.for_ns
        for group, (holds, value, labels) in results.items():
            alert = runtime.alerts.get(group)
            if not holds:
                if alert is not None:
                    alert.value = value if value is not None else alert.value
                    changes.append(AlertChange.of(rule, alert, "resolved", alert.state, now_ns))
                    del runtime.alerts[group]
                continue
            if alert is None:
                alert = AlertState(rule.id, labels, "pending", now_ns, value)
                runtime.alerts[group] = alert
                if for_ns > 0:
                    changes.append(AlertChange.of(rule, alert, "pending", "inactive", now_ns))
                    continue
            alert.value = value
            if alert.state == "pending" and now_ns - alert.since_ns >= for_ns:
                previous = "inactive" if for_ns == 0 else "pending"
                alert.state, alert.fired_ns = "firing", now_ns
                changes.append(AlertChange.of(rule, alert, "firing", previous, now_ns))
        for group in [g for g in runtime.alerts if g not in results]:
            alert = runtime.alerts.pop(group)
            changes.append(AlertChange.of(rule, alert, "resolved", alert.state, now_ns))

    # ---------------------------------------------------------------------- queries

    def active_alerts(self) -> list[AlertState]:
        """Pending and firing alerts, sorted by rule and labels."""
        found = [a for r in self.runtimes.values() for a in r.alerts.values()]
        return sorted(found, key=lambda a: (a.rule, sorted(a.labels.items())))

    def forget_routes(self) -> None:
        """Drop the per-series routing cache (after state was restored from outside)."""
        self._routes.clear()

    def series_count(self) -> int:
        return sum(len(r.series) for r in self.runtimes.values())


def _number(value: object) -> float | None:
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if isinstance(value, (int, float)):
        return float(value)
    return None
