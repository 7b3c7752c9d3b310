"""The engine attached to a real collector app: what the write API stores reaches the rules,
alert changes are stored as ``alert`` metrics, state is saved at shutdown."""

from __future__ import annotations

import time
from pathlib import Path

from fastapi.testclient import TestClient

from campusguard.selfmetrics import SelfMetrics
from collector.app import create_app
from collector.rules.alerts import AlertChange
from collector.rules.engine import Engine
from collector.rules.runner import RuleRunner, attach
from collector.storage.base import Query
from collector.storage.sqlite import SqliteStorage

from ..conftest import TOKEN, SettingsFactory
from .helpers import catalog, pack

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


def test_attach_feeds_written_metrics_and_stores_alerts(
    tmp_path: Path, make_settings: SettingsFactory
) -> None:
    settings = make_settings()
    storage = SqliteStorage(settings.sqlite_path, retention_ns=settings.retention_ns)
    app = create_app(settings, storage, SelfMetrics("collector"))
    engine = Engine(pack(tmp_path, RULE))
    received: list[AlertChange] = []
    state = tmp_path / "rules-state.json"
    runner = RuleRunner(
        engine, state_path=state, sink=received.extend, interval_s=3600, catalog=catalog()
    )
    attach(runner, app)
    now = time.time_ns()
    body = f"environment,site=s1,room=a101,sensor=c1 temperature_c=42.5 {now}\n"
    try:
        with TestClient(app) as client:
            headers = {"Authorization": f"Token {TOKEN}", "X-CampusGuard-Batch": "a1/e1/1"}
            answer = client.post("/api/v2/write?bucket=b", content=body, headers=headers)
            assert answer.status_code == 204
            # the same batch again is a duplicate: stored once, observed once
            again = client.post("/api/v2/write?bucket=b", content=body, headers=headers)
            assert again.status_code == 204
            assert engine.series_count() == 1
            (only,) = engine.inputs.values()
            assert [len(w) for w in only.windows.values()] == [1]
            changes = runner.evaluate(now + 10**9)
            assert [(c.rule, c.state) for c in changes] == [("t.hot", "firing")]
            assert received == changes
            stored = storage.query(Query("alert", tags={"rule": "t.hot"}))
            assert [r.tags["state"] for r in stored] == ["firing"]
            assert stored[0].tags["room"] == "a101"
        assert state.exists()  # saved at shutdown
        # a restarted collector picks the state up: the alert is still firing, not re-sent
        engine2 = Engine(pack(tmp_path / "again", RULE))
        runner2 = RuleRunner(engine2, state_path=state, interval_s=3600)
        app2 = create_app(settings, storage, SelfMetrics("collector"))
        attach(runner2, app2)
        with TestClient(app2):
            assert [(a.rule, a.state) for a in engine2.active_alerts()] == [("t.hot", "firing")]
            assert runner2.evaluate(now + 2 * 10**9) == []
    finally:
        storage.close()
