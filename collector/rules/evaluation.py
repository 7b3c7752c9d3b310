"""Evaluating threshold rules incrementally, and moving alerts through their states.

A threshold rule's result for a group is a function of the samples its windows hold inside the
rule's window (plus the group's labels and inventory entries, which do not change). So a group
is evaluated again only when it is **due**:

- a sample arrived for one of its series (the engine marks the group dirty when it routes the
  sample), or the group's members changed;
- a sample leaves the rule's window, or one stamped in the future enters it (each evaluation
  files the group under that time in the rule's ``expiry`` heap);
- the rule was (re)loaded or its state restored (``full``), or it has a ``when`` filter (the
  time of day can change the outcome: such rules evaluate every group every time).

Every other group keeps its last result. Pending alerts still move to firing when their ``for``
is over, whether or not their group was evaluated.
"""

from __future__ import annotations

import heapq
import logging
from collections.abc import Callable, Mapping
from typing import Final

from collector.rules.alerts import AlertChange, AlertState
from collector.rules.compiled import CompiledRule
from collector.rules.context import InventoryContext
from collector.rules.expr_compile import GroupView
from collector.rules.runtime import GroupKey, GroupPlan, Result, RuleRuntime, SeriesKey, SeriesState
from collector.rules.window import Window

__all__ = [
    "build_plan",
    "evaluate_absence",
    "evaluate_threshold",
    "expected_groups",
    "transition",
    "valid_until",
]

log = logging.getLogger(__name__)

NEVER: Final = 2**63 - 1


def build_plan(
    runtime: RuleRuntime,
    group: GroupKey,
    members: Mapping[SeriesKey, SeriesState],
    context: InventoryContext,
) -> GroupPlan:
    """Labels, inventory entries and windows of one group (valid until windows come or go)."""
    compiled = runtime.compiled
    first = next(iter(members.values()))
    labels = runtime.labels_of(group, first.tags)
    windows: list[list[Window]] = []
    for found in runtime.inputs:
        by_series = found.windows
        windows.append([w for k in members if (w := by_series.get(k)) is not None])
    return GroupPlan(
        labels=labels,
        windows=windows,
        flat=[w for present in windows for w in present],
        site=context.site(labels.get("site")) if compiled.uses_site else None,
        link=context.link(labels) if compiled.uses_link else None,
    )


def valid_until(windows: list[Window], start_ns: int, now_ns: int, window_ns: int) -> int:
    """Until when (exclusive) the samples of ``windows`` inside a rule's window stay the same,
    as far as time goes: the oldest leaves at its time + ``window_ns``; a sample stamped after
    ``now_ns`` enters at the next evaluation."""
    until = NEVER
    for window in windows:
        times = window.times
        if not times:
            continue
        if times[-1] > now_ns:
            return now_ns
        first = window.first_after(start_ns)
        if first is not None and first + window_ns < until:
            until = first + window_ns
    return until


def _due(runtime: RuleRuntime, now_ns: int) -> list[GroupKey]:
    if runtime.full or runtime.compiled.when is not None:
        runtime.full = False
        runtime.dirty.clear()
        runtime.expiry.clear()
        runtime.scheduled.clear()
        return list(runtime.groups)
    due = runtime.dirty
    expiry, scheduled = runtime.expiry, runtime.scheduled
    while expiry and expiry[0][0] <= now_ns:
        until, _seq, group = heapq.heappop(expiry)
        if scheduled.get(group) == until:  # else a later schedule replaced this entry
            del scheduled[group]
            due.add(group)
    found = list(due)
    due.clear()
    return found


def _schedule(runtime: RuleRuntime, group: GroupKey, until: int) -> None:
    """Evaluate ``group`` again at ``until`` (one entry per group and time)."""
    if runtime.scheduled.get(group) != until:
        runtime.scheduled[group] = until
        runtime.sequence += 1
        heapq.heappush(runtime.expiry, (until, runtime.sequence, group))


