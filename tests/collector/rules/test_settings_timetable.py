"""The collector settings' ``rules.timetable`` reaches the engine the collector builds: a
``when: night`` rule follows the school's night, not the default one."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from campusguard.config.loader import load_yaml
from campusguard.errors import ConfigError
from campusguard.metric import Metric
from campusguard.selfmetrics import SelfMetrics
from collector.rules.engine import Engine
from collector.rules.timetable import Timetable
from collector.rules_wiring import build_rule_runner, load_rules
from collector.settings import CollectorSettings

from .helpers import T0, write_pack

NIGHT_RULE = """
rules:
  - id: t.power_at_night
    title: {zh: 夜间用电, en: Power at night}
    severity: warning
    reads: {measurement: energy_meter}
    when: night
    window: 10m
    condition: avg(power_w) > 100
"""
PLUG = {"site": "s1", "building": "main", "room": "a301", "sensor": "m1"}
MINUTE = 60 * 10**9
EVENING = T0 + 11 * 60 * MINUTE  # 2026-03-02 20:00 Asia/Shanghai, a Monday


def settings_file(tmp_path: Path, timetable: str) -> Path:
    pack = write_pack(tmp_path / "pack", NIGHT_RULE)
    text = f"""
        data_dir: {tmp_path / "data"}
        rules:
          packs: [{pack}]
          interval: 5s
        {timetable}
    """
    path = tmp_path / "collector.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def engine_of(path: Path) -> Engine:
    settings = load_yaml(path, CollectorSettings)
    runner = build_rule_runner(settings, load_rules(settings), None, SelfMetrics("collector"))
    assert runner is not None
    return runner.engine


def first_firing(engine: Engine) -> int | None:
    """Minutes after 20:00 at which the rule fires, 500 W from 20:00 on, evaluated each minute."""
    for m in range(0, 4 * 60):
        engine.observe(
            [Metric("energy_meter", dict(PLUG), {"power_w": 500.0}, EVENING + m * MINUTE)]
        )
        if any(c.state == "firing" for c in engine.evaluate(EVENING + m * MINUTE)):
            return m
    return None


def test_the_settings_timetable_moves_the_night(tmp_path: Path) -> None:
    early = '  timetable: {night: "20:30-06:00", holidays: ["07-10..08-31"]}'
    path = settings_file(tmp_path / "early", early)
    settings = load_yaml(path, CollectorSettings)
    assert settings.rules is not None
    assert settings.rules.timetable == Timetable(night="20:30-06:00", holidays=("07-10..08-31",))
    assert first_firing(engine_of(path)) == 30  # the school's night starts at 20:30
    assert first_firing(engine_of(settings_file(tmp_path / "default", ""))) == 120  # 22:00


def test_a_bad_timetable_is_refused_with_its_line(tmp_path: Path) -> None:
    path = settings_file(tmp_path, '  timetable: {night: "late"}')
    with pytest.raises(ConfigError, match=r"collector\.yaml:\d+:.*HH:MM"):
        load_yaml(path, CollectorSettings)
