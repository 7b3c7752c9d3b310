"""The SQLite store against hand-computed answers: semantics, kinds, aggregates, retention."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from campusguard import lineprotocol_parse
from campusguard.errors import StorageError
from campusguard.lineprotocol import encode, parse, parse_points
from campusguard.metric import (
    INT64_MAX,
    INT64_MIN,
    UINT64_MAX,
    FieldValue,
    Metric,
    UInt,
    field_kind,
)
from collector.storage import sqlite_schema, sqlite_write
from collector.storage.base import BatchId, Cell, Query, SeriesResult
from collector.storage.sqlite import NS_PER_DAY, SqliteStorage

S = 1_000_000_000
T0 = 1_700_000_040 * S  # a multiple of 60 s: 60 s windows start here


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqliteStorage]:
    s = SqliteStorage(tmp_path / "db" / "points.sqlite3")
    s.open()
    yield s
    s.close()


def rows(results: list[SeriesResult]) -> list[list[Cell]]:
    assert len(results) == 1, results
    return results[0].values


def typed(row: Sequence[Cell]) -> list[tuple[str, Cell]]:
    return [("none", v) if v is None else (field_kind(v), v) for v in row]


def test_same_series_and_time_replaces_field_by_field(store: SqliteStorage) -> None:
    store.write([Metric("env", {"room": "101"}, {"temp": 20.5, "hum": 40}, T0)])
    store.write([Metric("env", {"room": "101"}, {"temp": 21.0, "co2": 600}, T0)])
    store.write([Metric("env", {"room": "101"}, {"temp": 22.0}, T0 + S)])
    (result,) = store.query(Query("env"))
    assert result.columns == ["time", "co2", "hum", "temp"]
    assert result.values == [[T0, 600, 40, 21.0], [T0 + S, None, None, 22.0]]
    assert store.counts_by_measurement() == {"env": 2}
    assert store.row_count() == 4


def test_later_point_in_one_batch_wins(store: SqliteStorage) -> None:
    store.write(
        [
            Metric("env", {"room": "1"}, {"temp": 1.0}, T0),
            Metric("env", {"room": "1"}, {"temp": 2.0}, T0),
        ]
    )
    assert rows(store.query(Query("env"))) == [[T0, 2.0]]


def test_field_kinds_round_trip_including_uint_above_int64(store: SqliteStorage) -> None:
    fields: dict[str, FieldValue] = {
        "u_max": UInt(UINT64_MAX),
        "u_big": UInt(2**63),
        "u_small": UInt(7),
        "i_min": INT64_MIN,
        "i_max": INT64_MAX,
        "f": 1.5,
        "f_int": 2.0,
        "s": "line1\nline2 ✓",
        "b": True,
        "b0": False,
    }
    store.write([Metric("kinds", {}, fields, T0)])
    (result,) = store.query(Query("kinds"))
    got = dict(zip(result.columns[1:], result.values[0][1:], strict=True))
    assert typed([got[k] for k in fields]) == typed(list(fields.values()))
    store.close()
    store.open()
    (again,) = store.query(Query("kinds", fields=["u_max", "b0"]))
    assert typed(again.values[0]) == [("int", T0), ("uint", UINT64_MAX), ("bool", False)]


def test_min_max_of_big_uints_are_exact(store: SqliteStorage) -> None:
    values = [UInt(UINT64_MAX - 1), UInt(UINT64_MAX), UInt(3), UInt(2**63 + 5)]
    store.write([Metric("c", {}, {"v": v}, T0 + i * S) for i, v in enumerate(values)])
    q = Query("c", window_ns=60 * S, agg="max")
    assert typed(rows(store.query(q))[0]) == [("int", T0), ("uint", UINT64_MAX)]
    q = Query("c", window_ns=60 * S, agg="min")
    assert typed(rows(store.query(q))[0]) == [("int", T0), ("uint", 3)]
    q = Query("c", window_ns=60 * S, agg="sum")
    assert rows(store.query(q))[0][1] == pytest.approx(float(sum(values)))


def window_data(store: SqliteStorage) -> None:
    # Window 1 [T0, T0+60s): 1, 2, 3, 6 at 0, 10, 20, 50 s; window 2: 10, 20 at 60, 90 s;
    # window 3 is empty; window 4: a string only (counted, not averaged).
    points = [(0, 1), (10, 2), (20, 3), (50, 6), (60, 10), (90, 20)]
    store.write([Metric("m", {"d": "a"}, {"v": v}, T0 + t * S) for t, v in points])
    store.write([Metric("m", {"d": "a"}, {"note": "hi"}, T0 + 190 * S)])


@pytest.mark.parametrize(
    ("agg", "expected"),
    [
        ("mean", [[T0, 3.0, None], [T0 + 60 * S, 15.0, None]]),
        ("max", [[T0, 6, None], [T0 + 60 * S, 20, None]]),
        ("min", [[T0, 1, None], [T0 + 60 * S, 10, None]]),
        ("sum", [[T0, 12, None], [T0 + 60 * S, 30, None]]),
        ("count", [[T0, 4, None], [T0 + 60 * S, 2, None], [T0 + 180 * S, None, 1]]),
        ("last", [[T0, 6, None], [T0 + 60 * S, 20, None], [T0 + 180 * S, None, "hi"]]),
        ("first", [[T0, 1, None], [T0 + 60 * S, 10, None], [T0 + 180 * S, None, "hi"]]),
    ],
)
def test_window_aggregates(store: SqliteStorage, agg: str, expected: list[list[object]]) -> None:
    window_data(store)
    (result,) = store.query(Query("m", fields=["v", "note"], window_ns=60 * S, agg=agg))
    assert result.columns == ["time", "v", "note"]
    assert result.values == expected
    assert typed(result.values[0])[1][0] == ("float" if agg == "mean" else "int")


def test_windows_respect_range_and_limit(store: SqliteStorage) -> None:
    window_data(store)
    q = Query("m", fields=["v"], start_ns=T0 + 10 * S, end_ns=T0 + 90 * S, window_ns=60 * S)
    assert rows(store.query(q)) == [[T0, (2 + 3 + 6) / 3], [T0 + 60 * S, 10.0]]
    q = Query("m", fields=["v"], window_ns=60 * S, agg="count", limit=1)
    assert rows(store.query(q)) == [[T0, 4]]


def test_raw_range_is_start_inclusive_end_exclusive_and_limited(store: SqliteStorage) -> None:
    store.write([Metric("m", {}, {"v": i}, T0 + i * S) for i in range(10)])
    q = Query("m", start_ns=T0 + 2 * S, end_ns=T0 + 5 * S)
    assert rows(store.query(q)) == [[T0 + i * S, i] for i in (2, 3, 4)]
    assert rows(store.query(Query("m", limit=2))) == [[T0, 0], [T0 + S, 1]]
    assert store.query(Query("m", start_ns=T0 + 10 * S)) == []
    assert store.query(Query("m", fields=["nope"])) == []
    assert store.query(Query("other")) == []


def campus(store: SqliteStorage) -> None:
    store.write(
        [
            Metric("if", {"site": "north", "device": "sw1", "ifname": "ge1"}, {"in": 1.0}, T0),
            Metric("if", {"site": "north", "device": "sw1", "ifname": "ge2"}, {"in": 2.0}, T0),
            Metric("if", {"site": "north", "device": "sw2", "ifname": "ge1"}, {"in": 4.0}, T0),
            Metric("if", {"site": "south", "device": "sw9", "ifname": "ge1"}, {"in": 8.0}, T0),
            Metric("if", {"site": "south", "device": "sw9", "ifname": "ge1"}, {"in": 16.0}, T0 + S),
        ]
    )


def test_tag_filters_are_exact(store: SqliteStorage) -> None:
    campus(store)
    res = store.query(Query("if", tags={"site": "north", "ifname": "ge1"}))
    assert [(r.tags["device"], r.values) for r in res] == [
        ("sw1", [[T0, 1.0]]),
        ("sw2", [[T0, 4.0]]),
    ]
    assert store.query(Query("if", tags={"site": "nort"})) == []
    assert store.query(Query("if", tags={"room": "1"})) == []


def test_group_by_merges_series(store: SqliteStorage) -> None:
    campus(store)
    res = store.query(Query("if", window_ns=60 * S, agg="sum", group_by=["site"]))
    assert [(r.tags, r.values) for r in res] == [
        ({"site": "north"}, [[T0, 7.0]]),
        ({"site": "south"}, [[T0, 24.0]]),
    ]
    (everything,) = store.query(Query("if", window_ns=60 * S, agg="count", group_by=[]))
    assert everything.tags == {} and everything.values == [[T0, 5]]
    raw = store.query(Query("if", tags={"site": "south"}, group_by=["device", "building"]))
    assert [(r.tags, r.values) for r in raw] == [
        ({"device": "sw9", "building": ""}, [[T0, 8.0], [T0 + S, 16.0]])
    ]


def test_series_listing(store: SqliteStorage) -> None:
    campus(store)
    store.write([Metric("env", {"room": "7"}, {"temp": 1.0, "hum": 2}, T0)])
    listed = store.series(measurement="if", tags={"device": "sw1"})
    assert [(s.measurement, dict(s.tags), s.fields) for s in listed] == [
        ("if", {"device": "sw1", "ifname": "ge1", "site": "north"}, ("in",)),
        ("if", {"device": "sw1", "ifname": "ge2", "site": "north"}, ("in",)),
    ]
    assert [s.measurement for s in store.series()] == ["env", "if", "if", "if", "if"]
    assert store.series()[0].fields == ("hum", "temp")
    assert len(store.series(limit=2)) == 2
    assert store.counts_by_measurement() == {"env": 1, "if": 5}


def test_duplicate_batches_are_ignored(store: SqliteStorage) -> None:
    def m(v: int) -> list[Metric]:
        return [Metric("m", {}, {"v": v}, T0 + v * S)]

    assert store.write(m(1), BatchId("gw", "e1", 1))
    assert not store.write(m(2), BatchId("gw", "e1", 1))
    assert not store.write(m(3), BatchId("gw", "e1", 0))
    assert store.write(m(4), BatchId("gw", "e1", 5))
    assert store.write(m(5), BatchId("gw", "e2", 1))
    assert store.write(m(6), BatchId("pi", "e1", 1))
    assert store.row_count() == 4
    store.close()
    store.open()
    assert not store.write(m(7), BatchId("gw", "e1", 5))
    assert store.write(m(8), BatchId("gw", "e1", 6))
    assert [r[1] for r in rows(store.query(Query("m")))] == [1, 4, 5, 6, 8]


def test_a_failed_write_stores_nothing_and_keeps_the_batch_open(store: SqliteStorage) -> None:
    bad = [Metric("m", {"a": "1"}, {"v": 1}, T0), Metric("n", {}, {"v": 2}, None)]
    with pytest.raises(ValueError, match="no timestamp"):
        store.write(bad, BatchId("gw", "e", 1))
    assert store.row_count() == 0
    assert store.series() == []
    # The series id that was rolled back must not stay cached.
    assert store.write([Metric("m", {"a": "1"}, {"v": 3}, T0)], BatchId("gw", "e", 1))
    assert rows(store.query(Query("m"))) == [[T0, 3]]


def test_restart_keeps_data(tmp_path: Path) -> None:
    path = tmp_path / "x.sqlite3"
    first = SqliteStorage(path)
    first.open()
    campus(first)
    first.close()
    second = SqliteStorage(path)
    second.open()
    assert second.counts_by_measurement() == {"if": 5}
    second.write(
        [Metric("if", {"site": "south", "device": "sw9", "ifname": "ge1"}, {"out": 1}, T0)]
    )
    assert len(second.series()) == 4
    second.close()


def test_retention_deletes_only_old_points(tmp_path: Path) -> None:
    store = SqliteStorage(
        tmp_path / "r.sqlite3",
        retention_ns=10 * NS_PER_DAY,
        retention_by_measurement={"short": NS_PER_DAY},
        retention_chunk=7,
    )
    store.open()
    now = T0 + 100 * NS_PER_DAY
    old = [
        Metric("long", {"i": str(i % 3)}, {"a": 1, "b": 2}, now - 11 * NS_PER_DAY + i)
        for i in range(30)
    ]
    young = [Metric("long", {"i": "0"}, {"a": 1}, now - 9 * NS_PER_DAY)]
    short = [
        Metric("short", {}, {"v": 1}, now - 2 * NS_PER_DAY),
        Metric("short", {}, {"v": 2}, now - NS_PER_DAY),  # exactly at the cutoff: kept
    ]
    store.write(old + young + short)
    assert store.apply_retention(now) == 60 + 1
    assert store.counts_by_measurement() == {"long": 1, "short": 1}
    assert store.apply_retention(now) == 0
    store.close()


def test_closed_store_raises_storage_error(tmp_path: Path) -> None:
    store = SqliteStorage(tmp_path / "c.sqlite3")
    with pytest.raises(StorageError):
        store.write([Metric("m", {}, {"v": 1}, T0)])
    with pytest.raises(StorageError):
        store.query(Query("m"))
    (tmp_path / "dir.sqlite3").mkdir()
    with pytest.raises(StorageError, match="cannot open"):
        SqliteStorage(tmp_path / "dir.sqlite3").open()


def test_concurrent_writers_and_readers(store: SqliteStorage) -> None:
    errors: list[BaseException] = []

    def writer(n: int) -> None:
        try:
            for i in range(20):
                store.write([Metric("c", {"w": str(n)}, {"v": i}, T0 + i * S)])
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    def reader() -> None:
        try:
            for _ in range(20):
                store.query(Query("c", window_ns=60 * S, agg="count", group_by=[]))
                store.counts_by_measurement()
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(3)]
    threads += [threading.Thread(target=reader) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert errors == []
    assert store.counts_by_measurement() == {"c": 60}


field_values = st.one_of(
    st.floats(allow_nan=False, allow_infinity=False),
    st.integers(INT64_MIN, INT64_MAX),
    st.integers(0, UINT64_MAX).map(UInt),
    st.text(max_size=20),
    st.booleans(),
)


@settings(max_examples=60, deadline=None)
@given(
    fields=st.dictionaries(st.text(min_size=1, max_size=8), field_values, min_size=1, max_size=5),
    tags=st.dictionaries(st.text(min_size=1, max_size=8), st.text(min_size=1, max_size=8)),
)
def test_any_metric_round_trips(
    tmp_path_factory: pytest.TempPathFactory, fields: dict[str, FieldValue], tags: dict[str, str]
) -> None:
    store = SqliteStorage(tmp_path_factory.mktemp("rt") / "rt.sqlite3")
    store.open()
    try:
        store.write([Metric("rt", tags, fields, T0)])
        (result,) = store.query(Query("rt", tags=tags))
        assert result.tags == tags
        back = dict(zip(result.columns[1:], result.values[0][1:], strict=True))
        assert back.keys() == fields.keys()
        assert typed([back[k] for k in fields]) == typed(list(fields.values()))  # kinds too
    finally:
        store.close()


# --- write_points: parsed line protocol straight from the parser -----------------------------


def test_stored_kinds_are_the_parsers_kinds() -> None:
    # write_points stores the parser's kind codes as they are: they must be the same numbers.
    for name in ("KIND_FLOAT", "KIND_INT", "KIND_UINT", "KIND_STRING", "KIND_BOOL"):
        assert getattr(sqlite_schema, name) == getattr(lineprotocol_parse, name)


def everything(store: SqliteStorage) -> list[tuple[str, dict[str, str], list[str], object]]:
    out: list[tuple[str, dict[str, str], list[str], object]] = []
    for info in store.series():
        for r in store.query(Query(info.measurement, tags=dict(info.tags))):
            for row in r.values:
                out.append((r.measurement, r.tags, r.columns, typed(row)))
    return out


_names = st.sampled_from(["a", "b", "room", "f"])
_points = st.lists(
    st.builds(
        Metric,
        st.sampled_from(["env", "if"]),
        st.dictionaries(_names, st.sampled_from(["1", "2", "x y"]), max_size=3),
        st.dictionaries(_names, field_values, min_size=1, max_size=3),
        st.integers(T0, T0 + 3),
    ),
    min_size=1,
    max_size=12,
)


@settings(max_examples=40, deadline=None)
@given(bodies=st.lists(_points, min_size=1, max_size=3))
def test_write_points_stores_what_write_stores(
    tmp_path_factory: pytest.TempPathFactory, bodies: list[list[Metric]]
) -> None:
    """Same series, same replacements (within and across bodies), same kinds: both paths."""
    folder = tmp_path_factory.mktemp("wp")
    by_metrics = SqliteStorage(folder / "m.sqlite3")
    by_points = SqliteStorage(folder / "p.sqlite3")
    by_metrics.open()
    by_points.open()
    try:
        for metrics in bodies:
            text = encode(metrics)
            assert by_metrics.write(parse(text))
            assert by_points.write_points(parse_points(text))
        assert everything(by_points) == everything(by_metrics)
        assert by_points.row_count() == by_metrics.row_count()
        assert by_points.counts_by_measurement() == by_metrics.counts_by_measurement()
        assert by_points.series() == by_metrics.series()
    finally:
        by_metrics.close()
        by_points.close()


def test_one_series_whatever_the_tag_order_or_path(store: SqliteStorage) -> None:
    store.write_points(parse_points(f"env,room=1,site=n t=1 {T0}\nenv,site=n,room=1 t=2 {T0 + S}"))
    store.write([Metric("env", {"site": "n", "room": "1"}, {"t": 3.0}, T0 + 2 * S)])
    store.write_points(parse_points(f"env,site=n,room=1 h=4i {T0 + 3 * S}"))
    (result,) = store.query(Query("env"))
    assert result.columns == ["time", "h", "t"]
    assert result.values == [
        [T0, None, 1.0],
        [T0 + S, None, 2.0],
        [T0 + 2 * S, None, 3.0],
        [T0 + 3 * S, 4, None],
    ]
    assert store.series()[0].fields == ("h", "t")


def test_write_points_kinds_round_trip(store: SqliteStorage) -> None:
    body = f'k u={UINT64_MAX}u,v=2u,i={INT64_MIN}i,f=2.0,s="a b",b=T,c=false {T0}'
    assert store.write_points(parse_points(body))
    (result,) = store.query(Query("k"))
    back = dict(zip(result.columns[1:], result.values[0][1:], strict=True))
    assert typed([back[k] for k in ("u", "v", "i", "f", "s", "b", "c")]) == [
        ("uint", UInt(UINT64_MAX)),
        ("uint", UInt(2)),
        ("int", INT64_MIN),
        ("float", 2.0),
        ("string", "a b"),
        ("bool", True),
        ("bool", False),
    ]


def test_a_failed_write_points_stores_nothing_and_forgets_its_ids(store: SqliteStorage) -> None:
    store.write_points(parse_points(f"m,a=0 v=0 {T0}"))
    bad = parse_points(f"m,a=0 w=1 {T0 + S}\nm,a=1 v=1 {T0}\nn v=2")  # n: no timestamp
    with pytest.raises(ValueError, match="no timestamp"):
        store.write_points(bad, BatchId("gw", "e", 1))
    assert store.row_count() == 1
    assert [dict(info.tags) for info in store.series()] == [{"a": "0"}]
    # The rolled-back series m,a=1 and field w must not stay cached.
    assert store.write_points(parse_points(f"m,a=1 w=3 {T0}"), BatchId("gw", "e", 1))
    assert rows(store.query(Query("m", tags={"a": "1"}))) == [[T0, 3.0]]
    assert store.series(tags={"a": "1"})[0].fields == ("w",)


def test_series_cache_bound(store: SqliteStorage, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sqlite_write, "MAX_SERIES_KEYS", 3)
    for round_ in range(2):
        body = "\n".join(f"m,d={i},e={i} v={round_} {T0 + round_}" for i in range(10))
        assert store.write_points(parse_points(body))
        assert store.write(
            [Metric("m", {"e": str(i), "d": str(i)}, {"w": 1}, T0) for i in range(10)]
        )
    assert len(store.series()) == 10
    assert store.counts_by_measurement() == {"m": 20}