def evaluate_threshold(
    runtime: RuleRuntime,
    context: InventoryContext,
    now_ns: int,
    changes: list[AlertChange],
    on_error: Callable[[], None],
) -> int:
    """Evaluate the due groups of a threshold rule and apply the alert transitions; returns
    how many groups were evaluated."""
    compiled = runtime.compiled
    window_ns = compiled.rule.window_ns
    start_ns = now_ns - window_ns
    epoch = tuple(found.epoch for found in runtime.inputs)
    if epoch != runtime.plan_epoch:
        runtime.plans.clear()
        runtime.plan_epoch = epoch
    plans, groups, results = runtime.plans, runtime.groups, runtime.results
    when = compiled.when
    condition, value_of = compiled.condition, compiled.value
    evaluated: dict[GroupKey, Result | None] = {}
    for group in _due(runtime, now_ns):
        members = groups.get(group)
        if members is None:
            results.pop(group, None)
            evaluated[group] = None
            continue
        plan = plans.get(group)
        if plan is None:
            plan = plans[group] = build_plan(runtime, group, members, context)
        if when is not None and not context.in_time(when, plan.labels, now_ns):
            results[group] = evaluated[group] = (False, None, plan.labels)
            continue
        view = GroupView(plan.windows, start_ns, now_ns, plan.labels, plan.site, plan.link)
        try:
            holds = condition(view) is True if condition is not None else False
            value = number(value_of(view)) if value_of is not None else None
        except (ArithmeticError, TypeError, ValueError) as exc:
            on_error()
            log.warning("rule %s: cannot evaluate %s: %s", compiled.id, plan.labels, exc)
            holds, value = False, None
        results[group] = evaluated[group] = (holds, value, plan.labels)
        if when is None:
            until = valid_until(plan.flat, start_ns, now_ns, window_ns)
            if until != NEVER:
                _schedule(runtime, group, until)
    transition(runtime, evaluated, now_ns, changes)
    return len(evaluated)


def expected_groups(
    compiled: CompiledRule, context: InventoryContext
) -> dict[GroupKey, dict[str, str]]:
    """The groups (and labels) of an absence rule's ``expect`` from the inventory."""
    rule = compiled.rule
    found: dict[GroupKey, dict[str, str]] = {}
    if rule.expect is None or compiled.group_by is None:
        return found
    for item in context.expected(rule.expect):
        if all(
            item.get(tag) in allowed for tag, allowed in compiled.tag_filter if tag in item
        ) and (not compiled.room_kinds or item.get("room_kind") in compiled.room_kinds):
            group = tuple(item.get(name, "") for name in compiled.group_by)
            found[group] = {n: item[n] for n in compiled.group_by if item.get(n)}
    return found


