"""Retention classes in the SQLite store: raw points downsampled after ``keep``, audit points
kept at full resolution, everything deleted after its class's total keep; the expected values
are computed here from the points written, independently of the store's SQL."""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

import pytest

from campusguard.catalog import Catalog
from campusguard.config.loader import load_yaml_text
from campusguard.errors import ConfigError
from campusguard.metric import Metric
from collector.settings import CollectorSettings
from collector.storage.base import Query
from collector.storage.retention_plan import (
    NS_PER_DAY,
    RawClassSettings,
    RetentionPlan,
    RetentionSettings,
)
from collector.storage.sqlite import SqliteStorage

S = 1_000_000_000


def at(m: Metric) -> int:
    assert m.time_ns is not None
    return m.time_ns


BUCKET = 300 * S
NOW = 1_750_000_000 * S - (1_750_000_000 * S) % BUCKET + 17 * S  # not on a bucket boundary


def plan(
    keep_days: float = 1, down_keep_days: float = 10, retention_days: float = 20
) -> RetentionPlan:
    settings = RetentionSettings(
        raw=RawClassSettings(
            keep=keep_days * 86_400, downsample=300, downsampled_keep=down_keep_days * 86_400
        )
    )
    return RetentionPlan.build(settings, retention_days * 86_400, Catalog.load())


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqliteStorage]:
    s = SqliteStorage(tmp_path / "db.sqlite3", plan=plan())
    s.open()
    yield s
    s.close()


def env(t: int, i: int, room: str = "lab-1") -> Metric:
    """An ``environment`` point (raw class) with float, int, bool and string fields."""
    return Metric(
        "environment",
        {"room": room},
        {
            "temperature_c": 20.0 + (i % 7) * 0.5,
            "battery_pct": 50 + i % 3,
            "smoke": i % 50 == 3,
            "source": f"s{i}",
        },
        t,
    )


def rows(store: SqliteStorage, measurement: str) -> dict[tuple[str, int], dict[str, object]]:
    out: dict[tuple[str, int], dict[str, object]] = {}
    query = Query(measurement=measurement, start_ns=0, end_ns=NOW + S, limit=1_000_000)
    for series in store.query(query):
        room = series.tags.get("room", "")
        for row in series.values:
            assert isinstance(row[0], int)
            out[(room, row[0])] = dict(zip(series.columns[1:], row[1:], strict=True))
    return out


def test_raw_points_older_than_keep_become_bucket_means(store: SqliteStorage) -> None:
    start = NOW - 2 * NS_PER_DAY
    points = [env(start + i * 10 * S, i) for i in range(2 * 8640)]  # every 10 s for 2 days
    points += [env(start + i * 60 * S, i, room="lab-2") for i in range(2 * 1440)]
    store.write(points)
    audit = [
        Metric("syslog", {"host": "sw1"}, {"message": f"m{i}"}, start + i * 10 * S)
        for i in range(500)
    ]
    store.write(audit)

    cutoff = NOW - NS_PER_DAY
    cutoff -= cutoff % BUCKET
    expected: dict[tuple[str, int], list[Metric]] = defaultdict(list)
    for p in points:
        if at(p) < cutoff:
            expected[(p.tags["room"], at(p) - at(p) % BUCKET)].append(p)

    store.apply_retention(NOW)
    assert store.last_downsample.written > 0

    got = rows(store, "environment")
    for key, members in expected.items():
        row = got[key]
        assert row["temperature_c"] == pytest.approx(
            statistics.fmean(float(m.fields["temperature_c"]) for m in members)
        )
        assert row["battery_pct"] == round(
            statistics.fmean(int(m.fields["battery_pct"]) for m in members)
        )
        assert row["smoke"] is any(m.fields["smoke"] for m in members)
        assert row["source"] == max(members, key=at).fields["source"]
    old = {k for k in got if k[1] < cutoff}
    assert old == set(expected), "exactly one point per series and bucket before the cut-off"
    recent = {(p.tags["room"], at(p)) for p in points if at(p) >= cutoff}
    assert recent <= set(got), "points younger than keep are untouched"
    assert len(got) == len(expected) + len(recent)
    # audit class: every point kept at full resolution
    assert len(rows(store, "syslog")) == 500

    # a second pass changes nothing
    store.apply_retention(NOW)
    assert store.last_downsample.replaced == 0
    assert rows(store, "environment") == got


