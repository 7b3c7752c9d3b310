"""The service attached to a FastAPI app: the ticker runs during the lifespan (wall clock)."""

from __future__ import annotations

import time
from pathlib import Path

from fastapi import FastAPI
from fastapi.testclient import TestClient

from campusguard.metric import Metric
from campusguard.selfmetrics import SelfMetrics
from collector.alerting.service import AlertingService
from collector.app import create_app
from collector.rules.engine import Engine
from collector.rules.runner import RuleRunner, attach
from collector.storage.sqlite import SqliteStorage
from tests.collector.alerting.conftest import HttpSink
from tests.collector.alerting.helpers import change, config
from tests.collector.conftest import SettingsFactory
from tests.collector.rules.helpers import catalog, pack
from tests.servers import wait_until


def test_ticker_sends_after_group_wait(tmp_path: Path, http_sink: HttpSink) -> None:
    service = AlertingService(
        config(http_sink.url(""), group_wait="1s"),
        SelfMetrics("collector"),
        tmp_path / "alerts.json",
        tick_interval_s=0.05,
    )
    app = FastAPI()
    service.attach(app)
    with TestClient(app):
        assert app.state.alerting is service
        now = time.time_ns()
        service.sink()([change("safety.smoke", "firing", now, device="smoke-1")])
        assert http_sink.requests == []  # waiting for the group
        assert wait_until(lambda: len(http_sink.requests) == 1, 10)
    assert (tmp_path / "alerts.json").exists()
    assert service.client.is_closed


RULE = """
rules:
  - id: t.hot
    title: {zh: 温度过高, en: Too hot}
    severity: major
    reads: {measurement: environment}
    group_by: [site, room]
    window: 1h
    condition: max(temperature_c) > 30
"""


def test_collector_write_to_webhook(
    tmp_path: Path, http_sink: HttpSink, make_settings: SettingsFactory
) -> None:
    """The wiring order the service documents, in a real collector app: a stored reading
    raises an alert in the runner's loop that reaches the webhook, and shutdown is clean."""
    settings = make_settings()
    metrics = SelfMetrics("collector")
    storage = SqliteStorage(settings.sqlite_path, retention_ns=settings.retention_ns)
    app = create_app(settings, storage, metrics)
    service = AlertingService(config(http_sink.url("")), metrics, tmp_path / "alerts.json")
    runner = RuleRunner(
        Engine(pack(tmp_path, RULE)), sink=service.sink(), catalog=catalog(), interval_s=0.05
    )
    service.attach(app)
    attach(runner, app)
    tags = {"site": "whdv", "room": "a101", "sensor": "c1"}
    with TestClient(app):
        # fed as the write path's ObservingStorage does (the write body format is another
        # part's business); the runner's loop evaluates and the sink notifies
        runner.observe([Metric("environment", tags, {"temperature_c": 42.5}, time.time_ns())])
        assert wait_until(lambda: len(http_sink.requests) == 1, 10)
    assert (tmp_path / "alerts.json").exists()
    assert service.client.is_closed
    [alert] = http_sink.bodies()[0]["alerts"]
    assert alert["title"] == "温度过高" and alert["labels"]["room"] == "a101"
