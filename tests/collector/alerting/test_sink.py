"""The manager behind a real rule engine and runner: metric in, webhook message out."""

from __future__ import annotations

from pathlib import Path

import httpx

from campusguard.selfmetrics import SelfMetrics
from collector.alerting.manager import AlertManager
from collector.alerting.notify.build import build_notifiers
from collector.alerting.sink import sink_for
from collector.rules.engine import Engine
from collector.rules.runner import RuleRunner
from tests.collector.alerting.conftest import HttpSink
from tests.collector.alerting.helpers import config
from tests.collector.rules.helpers import at, catalog, metric, pack

RULE = """
rules:
  - id: t.hot
    title: {zh: 温度过高, en: Too hot}
    severity: major
    reads: {measurement: environment}
    group_by: [site, room]
    window: 10m
    for: 2m
    condition: max(temperature_c) > 30
"""


def test_runner_sink_to_webhook(tmp_path: Path, http_sink: HttpSink) -> None:
    cfg = config(http_sink.url(""))
    with httpx.Client(timeout=5) as client:
        manager = AlertManager(
            cfg, build_notifiers(cfg, client), SelfMetrics("collector"), tmp_path / "a.json"
        )
        runner = RuleRunner(Engine(pack(tmp_path, RULE)), sink=sink_for(manager), catalog=catalog())
        tags = {"site": "whdv", "room": "a101", "sensor": "t1"}
        runner.observe([metric("environment", tags, {"temperature_c": 42.0}, 0)])
        assert [c.state for c in runner.evaluate(at(0))] == ["pending"]
        assert http_sink.requests == []
        assert [c.state for c in runner.evaluate(at(3))] == ["firing"]
        [body] = http_sink.bodies()
        assert body["kind"] == "firing" and body["drill"] is False
        [alert] = body["alerts"]
        assert alert["title"] == "温度过高"
        assert alert["labels"] == {"site": "whdv", "room": "a101"}
        assert "温度过高" in body["text"] and alert["id"] in body["text"]
        runner.observe([metric("environment", tags, {"temperature_c": 20.0}, 4)])
        assert [c.state for c in runner.evaluate(at(14))] == ["resolved"]
        assert [b["kind"] for b in http_sink.bodies()] == ["firing", "resolved"]
        manager.close()
