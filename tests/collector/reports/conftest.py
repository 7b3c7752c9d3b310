"""The report tests' data: the fixed data set written once per module through the collector's
write API (TestClient) into a SQLite store, alert documents and a drill record in the real
alert store, and a reports config with a tariff, an emission factor and a holiday."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from campusguard.inventory import DEMO_WHDV
from campusguard.lineprotocol import encode
from collector.alerting.model import Alert
from collector.alerting.store import AlertStore
from collector.app import create_app
from collector.drills.record import DrillRecord
from collector.reports.charts import Charts
from collector.reports.cli import open_source
from collector.reports.data import ReportSource
from collector.rules_wiring import ALERT_STORE_FILE
from collector.settings import CollectorSettings
from tests.collector.reports import dataset

TOKEN = "report-test-token"
TARIFF = 0.8
FACTOR = 0.5


@dataclass
class Written:
    data_dir: Path
    reports_config: Path
    ds: dataset.DataSet
    drill_start: int


def _doc(alert_id: str, rule: str, fired: int, by: str | None, acked: int | None) -> Alert:
    return Alert(
        id=alert_id,
        rule=rule,
        severity="critical",
        labels={"site": dataset.SITE},
        state="resolved",
        title="",
        summary="",
        value=None,
        drill=False,
        fired_ns=fired,
        chain=None,
        group_key="g",
        acked_by=by,
        acked_ns=acked,
    )


def _store_alerts(path: Path, ds: dataset.DataSet) -> int:
    store = AlertStore(path)
    try:
        smoke_last = ds.alarm_times[2]
        acked_ns = smoke_last + 90 * dataset.NS
        store.upsert_alert(
            _doc("a-smoke", "safety.smoke", smoke_last, "王老师", acked_ns), acked_ns
        )
        leak_ns = ds.alarm_times[3]
        store.upsert_alert(_doc("a-leak", "safety.leak", leak_ns, None, None), leak_ns)
        start = dataset.local_ns(dataset.DATES[5], 10)
        record = DrillRecord(
            id="d1",
            scenario="fire",
            title={"zh": "火灾演练", "en": "Fire drill"},
            site=dataset.SITE,
            room="d1-f1",
            speed=60.0,
            started_by="张主任",
            started_ns=start,
        )
        record.event(start, "start", "张主任", scenario="fire")
        record.alerts["x1"] = {
            "alert_id": "x1",
            "rule": "safety.smoke",
            "severity": "critical",
            "labels": {},
            "fired_ns": start + 30 * dataset.NS,
            "resolved_ns": start + 600 * dataset.NS,
        }
        record.event(start + 30 * dataset.NS, "alert_firing", alert_id="x1", rule="safety.smoke")
        record.expect(["王老师", "李校长"])
        record.acks.append(
            {
                "alert_id": "x1",
                "user": "王老师",
                "channel": "api",
                "time_ns": start + 75 * dataset.NS,
                "after_alert_s": 45.0,
                "first": True,
            }
        )
        record.event(start + 75 * dataset.NS, "ack", "王老师", alert_id="x1", channel="api")
        record.notifications.append(
            {
                "time_ns": start + 31 * dataset.NS,
                "receiver": "dingtalk",
                "kind": "firing",
                "level": 0,
                "ok": False,
                "alert_ids": ["x1"],
            }
        )
        record.state, record.stopped_by, record.stopped_ns = (
            "stopped",
            "张主任",
            start + 600 * dataset.NS,
        )
        record.event(start + 600 * dataset.NS, "stop", "张主任")
        store.save_drill(record.to_json())
        return start
    finally:
        store.close()


@pytest.fixture(scope="package")
def written(tmp_path_factory: pytest.TempPathFactory) -> Written:
    root = tmp_path_factory.mktemp("reports")
    data_dir = root / "collector"
    settings = CollectorSettings(
        data_dir=data_dir,
        tokens=(TOKEN,),
        retention=100 * 365 * 86_400.0,
        retention_classes={"raw": {"keep": 100 * 365 * 86_400.0}},  # type: ignore[arg-type]
        retention_status=False,
    )
    ds = dataset.build()
    with TestClient(create_app(settings)) as client:
        for start in range(0, len(ds.metrics), 5000):
            body = encode(ds.metrics[start : start + 5000])
            answer = client.post(
                "/api/v2/write", content=body, headers={"Authorization": f"Token {TOKEN}"}
            )
            assert answer.status_code == 204, answer.text
    drill_start = _store_alerts(data_dir / ALERT_STORE_FILE, ds)
    config = root / "reports.yaml"
    config.write_text(
        f"tariff_cny_per_kwh: {TARIFF}\nemission_kg_per_kwh: {FACTOR}\nholidays: [{dataset.HOLIDAY.isoformat()}]\n",
        encoding="utf-8",
    )
    return Written(data_dir, config, ds, drill_start)


@pytest.fixture(scope="package")
def charts() -> Charts:
    return Charts()


@pytest.fixture(scope="package")
def source(written: Written) -> Iterator[ReportSource]:
    src, closers = open_source(None, written.data_dir, DEMO_WHDV, written.reports_config)
    try:
        yield src
    finally:
        for thing in closers:
            thing.close()
