"""Scheduled reports: the period just over, written once to the folder, mailed with the report
attached to a local SMTP server (aiosmtpd); a restart does not make it again."""

from __future__ import annotations

import dataclasses
import email
import json
from datetime import UTC, date, datetime
from pathlib import Path

from fastapi.testclient import TestClient

from campusguard.inventory import DEMO_WHDV
from collector.alerting.config import SmtpReceiver
from collector.app import create_app
from collector.reports.config import ReportsConfig, Schedule
from collector.reports.data import ReportSource
from collector.reports.schedule import attach_schedules, last_period, run_due
from collector.settings import CollectorSettings
from tests.collector.alerting.conftest import SmtpServer, smtp_server  # noqa: F401
from tests.collector.reports.conftest import Written
from tests.servers import wait_until


def test_last_period() -> None:
    wednesday = date(2024, 5, 15)
    assert last_period("daily", wednesday) == (date(2024, 5, 14), wednesday)
    assert last_period("weekly", wednesday) == (date(2024, 5, 6), date(2024, 5, 13))
    assert last_period("monthly", wednesday) == (date(2024, 4, 1), date(2024, 5, 1))
    assert last_period("monthly", date(2024, 1, 3)) == (date(2023, 12, 1), date(2024, 1, 1))


def test_weekly_report_written_and_mailed(
    source: ReportSource,
    smtp_server: SmtpServer,  # noqa: F811
    tmp_path: Path,
) -> None:
    mail = SmtpReceiver(
        type="smtp",
        name="reports",
        host=smtp_server.host,
        port=smtp_server.port,
        sender="cg@school.example",
        to=("head@school.example",),
    )
    schedule = Schedule(
        kind="energy",
        every="weekly",
        out_dir=tmp_path / "out",
        site="whdv",
        format="html",
        mail=mail,
    )
    scheduled = dataclasses.replace(source, config=ReportsConfig(schedules=(schedule,)))
    now = datetime(2024, 5, 15, 2, 0, tzinfo=UTC)  # Wednesday 10:00 in Wuhan
    state = tmp_path / "state.json"
    (made,) = run_due(scheduled, state, now)
    assert made.path.name == "energy-whdv-2024-05-06_2024-05-13.html"
    assert "节能校园报告" in made.path.read_text(encoding="utf-8")
    assert made.mailed and len(smtp_server.mails) == 1
    message = email.message_from_bytes(smtp_server.mails[0].data)
    names = [part.get_filename() for part in message.walk() if part.get_filename()]
    assert names == [made.path.name]
    assert run_due(scheduled, state, now) == []  # made already: not again after a restart
    assert len(smtp_server.mails) == 1


def test_collector_runs_the_schedules_on_its_timer(
    source: ReportSource, written: Written, tmp_path: Path
) -> None:
    schedule = Schedule(
        kind="drill", every="daily", out_dir=tmp_path / "daily", site="whdv", format="html"
    )
    scheduled = dataclasses.replace(source, config=ReportsConfig(schedules=(schedule,)))
    settings = CollectorSettings(data_dir=tmp_path / "c", tokens=("t",), retention_status=False)
    app = create_app(settings)
    attach_schedules(app, lambda: scheduled, tmp_path / "schedules.json", interval_s=3600)
    with TestClient(app):
        assert wait_until(lambda: any((tmp_path / "daily").glob("drill-whdv-*.html")), timeout=30)
    assert json.loads((tmp_path / "schedules.json").read_text(encoding="utf-8"))


def test_collector_yaml_schedule_writes_into_its_folder(tmp_path: Path) -> None:
    """``reports.schedules`` in collector.yaml: the collector (collector/main.py) makes the daily
    report at start, into the schedule's folder, from its own store and inventory."""
    from collector.main import SCHEDULES_STATE_FILE, attach_report_schedules

    out = tmp_path / "daily"
    settings = CollectorSettings.model_validate(
        {
            "data_dir": tmp_path / "c",
            "tokens": ["t"],
            "retention_status": False,
            "rules": {"packs": [], "inventory": str(DEMO_WHDV)},
            "reports": {
                "tariff_cny_per_kwh": 1.1,
                "schedules": [
                    {"kind": "safety", "every": "daily", "out_dir": str(out), "format": "html"}
                ],
            },
        }
    )
    assert settings.reports is not None and settings.reports.tariff_cny_per_kwh == 1.1
    app = create_app(settings)
    assert attach_report_schedules(app, settings)
    with TestClient(app):
        assert wait_until(lambda: any(out.glob("safety-all-*.html")), timeout=30)
    (made,) = out.glob("safety-all-*.html")
    assert "平安校园" in made.read_text(encoding="utf-8")
    assert json.loads((tmp_path / "c" / SCHEDULES_STATE_FILE).read_text(encoding="utf-8"))
    # without schedules nothing is attached
    bare = CollectorSettings(data_dir=tmp_path / "d", tokens=("t",))
    assert not attach_report_schedules(create_app(bare), bare)
