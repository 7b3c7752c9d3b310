"""Engine semantics: for durations, flapping, resolution, absence, alert metrics."""

from __future__ import annotations

from pathlib import Path

from campusguard.config.loader import load_yaml_text
from campusguard.inventory.model import Inventory
from collector.rules.alerts import AlertChange
from collector.rules.engine import Engine

from .helpers import T0, at, catalog, metric, pack

TEMP_RULE = """
rules:
  - id: t.hot
    title: {zh: 温度过高, en: Too hot}
    severity: major
    reads: {measurement: environment, where: {kind: climate}}
    group_by: [site, room]
    window: 5m
    for: 3m
    condition: avg(temperature_c) > 30
    labels: {team: facilities}
    summary: {zh: "{labels.room} {value}", en: "room {labels.room} at {value} C"}
"""

ROOM = {"site": "s1", "room": "a101", "kind": "climate", "sensor": "c1"}


def temps(engine: Engine, minutes: range, value: float, tags: dict[str, str] = ROOM) -> None:
    engine.observe(metric("environment", tags, {"temperature_c": value}, m) for m in minutes)


def states(changes: list[AlertChange]) -> list[tuple[str, str]]:
    return [(c.state, c.previous) for c in changes]


def test_pending_then_firing_then_resolved(tmp_path: Path) -> None:
    engine = Engine(pack(tmp_path, TEMP_RULE), started_ns=T0)
    temps(engine, range(0, 1), 35.0)
    assert states(engine.evaluate(at(0))) == [("pending", "inactive")]
    temps(engine, range(1, 3), 35.0)
    assert engine.evaluate(at(2)) == []  # still pending: 2 min < 3 min
    temps(engine, range(3, 4), 35.0)
    fired = engine.evaluate(at(3))
    assert states(fired) == [("firing", "pending")]
    change = fired[0]
    assert change.labels == {"site": "s1", "room": "a101", "team": "facilities"}
    assert change.summary == "room a101 at 35 C"
    assert change.value == 35.0
    assert engine.evaluate(at(4)) == []  # firing stays firing without new changes
    temps(engine, range(5, 12), 20.0)
    assert engine.evaluate(at(5)) == []  # avg of (0, 5]: 35, 35, 35, 20 is still above 30
    resolved = engine.evaluate(at(9))
    assert states(resolved) == [("resolved", "firing")]
    assert resolved[0].alert_id == change.alert_id
    assert engine.active_alerts() == []


def test_flapping_restarts_the_for_timer(tmp_path: Path) -> None:
    rules = pack(tmp_path, TEMP_RULE.replace("window: 5m", "window: 1m"))
    engine = Engine(rules, started_ns=T0)
    seen: list[tuple[str, str]] = []
    # hot, hot, cool, hot, hot, cool...: never 3 minutes in a row
    for minute in range(12):
        temps(engine, range(minute, minute + 1), 20.0 if minute % 3 == 2 else 35.0)
        seen.extend(states(engine.evaluate(at(minute))))
    assert ("firing", "pending") not in seen
    assert seen.count(("pending", "inactive")) == 4
    assert seen.count(("resolved", "pending")) == 4
    # then it stays hot: fires 3 minutes after it started holding
    for minute in range(12, 16):
        temps(engine, range(minute, minute + 1), 35.0)
        got = states(engine.evaluate(at(minute)))
        assert got == (
            [("pending", "inactive")]
            if minute == 12
            else [("firing", "pending")]
            if minute == 15
            else []
        )


def test_silence_resolves_and_for_zero_fires_at_once(tmp_path: Path) -> None:
    engine = Engine(pack(tmp_path, TEMP_RULE.replace("for: 3m", "for: 0s")), started_ns=T0)
    temps(engine, range(0, 1), 40.0)
    assert states(engine.evaluate(at(0))) == [("firing", "inactive")]
    # no more data: once the window is empty the group goes and the alert resolves
    assert engine.evaluate(at(4)) == []
    assert states(engine.evaluate(at(6))) == [("resolved", "firing")]
    assert engine.series_count() == 0


def test_groups_and_tag_filter(tmp_path: Path) -> None:
    engine = Engine(pack(tmp_path, TEMP_RULE.replace("for: 3m", "for: 0s")), started_ns=T0)
    temps(engine, range(0, 1), 40.0)
    temps(engine, range(0, 1), 40.0, {**ROOM, "sensor": "c2"})  # same room: same group
    temps(engine, range(0, 1), 40.0, {**ROOM, "room": "a102"})
    temps(engine, range(0, 1), 40.0, {**ROOM, "kind": "pi_node", "room": "a103"})  # filtered
    changes = engine.evaluate(at(0))
    assert sorted(c.labels["room"] for c in changes) == ["a101", "a102"]


