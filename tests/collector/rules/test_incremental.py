"""Incremental evaluation (only dirty or expiring groups) gives the same alerts as evaluating
every group every time, on random streams: late and future samples, gaps, groups, absence."""

from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from campusguard.config.loader import load_yaml_text
from campusguard.inventory.model import Inventory
from campusguard.metric import FieldValue, Metric
from collector.rules.alerts import AlertChange
from collector.rules.engine import Engine
from collector.rules.loader import RuleSet

from .helpers import T0, pack

RULES = """
rules:
  - id: t.hot
    title: {zh: 热, en: Hot}
    severity: major
    reads: {measurement: environment}
    window: 5m
    for: 2m
    condition: avg(temperature_c) > 30
    value: avg(temperature_c)
  - id: t.room_max
    title: {zh: 房间, en: Room}
    severity: warning
    reads: {measurement: environment}
    group_by: [site, room]
    window: 3m
    condition: max(last(temperature_c)) - min(last(temperature_c)) > 5 or count(humidity_pct) >= 4
  - id: t.wet
    title: {zh: 湿, en: Wet}
    severity: info
    reads: {measurement: environment}
    window: 10m
    condition: p95(humidity_pct) > 70 and rate(humidity_pct) >= 0
  - id: t.silent
    title: {zh: 静默, en: Silent}
    severity: warning
    kind: absence
    reads: {measurement: environment}
    expect: sensors
    silent_for: 4m
    for: 1m
"""

INVENTORY = """
sites:
  - id: s1
    name: 学校
    buildings: [{id: b, name: 楼, rooms: [{id: r0, kind: lab}, {id: r1, kind: lab}]}]
    sensors:
      - {id: c0, topic: "z/c0/#", kind: climate, building: b, room: r0}
      - {id: c1, topic: "z/c1/#", kind: climate, building: b, room: r0}
      - {id: c9, topic: "z/c9/#", kind: climate, building: b, room: r1}
"""

SECOND = 10**9
sample = st.tuples(
    st.integers(0, 3),  # sensor c0..c3 (c3 is not in the inventory)
    st.integers(-90, 40),  # seconds relative to the evaluation step's start (late, future)
    st.floats(20, 40, allow_nan=False),
    st.one_of(st.none(), st.floats(40, 90, allow_nan=False)),
)
steps = st.lists(st.lists(sample, max_size=6), min_size=1, max_size=30)


def _changes(found: list[AlertChange]) -> list[tuple[object, ...]]:
    return sorted((c.rule, c.alert_id, c.state, c.previous, c.value) for c in found)


def _metrics(batch: list[tuple[int, int, float, float | None]], base: int) -> list[Metric]:
    out = []
    for sensor, offset, temperature, humidity in batch:
        tags = {"site": "s1", "room": f"r{sensor % 2}", "sensor": f"c{sensor}"}
        fields: dict[str, FieldValue] = {"temperature_c": temperature}
        if humidity is not None:
            fields["humidity_pct"] = humidity
        out.append(Metric("environment", tags, fields, base + offset * SECOND))
    return out


_RULESET: list[RuleSet] = []


def _rules(tmp: Path) -> RuleSet:
    if not _RULESET:
        _RULESET.append(pack(tmp, RULES))
    return _RULESET[0]


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(steps=steps, interval=st.sampled_from([15, 30, 60]))
def test_incremental_equals_full_evaluation(
    tmp_path: Path, steps: list[list[tuple[int, int, float, float | None]]], interval: int
) -> None:
    rules = _rules(tmp_path)
    inventory = load_yaml_text(INVENTORY, Inventory, source="inventory.yaml")
    incremental = Engine(rules, inventory, started_ns=T0)
    reference = Engine(rules, inventory, started_ns=T0)
    for index, batch in enumerate(steps):
        now = T0 + (index + 1) * interval * SECOND
        metrics = _metrics(batch, now - interval * SECOND)
        incremental.observe(metrics)
        reference.observe(metrics)
        for runtime in reference.runtimes.values():
            runtime.full = True  # the reference evaluates every group every time
        assert _changes(incremental.evaluate(now)) == _changes(reference.evaluate(now))
        got = [(a.rule, a.id, a.state, a.value) for a in incremental.active_alerts()]
        want = [(a.rule, a.id, a.state, a.value) for a in reference.active_alerts()]
        assert got == want
