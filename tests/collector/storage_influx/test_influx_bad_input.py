"""Lines a real influxd refuses go to the dead-letter file, counted; the rest is written."""

from __future__ import annotations

import time
from pathlib import Path

from campusguard.metric import Metric
from campusguard.selfmetrics import SelfMetrics
from collector.storage.influx_deliver import deliver
from tests.collector.storage_influx.helpers import v1_storage
from tests.collector.storage_influx.servers import DatabaseServer, influxql


def _values(server: DatabaseServer, statement: str) -> list[list[object]]:
    answer = influxql(server, "campus", statement)
    results = answer["results"]
    assert isinstance(results, list)
    series = results[0].get("series", [])
    return [row for s in series for row in s["values"]]


def test_field_type_conflicts_are_set_aside(influxd: DatabaseServer, tmp_path: Path) -> None:
    metrics = SelfMetrics("collector")
    store = v1_storage(influxd, tmp_path / "state", metrics)
    store.open()
    t = time.time_ns()
    try:
        assert store.write([Metric("conflict", {}, {"f": 1}, t)])
        assert store.flush(10)
        mixed = [
            Metric("conflict", {}, {"f": "text"}, t + 1),  # f is an integer already
            Metric("conflict", {}, {"f": 2}, t + 2),
            Metric("conflict", {}, {"f": 2.5}, t + 3),  # a float is a conflict too
            Metric("other", {}, {"g": 1.0}, t + 4),
            Metric("conflict", {"k": "v"}, {"f": True}, t + 5),
            Metric("conflict", {}, {"f": 3}, t + 6),
        ]
        assert store.write(mixed)
        assert store.flush(10)
        dead = store.sender.dead_letters.read()
    finally:
        store.close()
    assert [d["line"] for d in dead] == [
        f'conflict f="text" {t + 1}',
        f"conflict f=2.5 {t + 3}",
        f"conflict,k=v f=true {t + 5}",
    ]
    assert all("field type conflict" in str(d["error"]) for d in dead)
    dropped = metrics.value(
        "campusguard_metrics_dropped_total",
        plugin="influxdb_v1",
        stage="output",
        reason="dead_letter",
    )
    assert dropped == 3
    assert _values(influxd, 'SELECT f FROM "campusguard"."conflict"') == [
        [t, 1],
        [t + 2, 2],
        [t + 6, 3],
    ]
    assert _values(influxd, 'SELECT g FROM "campusguard"."other"') == [[t + 4, 1]]


def test_a_conflict_inside_one_request_is_narrowed_by_halving(
    influxd: DatabaseServer, tmp_path: Path
) -> None:
    """influxd refuses such a request whole, naming no line: halves find the bad one."""
    store = v1_storage(influxd, tmp_path / "state")
    store.open()
    t = time.time_ns()
    try:
        points = [Metric("fresh", {}, {"x": i}, t + i) for i in range(20)]
        points.insert(13, Metric("fresh", {}, {"x": "oops"}, t + 100))
        assert store.write(points)
        assert store.flush(10)
        dead = store.sender.dead_letters.read()
    finally:
        store.close()
    assert [d["line"] for d in dead] == [f'fresh x="oops" {t + 100}']
    assert [row[1] for row in _values(influxd, 'SELECT x FROM "campusguard"."fresh"')] == list(
        range(20)
    )


def test_unparsable_lines_are_found_by_their_quoted_text(
    influxd: DatabaseServer, tmp_path: Path
) -> None:
    store = v1_storage(influxd, tmp_path / "state")
    store.open()  # creates the database
    try:
        t = time.time_ns()
        body = f"raw a=1 {t}\nraw a=bad= {t + 1}\nraw a=3 {t + 2}\nraw b=1x {t + 3}\n".encode()
        outcome = deliver(body, store._post)
    finally:
        store.close()
    assert [line for line, _ in outcome.dead] == [
        f"raw a=bad= {t + 1}".encode(),
        f"raw b=1x {t + 3}".encode(),
    ]
    assert outcome.written == 2
    assert [row[1] for row in _values(influxd, 'SELECT a FROM "campusguard"."raw"')] == [1, 3]
