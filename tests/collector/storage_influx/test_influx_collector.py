"""The collector configured with an InfluxDB backend: settings, build_storage, the write and
read API end to end into a real influxd and VictoriaMetrics."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from campusguard.config.loader import load_yaml_text
from campusguard.errors import ConfigError
from collector.app import build_storage, create_app
from collector.settings import CollectorSettings
from collector.storage.influx_v1 import InfluxV1Storage
from collector.storage.influx_v2 import InfluxV2Storage
from tests.collector.storage_influx.servers import DatabaseServer, vm_rows_added
from tests.servers import wait_until

TOKEN = "t0ken"


def _settings(text: str, tmp_path: Path) -> CollectorSettings:
    yaml = f"data_dir: {tmp_path / 'data'}\ntokens: [{TOKEN}]\nretention_status: false\n" + text
    return load_yaml_text(yaml, CollectorSettings, "collector.yaml")


def test_build_storage_picks_the_backend(tmp_path: Path) -> None:
    v1 = _settings(
        "storage:\n  type: influxdb_v1\n  url: http://127.0.0.1:1\n  database: d\n"
        "  batch_size: 100\n  flush_interval: 2s\n",
        tmp_path,
    )
    built = build_storage(v1)
    assert isinstance(built, InfluxV1Storage)
    assert built.sender.state_dir == tmp_path / "data" / "influxdb_v1"
    assert built.sender.options.batch_size == 100
    assert built.sender.options.flush_interval == 2.0
    v2 = _settings(
        f"storage:\n  type: influxdb_v2\n  token: x\n  spool_dir: {tmp_path / 'sp'}\n", tmp_path
    )
    built2 = build_storage(v2)
    assert isinstance(built2, InfluxV2Storage)
    assert built2.sender.state_dir == tmp_path / "sp"


def test_settings_refuse_a_short_retention(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="180 days"):
        _settings("storage:\n  type: influxdb_v1\n  retention: 30d\n", tmp_path)


def test_write_and_read_api_through_influxd(influxd: DatabaseServer, tmp_path: Path) -> None:
    settings = _settings(
        f"storage:\n  type: influxdb_v1\n  url: {influxd.url}\n  database: school\n"
        "  flush_interval: 50ms\n",
        tmp_path,
    )
    t = time.time_ns() // 10**9 * 10**9 - 60 * 10**9
    body = "".join(f"temp,room=101 c={20 + i / 4} {t + i * 10**9}\n" for i in range(8))
    headers = {"Authorization": f"Token {TOKEN}", "X-CampusGuard-Batch": "gw/e/1"}
    with TestClient(create_app(settings)) as client:
        r = client.post("/api/v2/write", content=body, headers=headers)
        assert r.status_code == 204, r.text
        again = client.post("/api/v2/write", content=body, headers=headers)
        assert again.headers.get("X-CampusGuard-Duplicate") == "1"
        storage = client.app.state.storage  # type: ignore[attr-defined]
        assert isinstance(storage, InfluxV1Storage)
        assert storage.flush(10)
        r = client.get(
            "/api/v1/query",
            params={"measurement": "temp", "start": str(t), "end": str(t + 10**10)},
            headers={"Authorization": f"Token {TOKEN}"},
        )
        assert r.status_code == 200, r.text
        stats = client.get("/api/v1/stats", headers={"Authorization": f"Token {TOKEN}"})
    [series] = r.json()["series"]
    assert series["tags"] == {"room": "101"}
    assert series["values"] == [[t + i * 10**9, 20 + i / 4] for i in range(8)]
    assert stats.json() == {"measurements": {"temp": 8}, "total": 8}


def test_write_api_into_victoria_metrics(victoria: DatabaseServer, tmp_path: Path) -> None:
    settings = _settings(
        f"storage:\n  type: influxdb_v2\n  url: {victoria.url}\n  token: x\n"
        "  flush_interval: 50ms\n",
        tmp_path,
    )
    t = time.time_ns() // 10**6 * 10**6 - 60 * 10**9
    body = "".join(f"flow,zone=dorm bytes={1000 + i}i {t + i * 10**6}\n" for i in range(20))
    with TestClient(create_app(settings)) as client:
        r = client.post("/api/v2/write", content=body, headers={"Authorization": f"Token {TOKEN}"})
        assert r.status_code == 204, r.text
    # the app closed the storage on shutdown, after giving the sender its drain time
    assert wait_until(lambda: vm_rows_added(victoria) == 20, 10)


def test_write_api_passes_a_validated_body_unchanged_or_re_encodes_it(
    influxd: DatabaseServer, tmp_path: Path
) -> None:
    """A timestamped ns body goes to the spool as it is (``write_encoded``); a body without
    timestamps or with unsigned fields goes through metrics (receive time, uint as int)."""
    settings = _settings(
        f"storage:\n  type: influxdb_v1\n  url: {influxd.url}\n  database: school\n"
        "  flush_interval: 50ms\n",
        tmp_path,
    )
    t = time.time_ns() // 10**9 * 10**9 - 60 * 10**9
    auth = {"Authorization": f"Token {TOKEN}"}
    calls: list[str] = []
    with TestClient(create_app(settings)) as client:
        storage = client.app.state.storage  # type: ignore[attr-defined]
        assert isinstance(storage, InfluxV1Storage)
        original_encoded, original_write = storage.write_encoded, storage.write

        def encoded(body: bytes, batch: object = None) -> bool:
            calls.append("encoded")
            return original_encoded(body, batch)  # type: ignore[arg-type]

        def write(metrics: object, batch: object = None) -> bool:
            calls.append("metrics")
            return original_write(metrics, batch)  # type: ignore[arg-type]

        storage.write_encoded, storage.write = encoded, write  # type: ignore[method-assign]
        ok = client.post("/api/v2/write", content=f"a,room=1 v=1 {t}\n", headers=auth)
        no_time = client.post("/api/v2/write", content="b,room=1 v=2\n", headers=auth)
        unsigned = client.post("/api/v2/write", content=f"c,room=1 n=7u {t}\n", headers=auth)
        assert ok.status_code == no_time.status_code == unsigned.status_code == 204
        assert calls == ["encoded", "metrics", "metrics"]
        assert storage.flush(10)
        stats = client.get("/api/v1/stats", headers=auth).json()
    assert stats["measurements"] == {"a": 1, "b": 1, "c": 1}
    assert storage.sender.dead_letters.read() == []
