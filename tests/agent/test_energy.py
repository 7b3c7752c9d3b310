"""The ``energy`` processor: cumulative meters with resets, noise, a meter replacement, gaps
and out-of-order readings; power integration; intervals; state kept across a restart; and
Tasmota messages through a real Mosquitto. Every expected kWh is computed by hand."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agent.config import agent_config_model
from agent.plugin import PluginContext
from agent.processors.energy import EnergyConfig, EnergyProcessor
from agent.processors.energy_meter import NS, EnergyAccountant, EnergyRules
from agent.registry import BUILTIN_PLUGINS, Registry
from campusguard.config.loader import load_yaml_text
from campusguard.metric import Metric
from campusguard.selfmetrics import SelfMetrics
from tests.agent.mqtt_profiles.harness import Publisher, parse_case, run_messages
from tests.conftest import require_binary
from tests.servers import Mosquitto

T0 = 1_795_399_200  # 2026-11-23 02:00 UTC, a multiple of 900 s
TAGS = {"site": "whdv", "sensor": "a301-ac1", "level": "sensor"}


def at(seconds: float) -> int:
    return round((T0 + seconds) * NS)


def usage(metrics: list[Metric]) -> dict[int, float]:
    """Interval start (s after T0) -> kWh of the energy_usage points."""
    out: dict[int, float] = {}
    for m in metrics:
        if m.measurement == "energy_usage":
            assert m.time_ns is not None
            value = m.fields["energy_kwh"]
            assert isinstance(value, float)
            out[m.time_ns // NS - T0] = value
    return out


def test_cumulative_meter_resets_noise_replacement_gaps_and_disorder() -> None:
    acct = EnergyAccountant(EnergyRules(interval_s=900, grace_s=0))
    readings = [
        (0, 100.0),  # baseline: nothing counted
        (60, 100.5),  # +0.5
        (120, 100.45),  # a 0.05 drop (< 10 %): noise, the reference stays 100.5
        (180, 100.7),  # +0.2 over the reference
        (150, 101.0),  # older than the last reading: ignored, counted
        (240, 0.3),  # reset (power cut / firmware update): the new value counts from zero, +0.3
        (300, 0.8),  # +0.5
        (3000, 1.8),  # after a 45-minute gap: +1.0, in the interval starting at 2700
        (3060, 5000.0),  # meter swapped for one reading 5000: 4998 kWh in a minute is no use
        (3120, 5000.25),  # +0.25 on the new meter
        (3180, 12.0),  # swapped again, for one reading 12: a drop is a new cycle, +12
    ]
    added = [acct.counter(TAGS, at(t), v) for t, v in readings]
    assert added == pytest.approx([0, 0.5, 0, 0.2, 0, 0.3, 0.5, 1.0, 0, 0.25, 12.0])
    assert dict(acct.events) == {
        "meter_noise": 1,
        "out_of_order": 1,
        "meter_reset": 2,
        "implausible_jump": 1,
    }
    assert usage(acct.close(at(10_000))) == pytest.approx({0: 1.5, 2700: 13.25})
    assert acct.close(at(20_000)) == []  # emitted once


def test_power_is_integrated_with_trapezoids_and_not_across_gaps() -> None:
    acct = EnergyAccountant(EnergyRules(interval_s=900, grace_s=0, max_gap_s=600))
    samples = [
        (0, 1000.0),
        (60, 2000.0),  # (1000 + 2000) / 2 W * 60 s = 90,000 J = 0.025 kWh
        (120, 2000.0),  # 2000 W * 60 s = 0.0333... kWh
        (1000, 500.0),  # 880 s later: longer than max_gap, nothing integrated
        (1060, 1500.0),  # (500 + 1500) / 2 * 60 = 60,000 J = 0.01666... kWh
        (1030, 9000.0),  # out of order: ignored
        (1120, -50.0),  # export counts as nothing: 1500 / 2 * 60 = 45,000 J = 0.0125 kWh
    ]
    for t, w in samples:
        acct.power(TAGS, at(t), w)
    assert acct.events["power_gap"] == 1 and acct.events["out_of_order"] == 1
    assert usage(acct.close(at(5000))) == pytest.approx(
        {0: 0.025 + 2000 * 60 / 3.6e6, 900: 60_000 / 3.6e6 + 45_000 / 3.6e6}
    )


def test_power_is_ignored_once_a_series_has_a_counter() -> None:
    acct = EnergyAccountant(EnergyRules(interval_s=900, grace_s=0))
    acct.counter(TAGS, at(0), 10.0)
    acct.power(TAGS, at(0), 1000.0)
    acct.power(TAGS, at(60), 1000.0)
    acct.counter(TAGS, at(60), 10.02)
    assert usage(acct.close(at(2000))) == pytest.approx({0: 0.02})


def test_intervals_wait_for_grace_and_late_energy_goes_to_the_next_open_one() -> None:
    acct = EnergyAccountant(EnergyRules(interval_s=900, grace_s=60))
    acct.counter(TAGS, at(0), 1.0)
    acct.counter(TAGS, at(800), 2.0)
    assert acct.close(at(950)) == []  # 900 + 60 s grace not over yet
    first = acct.close(at(960))
    assert usage(first) == {0: 1.0}
    assert first[0].tags == TAGS and first[0].fields["interval_s"] == 900.0
    acct.counter(TAGS, at(890), 3.0)  # a late reading of the emitted interval: +1
    acct.counter(TAGS, at(1000), 3.5)
    assert usage(acct.close(at(3000))) == {900: 1.5}


def _processor(tmp_path: Path, clock: list[int], **options: object) -> EnergyProcessor:
    config = EnergyConfig.model_validate({"interval": "15m", "grace": 0, **options})
    ctx = PluginContext("energy", SelfMetrics("agent"), "t", tmp_path)
    return EnergyProcessor(config, ctx, clock=lambda: clock[0])


def _meter(t: float, kwh: float, **tags: str) -> Metric:
    base = {"site": "whdv", "sensor": "a301-ac1", "kind": "energy_meter", "building": "teach-a"}
    return Metric(
        "energy_meter", {**base, **tags}, {"energy_total_kwh": kwh, "power_w": 5.0}, at(t)
    )


def test_processor_passes_metrics_on_adds_usage_and_counts(tmp_path: Path) -> None:
    clock = [at(100)]
    proc = _processor(tmp_path, clock)
    batch = [_meter(0, 50.0), _meter(60, 50.4), Metric("safety", {}, {"smoke": False}, at(60))]
    assert proc.process(list(batch)) == batch  # interval not over: nothing added
    clock[0] = at(1000)
    out = proc.process([_meter(30, 99.0), _meter(950, 50.9)])
    usage_points = [m for m in out if m.measurement == "energy_usage"]
    assert [m.tags["level"] for m in usage_points] == ["sensor", "building", "site"]
    assert len(out) == 5
    assert usage_points[0] == Metric(
        "energy_usage",
        {"site": "whdv", "sensor": "a301-ac1", "kind": "energy_meter", "building": "teach-a",
         "level": "sensor"},
        {"energy_kwh": 0.4, "interval_s": 900.0},
        at(0),
    )  # fmt: skip
    dropped = proc.ctx.metrics.value(
        "campusguard_metrics_dropped_total",
        plugin="energy",
        stage="processor",
        reason="out_of_order",
    )
    assert dropped == 1


def test_a_restart_neither_double_counts_nor_loses_energy(tmp_path: Path) -> None:
    clock = [at(10)]
    first = _processor(tmp_path, clock, save_interval="1h")
    first.process([_meter(0, 10.0)])  # saved: the first save is immediate
    clock[0] = at(20)
    first.process([_meter(60, 10.25)])  # not saved (save_interval): lost by the "crash"
    saved = json.loads(first.state_path.read_text())
    assert saved["tracks"][0]["counter_kwh"] == 10.0
    clock[0] = at(1000)
    second = _processor(tmp_path, clock)  # a new process reads the saved state
    out = second.process([_meter(120, 10.5), _meter(910, 10.75)])
    # 10.0 -> 10.5 in the first interval: the unsaved 0.25 is still in the counter, once
    assert usage(out) == pytest.approx({0: 0.5})
    clock[0] = at(2000)
    third = _processor(tmp_path, clock)  # emitted intervals were saved: not emitted again
    out = third.process([_meter(1500, 11.0)])
    assert usage(out) == pytest.approx({900: 0.5})


def test_an_unreadable_state_file_is_counted_and_replaced(tmp_path: Path) -> None:
    (tmp_path / "energy-energy.json").write_text("{not json")
    clock = [at(10)]
    proc = _processor(tmp_path, clock)
    proc.process([_meter(0, 1.0)])
    value = proc.ctx.metrics.value(
        "campusguard_errors_total", plugin="energy", stage="processor", reason="bad_state"
    )
    assert value == 1
    assert json.loads((tmp_path / "energy-energy.json").read_text())["version"] == 1


def test_energy_plugin_registers_and_configures() -> None:
    registry = Registry(BUILTIN_PLUGINS)
    text = (
        "inputs:\n  - {type: mqtt, profiles: [tasmota]}\n"
        "processors:\n  - {type: enrich}\n  - {type: energy, interval: 1h, max_gap: 5m}\n"
        "outputs:\n  - {type: file, path: '-'}\n"
    )
    config = load_yaml_text(text, agent_config_model(registry), "agent.yaml")
    energy = config.processors[1]
    assert isinstance(energy, EnergyConfig)
    assert energy.interval == 3600.0 and energy.max_gap == 300.0


# Tasmota's "Time" is local (Asia/Shanghai): 10:00 is T0. The plug's counter resets to 0 at
# 10:04 (firmware update), one message arrives late (10:02:30 after 10:03), and the plug goes
# quiet from 10:06 to 10:40.
TASMOTA = """
-r tele/plug/LWT Online
tele/plug/SENSOR {"Time":"2026-11-23T10:00:00","ENERGY":{"Total":2.000,"Power":1200}}
tele/plug/SENSOR {"Time":"2026-11-23T10:01:00","ENERGY":{"Total":2.020,"Power":1200}}
tele/plug/SENSOR {"Time":"2026-11-23T10:03:00","ENERGY":{"Total":2.060,"Power":1200}}
tele/plug/SENSOR {"Time":"2026-11-23T10:02:30","ENERGY":{"Total":2.050,"Power":1200}}
tele/plug/SENSOR {"Time":"2026-11-23T10:04:00","ENERGY":{"Total":0.010,"Power":1200}}
tele/plug/SENSOR {"Time":"2026-11-23T10:05:00","ENERGY":{"Total":0.030,"Power":1200}}
tele/plug/SENSOR {"Time":"2026-11-23T10:06:00","ENERGY":{"Total":0.050,"Power":1200}}
tele/plug/SENSOR {"Time":"2026-11-23T10:40:00","ENERGY":{"Total":0.250,"Power":300}}
"""


def test_tasmota_through_mosquitto_to_kwh(mosquitto: Mosquitto, tmp_path: Path) -> None:
    pub = Publisher(require_binary("mosquitto_pub", "mosquitto-clients"), mosquitto)
    running = run_messages(mosquitto, pub, ["tasmota"], parse_case(TASMOTA), tmp_path)
    metrics = running.out.metrics
    assert len(metrics) == 9  # 8 readings and the LWT
    clock = [at(7200)]
    proc = _processor(tmp_path / "energy", clock)
    out = proc.process(metrics)
    # 10:00-10:15: 2.000 -> 2.060 (+0.06; 2.050 late and ignored), reset to 0.010 (+0.010),
    # +0.020, +0.020 = 0.11; 10:30-10:45: +0.2 after the gap
    assert usage(out) == pytest.approx({0: 0.11, 1800: 0.2})
    value = proc.ctx.metrics.value(
        "campusguard_metrics_dropped_total",
        plugin="energy",
        stage="processor",
        reason="out_of_order",
    )
    assert value == 1
