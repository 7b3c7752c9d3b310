"""The InfluxDB 1.x backend against a real influxd 1.6.7."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from campusguard.errors import StorageError
from campusguard.metric import Metric, UInt
from campusguard.selfmetrics import SelfMetrics
from collector.storage.base import BatchId, Query, SeriesInfo
from collector.storage.influx_sender import SenderOptions
from collector.storage.influx_v1 import AUDIT_MIN_NS, InfluxV1Storage
from tests.collector.storage_influx.helpers import FAST, numbered, v1_storage
from tests.collector.storage_influx.servers import DatabaseServer, influxql

FIELDS_1: dict[str, float | int | str | bool] = {
    "f": 1.0,
    "neg": -2.5e-7,
    "i": -(2**63),
    "u": UInt(2**63 - 1),
    "s": 'quote " back\\slash, comma = 你好',
    "b": True,
}
FIELDS_2: dict[str, float | int | str | bool] = {
    "f": 123456789.125,
    "neg": 0.0,
    "i": 2**63 - 1,
    "u": UInt(0),
    "s": "line one\nline two",
    "b": False,
}


def test_every_field_type_reads_back_exactly(influxd: DatabaseServer, tmp_path: Path) -> None:
    store = v1_storage(influxd, tmp_path / "state")
    store.open()
    try:
        t = time.time_ns()
        tags = {"site": "whdv", "room": "a 1,=x"}
        written = [
            Metric("types", tags, dict(FIELDS_1), t),
            Metric("types", tags, dict(FIELDS_2), t + 1),
        ]
        assert store.write(written)
        assert store.flush(10)
        [result] = store.query(Query("types"))
    finally:
        store.close()
    assert result.tags == tags
    assert result.columns == ["time", "b", "f", "i", "neg", "s", "u"]
    for row, fields in zip(result.values, (FIELDS_1, FIELDS_2), strict=True):
        expected = {k: (int(v) if isinstance(v, UInt) else v) for k, v in fields.items()}
        got = dict(zip(result.columns[1:], row[1:], strict=True))
        assert got == expected
        # kinds too: 1.0 stays a float, ints stay ints, bools stay bools
        assert {k: type(v) for k, v in got.items()} == {k: type(v) for k, v in expected.items()}
    assert [row[0] for row in result.values] == [t, t + 1]


def test_database_and_retention_policy_are_created(influxd: DatabaseServer, tmp_path: Path) -> None:
    store = v1_storage(influxd, tmp_path / "state", database="audit")
    store.open()
    try:
        policies = {p.name: p for p in store.retention_report()}
    finally:
        store.close()
    ours = policies["campusguard"]
    assert ours.default
    assert ours.days == 400
    assert ours.duration_ns >= AUDIT_MIN_NS


def test_a_too_short_retention_policy_is_refused(influxd: DatabaseServer, tmp_path: Path) -> None:
    influxql(influxd, "", "CREATE DATABASE short")
    influxql(
        influxd,
        "short",
        'CREATE RETENTION POLICY "campusguard" ON short DURATION 30d REPLICATION 1',
    )
    store = v1_storage(influxd, tmp_path / "state", database="short")
    with pytest.raises(StorageError, match="180 days"):
        store.open()


def test_reads_series_counts_windows(influxd: DatabaseServer, tmp_path: Path) -> None:
    store = v1_storage(influxd, tmp_path / "state")
    store.open()
    try:
        base = (time.time_ns() // 10**10 - 360) * 10**10  # an hour ago, on a 10 s boundary
        points = [
            Metric("power", {"building": b}, {"w": float(i), "n": i}, base + i * 10**9)
            for b in ("a", "b")
            for i in range(10)
        ]
        store.write(points)
        store.write([Metric("door", {"room": "101"}, {"open": True}, base)])
        assert store.flush(10)
        series = store.series("power")
        counts = store.counts_by_measurement()
        windows = store.query(
            Query("power", fields=["w"], window_ns=5 * 10**9, agg="sum", group_by=[])
        )
        by_tag = store.query(Query("power", tags={"building": "b"}, start_ns=base + 8 * 10**9))
        counted = store.query(Query("power", fields=["n"], window_ns=10**10, agg="count"))
    finally:
        store.close()
    assert series == [
        SeriesInfo("power", {"building": "a"}, ("n", "w")),
        SeriesInfo("power", {"building": "b"}, ("n", "w")),
    ]
    assert counts == {"door": 1, "power": 20}
    [merged] = windows
    assert merged.values == [[base, 20.0], [base + 5 * 10**9, 70.0]]
    [only_b] = by_tag
    assert only_b.tags == {"building": "b"}
    assert only_b.values == [[base + 8 * 10**9, 8, 8.0], [base + 9 * 10**9, 9, 9.0]]
    assert sorted(r.tags["building"] for r in counted) == ["a", "b"]
    assert all(r.values == [[base, 10]] for r in counted)


def test_a_retried_agent_batch_is_spooled_once(influxd: DatabaseServer, tmp_path: Path) -> None:
    metrics = SelfMetrics("collector")
    store = v1_storage(influxd, tmp_path / "state", metrics)
    store.open()
    batch = BatchId("gw1", "e1", 7)
    points = numbered("dedupe", 0, 100)
    try:
        assert store.write(points, batch)
        assert not store.write(points, batch)
        assert not store.write(points, BatchId("gw1", "e1", 6))
        assert store.write(points, BatchId("gw1", "e2", 1))  # a new epoch starts anew
        assert store.flush(10)
    finally:
        store.close()
    reopened = v1_storage(influxd, tmp_path / "state", metrics)
    reopened.open()
    try:
        assert not reopened.write(points, batch)  # the ledger survives a restart
    finally:
        reopened.close()
    sent = metrics.value("campusguard_metrics_sent_total", plugin="influxdb_v1", stage="output")
    assert sent == 200


def test_spooled_batches_are_delivered_after_a_collector_restart(
    influxd: DatabaseServer, tmp_path: Path
) -> None:
    influxd.kill()  # the database is away while the collector spools
    store = v1_storage(influxd, tmp_path / "state")
    store.open()
    for k in range(10):
        assert store.write(numbered("restart", k * 300, 300), BatchId("gw", "e", k))
    assert store.pending_records == 10
    store.close()  # nothing could be delivered: it all stays on disk

    influxd.start()
    again = v1_storage(influxd, tmp_path / "state")
    again.open()
    try:
        assert again.flush(20)
        assert not again.write(numbered("restart", 0, 300), BatchId("gw", "e", 9))
    finally:
        again.close()
    answer = influxql(influxd, "campus", 'SELECT count(n), sum(n) FROM "campusguard"."restart"')
    assert _first_row(answer)[1:] == [3000, sum(range(3000))]


def test_unsigned_beyond_int64_goes_to_dead_letters(
    influxd: DatabaseServer, tmp_path: Path
) -> None:
    metrics = SelfMetrics("collector")
    store = InfluxV1Storage(
        influxd.url, "campus", tmp_path / "state", options=FAST, metrics=metrics
    )
    store.open()
    try:
        t = time.time_ns()
        assert store.write(
            [
                Metric("u", {}, {"v": UInt(2**64 - 1)}, t),
                Metric("u", {}, {"v": UInt(5)}, t + 1),
            ]
        )
        assert store.flush(10)
        dead = store.sender.dead_letters.read()
    finally:
        store.close()
    assert [d["line"] for d in dead] == [f"u v={2**64 - 1}u {t}"]
    assert "int64" in str(dead[0]["error"])
    assert _first_row(influxql(influxd, "campus", 'SELECT v FROM "campusguard"."u"')) == [t + 1, 5]


def _first_row(answer: dict[str, object]) -> list[object]:
    results = answer["results"]
    assert isinstance(results, list)
    row: list[object] = results[0]["series"][0]["values"][0]
    return row


def test_a_full_spool_refuses_writes_and_counts_them(
    influxd: DatabaseServer, tmp_path: Path
) -> None:
    """While the database is away and the spool is at its cap, writes fail (the collector
    answers 503, the agent keeps the batch): refused, counted, never silently dropped."""
    influxd.kill()
    metrics = SelfMetrics("collector")
    options = SenderOptions(flush_interval=0.05, spool_max_bytes=64 << 10, drain_timeout=0.0)
    store = v1_storage(influxd, tmp_path / "state", metrics, options=options)
    store.open()
    try:
        refused = 0
        for k in range(40):
            try:
                store.write(numbered("full", k * 100, 100), BatchId("gw", "e", k))
            except StorageError:
                refused += 1
        assert 0 < refused < 40
        held = store.pending_records
        assert held == 40 - refused
    finally:
        store.close()
    spool_full = metrics.value(
        "campusguard_metrics_dropped_total",
        plugin="influxdb_v1",
        stage="spool",
        reason="spool_full",
    )
    assert spool_full == refused
    influxd.start()
    again = v1_storage(influxd, tmp_path / "state", options=options)
    again.open()
    try:
        assert again.flush(20)
    finally:
        again.close()
    answer = influxql(influxd, "campus", 'SELECT count(n) FROM "campusguard"."full"')
    assert _first_row(answer)[1] == held * 100
