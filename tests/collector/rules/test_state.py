"""State survives a restart: windows, pending timers and firing alerts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from campusguard.errors import StorageError
from collector.rules.engine import Engine
from collector.rules.state import load_state, save_state

from .helpers import T0, at, metric, pack

RULE = """
rules:
  - id: t.hot
    title: {zh: 温度过高, en: Too hot}
    severity: major
    reads: {measurement: environment}
    group_by: [site, room]
    window: 10m
    for: 5m
    condition: avg(temperature_c) > 30
"""


def feed(engine: Engine, minutes: range, value: float) -> None:
    tags = {"site": "s1", "room": "a101", "sensor": "c1"}
    engine.observe(metric("environment", tags, {"temperature_c": value}, m) for m in minutes)


def test_restart_in_the_middle_of_a_for_window(tmp_path: Path) -> None:
    rules = pack(tmp_path, RULE)
    state = tmp_path / "state" / "rules.json"
    first = Engine(rules, started_ns=T0)
    feed(first, range(0, 3), 35.0)
    assert [c.state for c in first.evaluate(at(2))] == ["pending"]  # pending since minute 2
    save_state(first, state)
    del first

    second = Engine(rules, started_ns=at(100))
    assert load_state(second, state) is True
    assert second.started_ns == T0
    assert [(a.state, a.since_ns) for a in second.active_alerts()] == [("pending", at(2))]
    feed(second, range(3, 7), 35.0)
    assert second.evaluate(at(6)) == []  # 4 minutes: still pending, nothing sent twice
    fired = second.evaluate(at(7))
    assert [(c.state, c.previous) for c in fired] == [("firing", "pending")]
    save_state(second, state)

    # a firing alert is not sent again after another restart, and the window came along
    third = Engine(rules, started_ns=at(100))
    load_state(third, state)
    assert third.evaluate(at(8)) == []
    feed(third, range(9, 20), 20.0)
    assert [c.state for c in third.evaluate(at(19))] == ["resolved"]


def test_a_changed_rule_keeps_alerts_but_not_windows(tmp_path: Path) -> None:
    state = tmp_path / "rules.json"
    engine = Engine(pack(tmp_path / "a", RULE.replace("for: 5m", "for: 0s")), started_ns=T0)
    feed(engine, range(0, 3), 35.0)
    assert [c.state for c in engine.evaluate(at(2))] == ["firing"]
    save_state(engine, state)
    changed = Engine(
        pack(tmp_path / "b", RULE.replace("> 30", "> 31").replace("for: 5m", "for: 0s"))
    )
    load_state(changed, state)
    assert [a.state for a in changed.active_alerts()] == ["firing"]
    assert changed.series_count() == 0
    # no data in the new window: the alert resolves instead of hanging forever
    assert [c.state for c in changed.evaluate(at(3))] == ["resolved"]


def test_missing_and_bad_state_files(tmp_path: Path) -> None:
    engine = Engine(pack(tmp_path, RULE))
    assert load_state(engine, tmp_path / "none.json") is False
    bad = tmp_path / "bad.json"
    bad.write_text("{not json", encoding="utf-8")
    with pytest.raises(StorageError, match="not a rule state file"):
        load_state(engine, bad)
    bad.write_text(json.dumps({"version": 99}), encoding="utf-8")
    with pytest.raises(StorageError, match="version 2"):
        load_state(engine, bad)
    # junk inside a valid file is skipped, not fatal
    bad.write_text(
        json.dumps(
            {
                "version": 2,
                "inputs": [
                    {
                        "measurement": "environment",
                        "slot": "temperature_c",
                        "busy": False,
                        "windows": [{"tags": 3}, {"tags": {"a": "b"}, "samples": [["x", 1], 5]}],
                    },
                    "junk",
                ],
                "rules": {
                    "t.hot": {
                        "fingerprint": engine.runtimes["t.hot"].compiled.fingerprint,
                        "series": [
                            {"tags": 5},
                            {"tags": {"room": "r1"}, "last_seen_ns": "x"},
                            {"tags": {"room": "r2"}, "last_seen_ns": 1},
                            9,
                        ],
                        "alerts": [{"state": "weird"}, 7],
                    }
                },
            }
        ),
        encoding="utf-8",
    )
    assert load_state(engine, bad) is True
    assert engine.active_alerts() == []
    assert [s.tags for s in engine.runtimes["t.hot"].series.values()] == [{"room": "r2"}]
    assert all(not found.windows for found in engine.inputs.values())