def test_later_passes_continue_where_the_last_stopped(store: SqliteStorage) -> None:
    start = NOW - 3 * NS_PER_DAY
    store.write([env(start + i * 30 * S, i) for i in range(3 * 2880)])
    store.apply_retention(NOW - NS_PER_DAY)  # downsamples up to now - 2 days
    first = store.last_downsample
    store.apply_retention(NOW)  # one more day
    second = store.last_downsample
    assert first.written == pytest.approx(4 * 288, abs=8)  # 4 fields per bucket
    assert second.written == pytest.approx(4 * 288, abs=8)
    got = rows(store, "environment")
    cutoff = (NOW - NS_PER_DAY) - (NOW - NS_PER_DAY) % BUCKET
    assert all(t % BUCKET == 0 for (_, t) in got if t < cutoff)
    assert sum(1 for (_, t) in got if t >= cutoff) == sum(
        1 for i in range(3 * 2880) if start + i * 30 * S >= cutoff
    )


def test_downsampled_points_are_deleted_after_their_own_keep(tmp_path: Path) -> None:
    store = SqliteStorage(tmp_path / "db.sqlite3", plan=plan(keep_days=1, down_keep_days=3))
    store.open()
    try:
        start = NOW - 5 * NS_PER_DAY
        store.write([env(start + i * 600 * S, i) for i in range(5 * 144)])
        store.write([Metric("syslog", {}, {"message": "old"}, start)])
        store.apply_retention(NOW)
        times = [t for (_, t) in rows(store, "environment")]
        assert min(times) >= NOW - 3 * NS_PER_DAY
        assert len(rows(store, "syslog")) == 1, "audit keeps the collector's retention (20 d)"
        assert store.keep_ns("environment") == 3 * NS_PER_DAY
        assert store.keep_ns("syslog") == 20 * NS_PER_DAY
        assert store.keep_ns("not_in_catalog") == 20 * NS_PER_DAY
    finally:
        store.close()


def test_plan_defaults_follow_the_collector_retention() -> None:
    settings = CollectorSettings()
    p = RetentionPlan.build(settings.retention_classes, settings.retention, Catalog.load())
    raw, audit = p.classes["raw"], p.classes["audit"]
    assert raw.keep_ns == 30 * NS_PER_DAY and raw.downsample_ns == 300 * S
    assert raw.total_keep_ns == 400 * NS_PER_DAY
    assert audit.keep_ns == 400 * NS_PER_DAY and audit.meets_floor
    assert p.policy("security_event").name == "audit"
    assert p.policy("interface").name == "raw"
    assert p.policy("made_up").name == "other"


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("retention_classes:\n  audit:\n    keep: 90d\n", 3, "at least 180 days"),
        ("retention_classes:\n  raw:\n    downsample: 1s\n", 3, "between 10 s and 1 day"),
        ("retention_classes:\n  audit: {keep: 400d, downsample: 5m}\n", 2, "full resolution"),
        ("retention_classes:\n  raw: {keep: 2h}\n", 2, "at least 1 day"),
        ("retention_classes:\n  hot: {keep: 2d}\n", 2, "hot"),
    ],
)
def test_bad_retention_classes_are_refused_with_file_and_line(
    text: str, line: int, message: str
) -> None:
    with pytest.raises(ConfigError) as info:
        load_yaml_text(text, CollectorSettings, "collector.yaml")
    rendered = str(info.value)
    assert f"collector.yaml:{line}:" in rendered, rendered
    assert message in rendered