def evaluate_absence(
    runtime: RuleRuntime,
    context: InventoryContext,
    started_ns: int,
    now_ns: int,
    changes: list[AlertChange],
) -> int:
    """An absence rule: a group (seen, or expected from the inventory and then counted as
    seen when the engine started) is silent when its newest sample is ``silent_for`` old.
    A group is due when a sample came for it (dirty) or its silence deadline passed."""
    compiled = runtime.compiled
    silent_ns = round((compiled.rule.silent_for or 0.0) * 1e9)
    if runtime.expected is None:
        runtime.expected = expected_groups(compiled, context)
    expected, groups, plans = runtime.expected, runtime.groups, runtime.plans
    when = compiled.when
    if runtime.full or when is not None:
        due: list[GroupKey] = [*expected, *(g for g in groups if g not in expected)]
        runtime.full = False
        runtime.dirty.clear()
        runtime.expiry.clear()
        runtime.scheduled.clear()
    else:
        # a sample for a group that is not silent only moves its deadline: that is checked
        # when the deadline comes; new groups and alerting groups are due at once
        alerts, seen_at = runtime.alerts, runtime.seen
        dirty = runtime.dirty  # the engine's routes hold this set: change it in place
        dirty.difference_update([g for g in dirty if g not in alerts and g in seen_at])
        due = _due(runtime, now_ns)
    evaluated: dict[GroupKey, Result | None] = {}
    for group in due:
        members = groups.get(group)
        labels = expected.get(group)
        seen = started_ns
        if members:
            if len(members) == 1:
                newest = next(iter(members.values())).last_seen_ns
            else:
                newest = max(s.last_seen_ns for s in members.values())
            if labels is None or newest > seen:
                plan = plans.get(group)
                if plan is None:
                    plan = plans[group] = build_plan(runtime, group, members, context)
                seen, labels = newest, plan.labels
        if labels is None:
            runtime.seen.pop(group, None)
            evaluated[group] = None
            continue
        holds = now_ns - seen >= silent_ns
        if holds and when is not None:
            holds = context.in_time(when, labels, now_ns)
        elif not holds and when is None:
            _schedule(runtime, group, seen + silent_ns)
        runtime.seen[group] = seen
        evaluated[group] = (holds, (now_ns - seen) / 1e9, labels)
    for group, alert in runtime.alerts.items():  # the silence grows
        last = runtime.seen.get(group)
        if last is not None:
            alert.value = (now_ns - last) / 1e9
    transition(runtime, evaluated, now_ns, changes, alive=lambda g: g in groups or g in expected)
    return len(evaluated)


def transition(
    runtime: RuleRuntime,
    results: Mapping[GroupKey, Result | None],
    now_ns: int,
    changes: list[AlertChange],
    *,
    complete: bool = False,
    alive: Callable[[GroupKey], bool] | None = None,
) -> None:
    """Apply new results (None: the group is gone). With ``complete``, ``results`` holds every
    group and alerts of groups not in it resolve; otherwise groups not in it keep their state,
    pending alerts among them fire when their ``for`` is over, and alerts of groups that no
    longer exist (``alive``, default: the rule's groups) resolve."""
    rule = runtime.compiled.rule
    for_ns = rule.for_ns
    alerts = runtime.alerts
    for group, result in results.items():
        alert = alerts.get(group)
        if result is None or not result[0]:
            if alert is not None:
                if result is not None and result[1] is not None:
                    alert.value = result[1]
                changes.append(AlertChange.of(rule, alert, "resolved", alert.state, now_ns))
                del alerts[group]
            continue
        _holds, value, labels = result
        if alert is None:
            alert = AlertState(rule.id, labels, "pending", now_ns, value)
            alerts[group] = alert
            if for_ns > 0:
                changes.append(AlertChange.of(rule, alert, "pending", "inactive", now_ns))
                continue
        alert.value = value
        _maybe_fire(rule_for=for_ns, runtime=runtime, alert=alert, now_ns=now_ns, changes=changes)
    if not alerts:
        return
    for group in [g for g in alerts if g not in results]:
        alert = alerts[group]
        if complete or not (alive(group) if alive is not None else group in runtime.groups):
            del alerts[group]
            changes.append(AlertChange.of(rule, alert, "resolved", alert.state, now_ns))
        elif alert.state == "pending":
            _maybe_fire(
                rule_for=for_ns, runtime=runtime, alert=alert, now_ns=now_ns, changes=changes
            )


def _maybe_fire(
    *,
    rule_for: int,
    runtime: RuleRuntime,
    alert: AlertState,
    now_ns: int,
    changes: list[AlertChange],
) -> None:
    if alert.state == "pending" and now_ns - alert.since_ns >= rule_for:
        previous = "inactive" if rule_for == 0 else "pending"
        alert.state, alert.fired_ns = "firing", now_ns
        changes.append(AlertChange.of(runtime.compiled.rule, alert, "firing", previous, now_ns))


def number(value: object) -> float | None:
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if isinstance(value, (int, float)):
        return float(value)
    return None
