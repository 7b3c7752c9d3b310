"""The retention report through the API and the CLI, and the ``storage_retention`` points the
collector writes after each retention run (what the graded-protection rules read)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from campusguard.lineprotocol import encode_metric
from campusguard.metric import Metric
from collector.settings import CollectorSettings
from collector.storage.base import Query
from tests.collector.conftest import AppClient, SettingsFactory
from tests.servers import wait_until

S = 1_000_000_000


def _body(now: int) -> bytes:
    lines = []
    for i in range(120):  # two environment fields and one syslog message per minute, last 2 h
        t = now - (120 - i) * 60 * S
        lines.append(
            encode_metric(
                Metric(
                    "environment",
                    {"room": "lab"},
                    {"temperature_c": 20.0 + i % 3, "humidity_pct": 40.0},
                    t,
                )
            )
        )
        lines.append(encode_metric(Metric("syslog", {"host": "sw1"}, {"message": f"m{i}"}, t)))
    # an old point, outside the last day
    lines.append(
        encode_metric(Metric("syslog", {"host": "sw1"}, {"message": "old"}, now - 3 * 86_400 * S))
    )
    return "\n".join(lines).encode()


def test_api_reports_rates_disk_and_floors(
    make_settings: SettingsFactory, app_client_factory: Callable[[CollectorSettings], AppClient]
) -> None:
    app = app_client_factory(make_settings(retention_status=True))
    now = time.time_ns()
    r = app.client.post("/api/v2/write?precision=ns", content=_body(now), headers=app.auth)
    assert r.status_code == 204, r.text
    r = app.client.get("/api/v1/storage/retention", headers=app.auth)
    assert r.status_code == 200, r.text
    report = r.json()
    classes = {c["name"]: c for c in report["classes"]}
    assert classes["raw"]["values_per_day"] == 240  # 120 points x 2 fields
    assert classes["audit"]["values_per_day"] == 120  # the old message is not in the last day
    assert classes["audit"]["meets_floor"] and report["compliant"]
    assert classes["raw"]["downsample_s"] == 300
    per_value = report["bytes_per_value"]
    assert per_value and per_value > 0
    # audit: 120 values/day kept 36,500 days (the test settings), at the measured size
    assert classes["audit"]["disk_needed_bytes"] == round(120 * 36_500 * per_value)
    assert report["disk_needed_bytes"] == sum(c["disk_needed_bytes"] for c in report["classes"])
    assert app.client.get("/api/v1/storage/retention").status_code == 401


def test_retention_run_writes_storage_retention_points(
    make_settings: SettingsFactory, app_client_factory: Callable[[CollectorSettings], AppClient]
) -> None:
    app = app_client_factory(make_settings(retention_status=True))

    def points() -> dict[str, dict[str, Any]]:
        out = {}
        for series in app.storage.query(Query(measurement="storage_retention")):
            row = dict(zip(series.columns, series.values[-1], strict=True))
            out[series.tags["class"]] = row
        return out

    assert wait_until(lambda: len(points()) >= 3, 10)
    got = points()
    assert got["audit"]["meets_floor"] is True
    assert got["audit"]["retention_s"] == 36_500 * 86_400
    assert got["raw"]["full_resolution_s"] == 36_500 * 86_400  # the test settings keep raw long
    assert got["raw"]["downsample_s"] == 300


def test_cli_prints_the_report_and_refuses_a_short_audit_keep(tmp_path: Path) -> None:
    config = tmp_path / "collector.yaml"
    config.write_text(f"data_dir: {tmp_path / 'data'}\ntokens: [t]\n", encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(Path.cwd())}
    cmd = [sys.executable, "-m", "campusguard.cli", "storage", "report", "-c", str(config)]
    proc = subprocess.run(
        [*cmd, "--json"], check=False, capture_output=True, text=True, timeout=60, env=env
    )
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert {c["name"] for c in report["classes"]} >= {"raw", "rollup", "audit"}
    proc = subprocess.run(cmd, check=False, capture_output=True, text=True, timeout=60, env=env)
    assert "audit data kept >= 180 days (网络安全法 art. 21): yes" in proc.stdout

    config.write_text(
        f"data_dir: {tmp_path / 'data'}\nretention_classes:\n  audit:\n    keep: 90d\n",
        encoding="utf-8",
    )
    proc = subprocess.run(cmd, check=False, capture_output=True, text=True, timeout=60, env=env)
    assert proc.returncode == 2
    assert f"{config}:4:" in proc.stderr and "180 days" in proc.stderr