def test_alert_metric_matches_the_catalog(tmp_path: Path) -> None:
    engine = Engine(pack(tmp_path, TEMP_RULE.replace("for: 3m", "for: 0s")), started_ns=T0)
    temps(engine, range(0, 1), 40.0)
    point = engine.evaluate(at(0))[0].to_metric()
    assert point.measurement == "alert"
    assert point.time_ns == at(0)
    assert point.tags == {
        "site": "s1",
        "room": "a101",
        "team": "facilities",
        "rule": "t.hot",
        "severity": "major",
        "state": "firing",
        "drill": "false",
    }
    assert point.fields["value"] == 40.0
    assert point.fields["title"] == "温度过高"
    assert isinstance(point.fields["alert_id"], str)
    problems = catalog().check_metric(point)
    # the group labels, the rule's routing label and every field are catalogued
    assert problems == []


ABSENCE = """
rules:
  - id: t.device_silent
    title: {zh: 设备失联, en: Device silent}
    severity: critical
    kind: absence
    reads: {measurement: device_status, where: {role: [core, aggregation, gateway]}}
    expect: devices
    silent_for: 10m
  - id: t.sensor_silent
    title: {zh: 传感器失联, en: Sensor silent}
    severity: warning
    kind: absence
    reads: {measurement: sensor_status}
    group_by: [site, sensor]
    silent_for: 30m
"""

INVENTORY = """
sites:
  - id: s1
    name: 学校
    buildings: [{id: main, name: 主楼}]
    devices:
      - {name: gw, address: 10.0.0.1, role: gateway, building: main}
      - {name: core, address: 10.0.0.2, role: core, building: main}
      - {name: ap1, address: 10.0.0.3, role: ap, building: main}
"""


def test_absence_of_series_and_of_inventoried_devices(tmp_path: Path) -> None:
    inventory = load_yaml_text(INVENTORY, Inventory)
    engine = Engine(pack(tmp_path, ABSENCE), inventory, started_ns=T0)
    for minute in range(0, 15):
        engine.observe(
            [
                metric(
                    "device_status",
                    {"site": "s1", "device": "gw", "role": "gateway"},
                    {"up": True},
                    minute,
                )
            ]
        )
    engine.observe(
        [metric("sensor_status", {"site": "s1", "sensor": "smoke1"}, {"online": True}, 0)]
    )
    assert engine.evaluate(at(5)) == []
    # core was never polled (inventory coverage); ap1 is not a role the rule expects
    changes = engine.evaluate(at(10))
    assert [(c.rule, c.labels, c.state) for c in changes] == [
        ("t.device_silent", {"site": "s1", "device": "core"}, "firing")
    ]
    assert changes[0].value == 600.0
    # gw stops at minute 14: silent 10 minutes at 24
    assert engine.evaluate(at(23)) == []
    late = engine.evaluate(at(24))
    assert [(c.rule, c.labels["device"]) for c in late] == [("t.device_silent", "gw")]
    sensor = engine.evaluate(at(30))
    assert [(c.rule, c.labels) for c in sensor] == [
        ("t.sensor_silent", {"site": "s1", "sensor": "smoke1"})
    ]
    # it speaks again: resolved
    engine.observe(
        [
            metric(
                "device_status", {"site": "s1", "device": "gw", "role": "gateway"}, {"up": True}, 31
            )
        ]
    )
    back = engine.evaluate(at(31))
    assert [(c.labels["device"], c.state) for c in back] == [("gw", "resolved")]


def test_replace_rules_keeps_unchanged_state_and_resolves_removed_rules(tmp_path: Path) -> None:
    both = pack(
        tmp_path / "a", TEMP_RULE.replace("for: 3m", "for: 0s") + ABSENCE.split("rules:", 1)[1]
    )
    engine = Engine(both, started_ns=T0)
    temps(engine, range(0, 2), 40.0)
    assert [c.rule for c in engine.evaluate(at(1))] == ["t.hot"]
    only_hot = pack(tmp_path / "b", TEMP_RULE.replace("for: 3m", "for: 0s"))
    engine.replace_rules(only_hot)
    # t.hot is unchanged: same windows, same firing alert, nothing new
    assert engine.evaluate(at(2)) == []
    assert [a.rule for a in engine.active_alerts()] == ["t.hot"]
    assert engine.series_count() == 1
    # removing t.hot resolves its alert
    engine.replace_rules(pack(tmp_path / "c", ABSENCE))
    assert [(c.rule, c.state) for c in engine.evaluate(at(3))] == [("t.hot", "resolved")]
