"""Room, building and site rollups of energy, after-hours energy from the school timetable,
intervals closed by the agent's timer, and energy conservation across resets, gaps and
out-of-order readings (property-based)."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Sequence
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agent.config import agent_config_model
from agent.plugin import PluginConfig, PluginContext, PollingInput
from agent.processors.energy import EnergyConfig, EnergyProcessor
from agent.processors.energy_meter import NS, EnergyAccountant, EnergyRules
from agent.processors.energy_rollup import rollup
from agent.registry import BUILTIN_PLUGINS, PluginSpec, Registry
from agent.runtime import Agent
from campusguard.config.loader import load_yaml_text
from campusguard.inventory.lookup import InventoryIndex
from campusguard.inventory.model import Inventory
from campusguard.lineprotocol import parse
from campusguard.metric import FieldValue, Metric
from campusguard.selfmetrics import SelfMetrics

# Monday 23 November 2026, 10:00 in Shanghai (02:00 UTC)
T0 = round(dt.datetime(2026, 11, 23, 10, tzinfo=ZoneInfo("Asia/Shanghai")).timestamp())


def point(kwh: float, ah: float | None = None, **tags: str) -> Metric:
    fields: dict[str, FieldValue] = {"energy_kwh": kwh, "interval_s": 900.0}
    if ah is not None:
        fields["after_hours_kwh"] = ah
    return Metric("energy_usage", {"site": "whdv", **tags, "level": "sensor"}, fields, T0 * NS)


def by_place(metrics: list[Metric]) -> dict[tuple[str, ...], tuple[float, float, int]]:
    out: dict[tuple[str, ...], tuple[float, float, int]] = {}
    for m in metrics:
        key = tuple(m.tags.get(k, "") for k in ("level", "building", "room"))
        kwh, ah, meters = m.fields["energy_kwh"], m.fields["after_hours_kwh"], m.fields["meters"]
        assert isinstance(kwh, float) and isinstance(ah, float) and isinstance(meters, int)
        out[key] = (round(kwh, 6), round(ah, 6), meters)
    return out


def test_rollups_count_phases_and_sub_meters_once() -> None:
    points = [
        # teach-a: a Shelly Pro 3EM on the building feeder (phases and their total) ...
        *(point(v, 0.0, building="teach-a", sensor="feeder-a", kind="feeder_meter", phase=ph)
          for ph, v in (("a", 1.0), ("b", 2.0), ("c", 3.0), ("total", 6.0))),
        # ... and air-conditioner plugs behind it in two classrooms
        point(0.5, 0.1, building="teach-a", room="a301", sensor="a301-ac1", kind="energy_meter"),
        point(0.25, 0.0, building="teach-a", room="a301", sensor="a301-ac2", kind="energy_meter"),
        point(0.75, 0.5, building="teach-a", room="a302", sensor="a302-ac1", kind="energy_meter"),
        # train: a building feeder and a sub-feeder of the CNC workshop, a plug in the workshop
        point(10.0, 2.0, building="train", sensor="feeder-train", kind="feeder_meter"),
        point(4.0, 1.0, building="train", room="cnc", sensor="feeder-cnc", kind="feeder_meter"),
        point(1.0, 0.0, building="train", room="cnc", sensor="cnc-plug", kind="energy_meter"),
        # library: no feeder, a Gen1 3EM without a total (phases summed) and a hall plug
        *(point(v, v / 2, building="library", room="reading", sensor="em1", kind="energy_meter",
                phase=ph) for ph, v in (("a", 0.5), ("b", 0.25), ("c", 0.25))),
        point(0.5, 0.5, building="library", sensor="hall-plug", kind="energy_meter"),
        # a meter with no building: counted at the site level only
        point(2.0, 2.0, topic="tele/unknown/SENSOR", kind="energy_meter"),
    ]  # fmt: skip
    sums = by_place(rollup(points))
    assert sums == (
        {
            ("room", "teach-a", "a301"): (0.75, 0.1, 2),
            ("room", "teach-a", "a302"): (0.75, 0.5, 1),
            ("building", "teach-a", ""): (6.0, 0.0, 1),  # the feeder's total, not + plugs
            ("room", "train", "cnc"): (4.0, 1.0, 1),  # its sub-feeder, not + the plug
            ("building", "train", ""): (10.0, 2.0, 1),
            ("room", "library", "reading"): (1.0, 0.5, 1),
            ("building", "library", ""): (1.5, 1.0, 2),  # its room plus the hall plug
            ("site", "", ""): (6.0 + 10.0 + 1.5 + 2.0, 0.0 + 2.0 + 1.0 + 2.0, 5),
        }
    )
    only = rollup(points, levels=["site"], with_after_hours=False)
    assert len(only) == 1 and "after_hours_kwh" not in only[0].fields
    assert only[0].tags == {"site": "whdv", "level": "site"} and only[0].time_ns == T0 * NS


def test_a_site_main_meter_is_the_site_figure() -> None:
    points = [
        point(30.0, 5.0, sensor="main", kind="feeder_meter"),
        point(6.0, 0.0, building="teach-a", sensor="feeder-a", kind="feeder_meter"),
    ]
    assert by_place(rollup(points))[("site", "", "")] == (30.0, 5.0, 1)


INVENTORY = """
sites:
  - id: whdv
    name: 测试学校
    timezone: Asia/Shanghai
    buildings:
      - id: teach-a
        name: 教学楼A
        rooms: [{id: a301, kind: classroom}, {id: srv, kind: server_room}]
    sensors:
      - {id: a301-ac1, topic: tele/a301-ac1/#, kind: energy_meter, building: teach-a, room: a301}
      - {id: srv-ups, topic: tele/srv-ups/#, kind: energy_meter, building: teach-a, room: srv}
"""

SCHEDULE = {
    "hours": {
        "school": {"days": {"mon-fri": ["07:30-12:00", "13:30-17:30"]}},
        "server": {"all_year": True, "days": {"mon-sun": ["00:00-24:00"]}},
    },
    "by_room_kind": {"server_room": "server"},
}


def _processor(tmp_path: Path, clock: list[int]) -> EnergyProcessor:
    config = EnergyConfig.model_validate(
        {"interval": "15m", "grace": 0, "schedule": SCHEDULE, "name": "energy"}
    )
    index = InventoryIndex(load_yaml_text(INVENTORY, Inventory, "inventory.yaml"))
    ctx = PluginContext("energy", SelfMetrics("agent"), "t", tmp_path, inventory=index)
    return EnergyProcessor(config, ctx, clock=lambda: clock[0])


def _reading(sensor: str, room: str, t: float, kwh: float) -> Metric:
    tags = {"site": "whdv", "building": "teach-a", "room": room, "sensor": sensor}
    return Metric("energy_meter", tags, {"energy_total_kwh": kwh}, round(t * NS))


def test_after_hours_from_the_room_kind_and_the_timetable(tmp_path: Path) -> None:
    # 12:00-12:15 Shanghai on a Monday: lunch break, after hours for the classroom, but the
    # server room's hours run all day every day
    start = T0 + 2 * 3600
    clock = [(start + 10) * NS]
    proc = _processor(tmp_path, clock)
    proc.process([_reading("a301-ac1", "a301", start + 1, 5.0), _reading("srv-ups", "srv", start + 1, 100.0)])  # fmt: skip
    clock[0] = (start + 900) * NS
    out = proc.process(
        [_reading("a301-ac1", "a301", start + 899, 5.4), _reading("srv-ups", "srv", start + 899, 100.6)]
    )  # fmt: skip
    found = {
        (m.tags["level"], m.tags.get("room", "")): (m.fields["energy_kwh"], m.fields["after_hours_kwh"])
        for m in out if m.measurement == "energy_usage"
    }  # fmt: skip
    assert found == (
        {
            ("sensor", "a301"): (0.4, 0.4),
            ("sensor", "srv"): (0.6, 0.0),
            ("room", "a301"): (0.4, 0.4),
            ("room", "srv"): (0.6, 0.0),
            ("building", ""): (1.0, 0.4),
            ("site", ""): (1.0, 0.4),
        }
    )
    # the same in class time (10:00-10:15) is not after hours for the classroom either
    clock2 = [T0 * NS]
    proc2 = _processor(tmp_path / "b", clock2)
    proc2.process([_reading("a301-ac1", "a301", T0 + 1, 1.0)])
    clock2[0] = (T0 + 900) * NS
    out2 = proc2.process([_reading("a301-ac1", "a301", T0 + 800, 1.5)])
    sensor = next(m for m in out2 if m.tags.get("level") == "sensor")
    assert sensor.fields["after_hours_kwh"] == 0.0 and sensor.fields["energy_kwh"] == 0.5


def test_tick_closes_intervals_when_no_batch_passes(tmp_path: Path) -> None:
    clock = [(T0 + 10) * NS]
    proc = _processor(tmp_path, clock)
    assert proc.tick() == []
    proc.process([_reading("a301-ac1", "a301", T0 + 1, 5.0), _reading("a301-ac1", "a301", T0 + 60, 5.2)])  # fmt: skip
    clock[0] = (T0 + 899) * NS
    assert proc.tick() == []
    clock[0] = (T0 + 900) * NS
    ticked = proc.tick()
    assert [m.tags["level"] for m in ticked] == ["sensor", "room", "building", "site"]
    assert proc.tick() == []  # once


# --- the runtime's timer, end to end -----------------------------------------------------


class OnceConfig(PluginConfig):
    type: Literal["once"] = "once"


class OnceInput(PollingInput):
    """Emits two meter readings at its first poll, then nothing."""

    config: OnceConfig

    @property
    def interval(self) -> float:
        return 60.0

    async def poll(self) -> Sequence[Metric]:
        import time

        now = time.time_ns()
        tags = {"site": "whdv", "building": "teach-a", "room": "a301", "sensor": "a301-ac1"}
        return [
            Metric("energy_meter", tags, {"energy_total_kwh": 7.0}, now - 2 * NS),
            Metric("energy_meter", dict(tags), {"energy_total_kwh": 7.25}, now - NS),
        ]


def test_the_agent_timer_writes_usage_while_inputs_are_quiet(tmp_path: Path) -> None:
    registry = Registry((*BUILTIN_PLUGINS, PluginSpec("once", "input", OnceConfig, OnceInput, "")))
    out_path = tmp_path / "out.lp"
    text = f"""\
agent: {{id: t1, data_dir: {tmp_path}/data, flush_interval: 0.05}}
inputs: [{{type: once}}]
processors: [{{type: energy, interval: 1s, grace: 0}}]
outputs: [{{type: file, path: {out_path}}}]
"""
    agent = Agent(load_yaml_text(text, agent_config_model(registry), "a.yaml"), registry=registry)

    def usage_lines() -> list[Metric]:
        if not out_path.exists():
            return []
        found = parse(out_path.read_bytes())
        return [m for m in found if m.measurement == "energy_usage"]

    async def main() -> list[Metric]:
        stop = asyncio.Event()
        task = asyncio.create_task(agent.run(stop))
        deadline = asyncio.get_running_loop().time() + 10
        while not usage_lines() and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0.05)
        stop.set()
        await asyncio.wait_for(task, 10)
        return usage_lines()

    lines = asyncio.run(main())
    levels = {m.tags["level"]: m.fields["energy_kwh"] for m in lines}
    assert levels == pytest.approx({"sensor": 0.25, "room": 0.25, "building": 0.25, "site": 0.25})


# --- conservation: resets, gaps and out-of-order readings --------------------------------


@st.composite
def meter_history(draw: st.DrawFn) -> tuple[list[tuple[int, float]], list[int], float]:
    """Readings (time s, counter kWh) with resets and gaps, a delivery order in which some
    readings arrive late, and the true energy used."""
    n = draw(st.integers(2, 60))
    value = draw(st.floats(50.0, 5000.0))
    t = 0
    readings = [(t, value)]
    used = 0.0
    resets: set[int] = set()
    for i in range(1, n):
        t += draw(st.sampled_from([10, 60, 300, 3600, 86400]))  # gaps up to a day
        inc = draw(st.floats(0.0, 1.0))
        if value > 20 and draw(st.booleans()) and draw(st.booleans()):
            value = inc  # reset or replaced by a new meter: counts from zero
            resets.add(i)
        else:
            value += inc
        used += inc
        readings.append((t, value))
    order = list(range(n))
    # a reading may arrive after the next one, unless the next one is a reset (then the
    # energy only the late reading knew of is gone, as it would be from the real meter)
    for i in range(1, n - 1):  # the first reading is the baseline: it must come first
        late = i + 1 not in resets and order[i] == i and order[i + 1] == i + 1
        if late and draw(st.booleans()):
            order[i], order[i + 1] = order[i + 1], order[i]
    return readings, order, used


@settings(max_examples=150, deadline=None)
@given(history=meter_history(), interval=st.sampled_from([60, 900, 3600]))
def test_energy_is_conserved(
    history: tuple[list[tuple[int, float]], list[int], float], interval: int
) -> None:
    readings, order, used = history
    acct = EnergyAccountant(EnergyRules(interval_s=interval, grace_s=0, max_power_kw=None))
    tags = {"sensor": "m1", "level": "sensor"}
    base = 1_795_399_200
    counted = 0.0
    emitted: list[Metric] = []
    for index in order:
        t, kwh = readings[index]
        counted += acct.counter(tags, (base + t) * NS, kwh)
        emitted += acct.close((base + t) * NS)  # intervals close as time goes on
    emitted += acct.close((base + readings[-1][0] + 2 * interval) * NS)
    total = sum(float(m.fields["energy_kwh"]) for m in emitted)
    assert counted == pytest.approx(used, rel=1e-9, abs=1e-6)
    assert total == pytest.approx(used, rel=1e-9, abs=1e-6)
    starts = [m.time_ns for m in emitted]
    assert len(starts) == len(set(starts))  # every interval written once
