"""Rule filters beyond tags: room kind from the inventory, ``when`` (time of day, day type) and
absence over several measurements; and the file:line errors of each."""

from __future__ import annotations

from pathlib import Path

import pytest

from campusguard.config.loader import load_yaml_text
from campusguard.errors import ConfigError
from campusguard.inventory.model import Inventory
from campusguard.metric import Metric
from collector.rules.engine import Engine
from collector.rules.loader import load_pack
from collector.rules.timetable import Timetable

from .helpers import T0, at, catalog, metric, pack, write_pack

INVENTORY = """
sites:
  - id: s1
    name: 测试学校
    buildings:
      - id: main
        name: 主楼
        rooms:
          - {id: srv, kind: server_room}
          - {id: a301, kind: classroom}
      - id: annex
        name: 附楼
        rooms:
          - {id: a301, kind: lab}
    sensors:
      - {id: th-srv, topic: "z/th-srv/#", kind: climate, building: main, room: srv}
      - {id: th-a301, topic: "z/th-a301/#", kind: climate, building: main, room: a301}
      - {id: m1, topic: "tele/m1/#", kind: energy_meter, building: main, room: a301}
      - {id: f1, topic: "shelly/f1/#", kind: feeder_meter, building: main}
"""


def inventory() -> Inventory:
    return load_yaml_text(INVENTORY, Inventory, source="inventory.yaml")


ROOM_RULES = """
rules:
  - id: t.server_room_hot
    title: {zh: 机房热, en: Server room hot}
    severity: major
    reads: {measurement: environment, room_kind: server_room}
    window: 5m
    condition: avg(temperature_c) > 28
  - id: t.server_room_sensor_silent
    title: {zh: 机房传感器无数据, en: Server room sensor silent}
    severity: warning
    kind: absence
    reads: {measurement: environment, room_kind: [server_room]}
    expect: sensors
    silent_for: 10m
"""


def climate(building: str, room: str, sensor: str, value: float, minutes: float) -> Metric:
    tags = {"site": "s1", "building": building, "room": room, "sensor": sensor}
    return metric("environment", tags, {"temperature_c": value}, minutes)


def test_room_kind_matches_the_inventory_not_the_room_id(tmp_path: Path) -> None:
    engine = Engine(pack(tmp_path, ROOM_RULES), inventory(), started_ns=T0)
    engine.observe(
        [
            climate("main", "srv", "th-srv", 35.0, 1),
            climate("main", "a301", "th-a301", 35.0, 1),  # a classroom
            climate("annex", "a301", "x", 35.0, 1),  # a lab with the same room id
            metric("environment", {"site": "s1", "room": "srv"}, {"temperature_c": 40.0}, 1),
        ]
    )
    changes = engine.evaluate(at(1))
    fired = sorted(c.labels.get("sensor", "-") for c in changes if c.rule == "t.server_room_hot")
    # the last metric has no building: room id srv is unique in the site, so it matches too
    assert fired == ["-", "th-srv"]
    # absence: of the inventoried sensors only the server room's is expected (and the
    # series seen without a sensor tag is a group of its own)
    silent = engine.evaluate(at(20))
    got = sorted(c.labels.get("sensor", "-") for c in silent if c.rule.endswith("silent"))
    assert got == ["-", "th-srv"]


def test_room_kind_without_an_inventory_matches_nothing(tmp_path: Path) -> None:
    engine = Engine(pack(tmp_path, ROOM_RULES), started_ns=T0)
    engine.observe([climate("main", "srv", "th-srv", 35.0, 1)])
    assert engine.evaluate(at(1)) == []


NIGHT_RULE = """
rules:
  - id: t.power_at_night
    title: {zh: 夜间用电, en: Power at night}
    severity: warning
    reads: {measurement: energy_meter}
    when: night
    window: 10m
    for: 20m
    condition: avg(power_w) > 100
  - id: t.friday_evening
    title: {zh: 周五晚, en: Friday evening}
    severity: info
    reads: {measurement: energy_meter}
    when: {hours: ["18:00-23:00"], days: [fri]}
    window: 10m
    condition: avg(power_w) > 100
"""

PLUG = {"site": "s1", "building": "main", "room": "a301", "sensor": "m1"}
EVENING = T0 + 12 * 60 * 60 * 10**9  # 2026-03-02 21:00 Asia/Shanghai, a Monday


def power(engine: Engine, start_ns: int, minutes: range, watts: float) -> None:
    step = 60 * 10**9
    engine.observe(
        Metric("energy_meter", dict(PLUG), {"power_w": watts}, start_ns + m * step) for m in minutes
    )


