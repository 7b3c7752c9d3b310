"""The v2 write API backend (influxdb-client) against a real VictoriaMetrics.

VictoriaMetrics keeps numeric fields only (as ``<measurement>_<field>``), milliseconds, and
answers 204 even for points it ignores, so what it stored is read back through
``/api/v1/export`` and checked against ``vm_rows_added_to_storage_total``.
"""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest

from campusguard.errors import StorageError
from campusguard.metric import Metric, UInt
from campusguard.selfmetrics import SelfMetrics
from collector.storage.base import BatchId, Query
from collector.storage.influx_sender import SenderOptions
from collector.storage.influx_v2 import InfluxV2Storage
from tests.collector.storage_influx.helpers import numbered, v2_storage
from tests.collector.storage_influx.servers import DatabaseServer, vm_export, vm_rows_added
from tests.servers import wait_until


def _samples(
    server: DatabaseServer, match: str
) -> dict[tuple[str, tuple[tuple[str, str], ...]], list[tuple[int, float]]]:
    out: dict[tuple[str, tuple[tuple[str, str], ...]], list[tuple[int, float]]] = {}
    for item in vm_export(server, match):
        labels = dict(item["metric"])  # type: ignore[call-overload]
        name = labels.pop("__name__")
        key = (str(name), tuple(sorted((str(k), str(v)) for k, v in labels.items())))
        pairs = zip(item["timestamps"], item["values"], strict=True)  # type: ignore[call-overload]
        out.setdefault(key, []).extend((int(t), float(v)) for t, v in pairs)
    return {k: sorted(v) for k, v in out.items()}


def test_numeric_fields_arrive_exactly(victoria: DatabaseServer, tmp_path: Path) -> None:
    metrics = SelfMetrics("collector")
    store = v2_storage(victoria, tmp_path / "state", metrics)
    store.open()
    t_ms = time.time_ns() // 1_000_000 - 60_000
    points = [
        Metric(
            "energy",
            {"building": b, "meter": "m 1"},
            {"kwh": 1000.25 + i, "count": i, "total": UInt(2**40 + i), "on": i % 2 == 0},
            (t_ms + i) * 1_000_000,
        )
        for b in ("a", "b")
        for i in range(50)
    ]
    try:
        assert store.write(points, BatchId("gw", "e", 1))
        assert not store.write(points, BatchId("gw", "e", 1))
        assert store.flush(10)
    finally:
        store.close()
    assert wait_until(lambda: vm_rows_added(victoria) >= 400, 10)
    got = _samples(victoria, '{__name__=~"energy_.*"}')
    expected: dict[tuple[str, tuple[tuple[str, str], ...]], list[tuple[int, float]]] = {}
    for p in points:
        assert p.time_ns is not None
        tags = tuple(sorted(p.tags.items()))
        for field, value in p.fields.items():
            expected.setdefault((f"energy_{field}", tags), []).append(
                (p.time_ns // 1_000_000, float(value))
            )
    assert got == expected
    assert vm_rows_added(victoria) == 400
    sent = metrics.value("campusguard_metrics_sent_total", plugin="influxdb_v2", stage="output")
    assert sent == 100


def test_spooled_batches_survive_the_database_away_and_a_restart(
    victoria: DatabaseServer, tmp_path: Path
) -> None:
    victoria.stop()
    store = v2_storage(victoria, tmp_path / "state")
    store.open()
    for k in range(8):
        assert store.write(numbered("away", k * 250, 250), BatchId("gw", "e", k))
    store.close()
    victoria.start()
    again = v2_storage(victoria, tmp_path / "state")
    again.open()
    try:
        assert again.flush(20)
    finally:
        again.close()
    [(_, samples)] = _samples(victoria, "away_n").items()
    assert [v for _, v in samples] == [float(i) for i in range(2_000)]


def test_database_stopped_mid_stream_loses_nothing(
    victoria: DatabaseServer, tmp_path: Path
) -> None:
    """VictoriaMetrics keeps its last second of accepted rows in memory (a SIGKILL loses them,
    by its design), so it is stopped with SIGTERM here; influxd takes the SIGKILL test."""
    total = 20_000
    options = SenderOptions(
        batch_size=5_000, flush_interval=0.05, retry_min=0.05, retry_max=0.5, drain_timeout=0.0
    )
    store = v2_storage(victoria, tmp_path / "state", options=options)
    store.open()
    try:
        for k in range(0, total // 2, 1_000):
            store.write(numbered("vmstream", k, 1_000), BatchId("gw", "e", k))
        assert wait_until(lambda: store.sender.delivered_lines > 0, 20, 0.002)
        victoria.stop()
        for k in range(total // 2, total, 1_000):
            store.write(numbered("vmstream", k, 1_000), BatchId("gw", "e", k))
        victoria.start()
        assert store.flush(30)
    finally:
        store.close()
    [(_, samples)] = _samples(victoria, "vmstream_n").items()
    values = [v for _, v in samples]
    assert len(values) == total
    assert sorted(values) == [float(i) for i in range(total)]


def test_reads_are_refused_plainly(victoria: DatabaseServer, tmp_path: Path) -> None:
    store = v2_storage(victoria, tmp_path / "state")
    store.open()
    try:
        for call in (lambda: store.query(Query("x")), store.series, store.counts_by_measurement):
            with pytest.raises(StorageError, match="not supported by this backend yet"):
                call()
    finally:
        store.close()


def test_influxql_reads_through_the_compatibility_endpoint(
    influxd: DatabaseServer, tmp_path: Path
) -> None:
    """With ``influxql`` on, the v2 backend reads over ``/query?db=<bucket>`` with its token.
    influxd 1.6.7 has that endpoint (not ``/api/v2/write``), so the data goes in over /write."""
    httpx.post(influxd.url + "/query", data={"q": "CREATE DATABASE campus"}).raise_for_status()
    t = time.time_ns() // 10**9 * 10**9 - 3_600 * 10**9
    body = "".join(
        f"door,room=101 open={str(i % 2 == 0).lower()} {t + i * 10**9}\n" for i in range(4)
    )
    httpx.post(influxd.url + "/write", params={"db": "campus"}, content=body).raise_for_status()
    store = InfluxV2Storage(influxd.url, "tok", "org", "campus", tmp_path, influxql=True)
    store.open()
    try:
        [result] = store.query(Query("door"))
        counts = store.counts_by_measurement()
        series = store.series("door")
    finally:
        store.close()
    assert result.values == [[t + i * 10**9, i % 2 == 0] for i in range(4)]
    assert counts == {"door": 4}
    assert [s.tags for s in series] == [{"room": "101"}]