def test_when_night_gates_the_condition_and_for(tmp_path: Path) -> None:
    engine = Engine(pack(tmp_path, NIGHT_RULE), started_ns=T0)
    minute = 60 * 10**9
    states: list[tuple[int, str]] = []
    for m in range(0, 24 * 60, 5):  # 21:00 Monday to 21:00 Tuesday, 500 W all along
        power(engine, EVENING, range(m, m + 5), 500.0)
        for change in engine.evaluate(EVENING + m * minute):
            if change.rule == "t.power_at_night":
                states.append((m, change.state))
    # pending at 22:00 (not before: the load is on since 21:00), firing 20 min later,
    # resolved at 06:00 when the night is over; nothing in the daytime
    assert states == [(60, "pending"), (80, "firing"), (540, "resolved")]


def test_when_hours_and_days_use_the_site_time_zone(tmp_path: Path) -> None:
    shifted = INVENTORY.replace("name: 测试学校", "name: 测试学校\n    timezone: Europe/London")
    site = load_yaml_text(shifted, Inventory, source="inventory.yaml")
    friday_21h_shanghai = T0 + (4 * 24 + 12) * 60 * 60 * 10**9  # 13:00 in London
    for inv, expected in ((inventory(), ["firing"]), (site, [])):
        engine = Engine(pack(tmp_path / str(len(expected)), NIGHT_RULE), inv, started_ns=T0)
        power(engine, friday_21h_shanghai, range(0, 3), 500.0)
        changes = engine.evaluate(friday_21h_shanghai + 2 * 60 * 10**9)
        assert [c.state for c in changes if c.rule == "t.friday_evening"] == expected


def test_a_site_timetable_given_to_the_engine(tmp_path: Path) -> None:
    late = Timetable(night="23:30-05:00")
    engine = Engine(pack(tmp_path, NIGHT_RULE), started_ns=T0, timetables={"s1": late})
    power(engine, EVENING, range(60, 70), 500.0)  # 22:00-22:10
    assert [c for c in engine.evaluate(EVENING + 70 * 60 * 10**9) if c.rule.endswith("night")] == []


METERS_SILENT = """
rules:
  - id: t.meter_silent
    title: {zh: 电表无数据, en: Meter silent}
    severity: warning
    kind: absence
    reads:
      measurement: [energy_meter, feeder_meter]
      where: {kind: [energy_meter, feeder_meter]}
    expect: sensors
    silent_for: 15m
"""


def test_absence_over_two_measurements(tmp_path: Path) -> None:
    engine = Engine(pack(tmp_path, METERS_SILENT), inventory(), started_ns=T0)
    plug = {
        "site": "s1",
        "building": "main",
        "room": "a301",
        "sensor": "m1",
        "kind": "energy_meter",
    }
    feeder = {"site": "s1", "building": "main", "sensor": "f1", "kind": "feeder_meter"}
    engine.observe(
        [
            metric("energy_meter", plug, {"power_w": 10.0}, 10),
            metric("feeder_meter", {**feeder, "phase": "total"}, {"power_w": 1e4}, 10),
        ]
    )
    assert engine.evaluate(at(20)) == []
    engine.observe([metric("feeder_meter", {**feeder, "phase": "total"}, {"power_w": 1e4}, 20)])
    changes = engine.evaluate(at(26))
    assert [(c.state, c.labels["sensor"]) for c in changes] == [("firing", "m1")]


BASE = """\
rules:
  - id: t.rule
    title: {zh: 规则, en: Rule}
    severity: major
    reads: {measurement: environment}
    window: 5m
    condition: avg(temperature_c) > 30
"""


@pytest.mark.parametrize(
    ("change", "line", "words"),
    [
        (("window: 5m", "window: 5m\n    when: midnight"), 7, "expected 'night'"),
        (("window: 5m", "window: 5m\n    when: {hours: ['22-06']}"), 7, "HH:MM-HH:MM"),
        (("window: 5m", "window: 5m\n    when: {days: [friday]}"), 7, "'friday'"),
        (
            ("{measurement: environment}", "{measurement: [environment, safety]}"),
            2,
            "only an absence rule may read several",
        ),
        (
            ("{measurement: environment}", "{measurement: interface, room_kind: server_room}"),
            5,
            "room_kind needs room tags",
        ),
    ],
)
def test_bad_filters_are_refused_with_file_and_line(
    tmp_path: Path, change: tuple[str, str], line: int, words: str
) -> None:
    folder = write_pack(tmp_path / "pack", BASE.replace(*change))
    with pytest.raises(ConfigError) as caught:
        load_pack(folder, catalog())
    found = str(caught.value).splitlines()
    path = str(folder / "rules.yaml")
    assert any(p.startswith(f"{path}:") and words in p for p in found), found
    assert any(p.startswith(f"{path}:{line}:") for p in found), found
